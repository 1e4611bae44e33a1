import { randomUUID } from "node:crypto";

import { pgRunner } from "@contacts/contacts/numbers";
import { applyContactChanges } from "@contacts/contacts/writer";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { ContactInput as ContactInputSchema } from "@contacts/domain/contact";
import type { ContactInput } from "@contacts/domain/contact";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  // More connections than concurrent callers: a create never waits for a pooled connection.
  h = await startHarness({ poolMax: 60, statementTimeoutMs: 20_000 });
});

afterAll(async () => {
  await h.close();
});

const person = (i: number): ContactInput => ({ subtype: "person", firstName: `N${i}`, lastName: "Numbered" });

const ascending = (list: number[]) => [...list].sort((a, b) => a - b);

/**
 * A transaction on the application role bound to `tenantId` in which the contacts writer stores
 * `records` new contacts as an import chunk does (`applyContactChanges` with a bulk source), left
 * open until `end` is called.
 */
async function openChunk(tenantId: string, records: number) {
  const client = new pg.Client({ connectionString: h.db.appUrl });
  await client.connect();
  await client.query("begin");
  await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
  const importId = randomUUID();
  const results = await applyContactChanges(
    pgRunner(client),
    { tenantId, subject: "import", mayUnlock: false, requirePrimaryAddress: false },
    Array.from({ length: records }, (_, i) => ({
      op: "create" as const,
      data: ContactInputSchema.parse({ subtype: "person", firstName: "In", lastName: "Chunk" }),
      bulk: { importId, recordNumber: i + 1, sourceFile: "chunk.csv", sourceHash: null },
    })),
    { vault: h.vault },
  );
  // The numbers of the contacts it stored (those past the tenant's contact limit are refused).
  const admission = { numbers: results.flatMap((r) => (r.ok && r.row ? [r.row.number] : [])) };
  return {
    numbers: admission.numbers,
    /** Whether the transaction is still open (its backend is idle in it). */
    open: async () =>
      (await client.query<{ open: boolean }>("select pg_current_xact_id_if_assigned() is not null as open"))
        .rows[0]?.open === true,
    end: async (how: "commit" | "rollback") => {
      await client.query(how);
      await client.end();
    },
  };
}

async function storedCount(tenantId: string): Promise<number> {
  return h.em().count(ContactEntity, { tenantId });
}

describe("contact numbers", () => {
  it("gives 50 concurrent creates in one tenant unique numbers, each wave after the one before it", async () => {
    const tenant = await h.tenantClient("numbers-waves");
    const first = await Promise.all(
      Array.from({ length: 50 }, (_, i) => tenant.contacts.create.mutate({ contact: person(i) })),
    );
    const firstNumbers = first.map((c) => c.number);
    // Unique, and without gaps when nothing rolled back.
    expect(ascending(firstNumbers)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const second = await Promise.all(
      Array.from({ length: 50 }, (_, i) => tenant.contacts.create.mutate({ contact: person(50 + i) })),
    );
    const secondNumbers = second.map((c) => c.number);
    expect(new Set(secondNumbers).size).toBe(50);
    // A create that starts after another one ended gets a higher number.
    expect(Math.min(...secondNumbers)).toBeGreaterThan(Math.max(...firstNumbers));
    const one = await tenant.contacts.create.mutate({ contact: person(100) });
    const two = await tenant.contacts.create.mutate({ contact: person(101) });
    expect([one.number, two.number]).toEqual([101, 102]);
  });

  it("does not make a create wait for another writer's open transaction, whose rollback leaves a gap", async () => {
    const tenant = await h.tenantClient("numbers-open");
    const before = await tenant.contacts.create.mutate({ contact: person(0) });
    const held = await openChunk("numbers-open", 1);
    expect(held.numbers).toEqual([before.number + 1]);
    const during = await tenant.contacts.create.mutate({ contact: person(1) });
    expect(await held.open()).toBe(true);
    expect(during.number).toBe(before.number + 2);
    await held.end("rollback");
    const after = await tenant.contacts.create.mutate({ contact: person(2) });
    expect(after.number).toBe(before.number + 3);
    expect(await storedCount("numbers-open")).toBe(3);
  });

  it("follows the order numbers are taken in across connections (several API and worker processes)", async () => {
    const tenant = await h.tenantClient("numbers-order");
    const taken: number[] = [];
    for (let i = 0; i < 4; i++) {
      taken.push((await tenant.contacts.create.mutate({ contact: person(i) })).number);
      const chunk = await openChunk("numbers-order", 2);
      taken.push(...chunk.numbers);
      await chunk.end("commit");
    }
    expect(taken).toEqual(ascending(taken));
    expect(new Set(taken).size).toBe(taken.length);
    expect(await storedCount("numbers-order")).toBe(12);
  });
});

describe("the contact limit under concurrency", () => {
  it("lets exactly the creates up to the limit through of 50 at once, the rest 429 tenant_limit", async () => {
    const tenant = await h.tenantClient("limit-boundary");
    for (let i = 0; i < 5; i++) await tenant.contacts.create.mutate({ contact: person(i) });
    await (
      await h.platform("limit-boundary")
    ).admin.tenants.update.mutate({ settings: { limits: { contacts: 15 } } });

    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => tenant.contacts.create.mutate({ contact: person(10 + i) })),
    );
    const created = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const refused = await Promise.all(
      results.flatMap((r) => (r.status === "rejected" ? [rejection(Promise.reject(r.reason as Error))] : [])),
    );
    expect(created).toHaveLength(10);
    expect(refused.map((e) => [e.status, e.errors])).toEqual(
      Array(40).fill([429, [{ reason: "tenant_limit", field: null }]]),
    );
    expect(await storedCount("limit-boundary")).toBe(15);
    const view = await (await h.platform("limit-boundary")).admin.tenants.get.query();
    expect(view.contactCount).toBe(15);
  });

  it("counts a concurrent writer's contacts once it commits, and a rolled-back one's not at all", async () => {
    const tenant = await h.tenantClient("limit-writers");
    await (
      await h.platform("limit-writers")
    ).admin.tenants.update.mutate({ settings: { limits: { contacts: 4 } } });
    // The create counts after the other writer ends (the tenant has a limit): it waits for the
    // rollback, then finds the places free; the rolled-back numbers stay unused.
    const rolledBack = await openChunk("limit-writers", 3);
    expect(rolledBack.numbers).toEqual([1, 2, 3]);
    const waiting = tenant.contacts.create.mutate({ contact: person(1) });
    await rolledBack.end("rollback");
    expect((await waiting).number).toBe(4);

    const chunk = await openChunk("limit-writers", 5);
    expect(chunk.numbers).toEqual([5, 6, 7]);
    await chunk.end("commit");
    expect((await rejection(tenant.contacts.create.mutate({ contact: person(2) }))).errors).toEqual([
      { reason: "tenant_limit", field: null },
    ]);
    await h.alpha.contacts.create.mutate({ contact: person(3) }); // another tenant: no limit, no wait
    expect(await storedCount("limit-writers")).toBe(4);
  });
});

describe("an API create during an import chunk", () => {
  it("completes while the chunk's transaction is still open, and both are counted", async () => {
    const tenant = await h.tenantClient("during-import");
    await tenant.contacts.create.mutate({ contact: person(0) });
    const chunk = await openChunk("during-import", 100);
    const created = await Promise.all(
      Array.from({ length: 5 }, (_, i) => tenant.contacts.create.mutate({ contact: person(i + 1) })),
    );
    expect(await chunk.open()).toBe(true);
    const chunkMax = Math.max(...chunk.numbers);
    for (const c of created) expect(c.number).toBeGreaterThan(chunkMax);
    await chunk.end("commit");
    expect(await storedCount("during-import")).toBe(106);
    const view = await (await h.platform("during-import")).admin.tenants.get.query();
    expect(view.contactCount).toBe(106);
  });
});
