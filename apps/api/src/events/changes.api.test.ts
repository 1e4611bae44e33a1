import { setTimeout as sleep } from "node:timers/promises";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { pruneContactEvents } from "@contacts/db/event-retention";
import { withoutComputedFields } from "@contacts/domain/contact";
import type { ContactInput } from "@contacts/domain/contact";
import type { ContactEvent } from "@contacts/domain/events";
import { applyJsonPatch } from "@contacts/domain/patch";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const TAX_ID = "123-45-6789";
const MASKED = "***-**-6789";

function person(firstName: string, extra: Partial<ContactInput> = {}): ContactInput {
  return { subtype: "person", firstName, lastName: "Feed", ...extra };
}

/** Every history page of a contact, following nextCursor. */
async function fullHistory(client: ContactsClient, id: string, limit: number): Promise<ContactEvent[][]> {
  const pages: ContactEvent[][] = [];
  let cursor: string | null = null;
  do {
    const page: { items: ContactEvent[]; nextCursor: string | null } = await client.contacts.history.query({
      id,
      limit,
      cursor,
    });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

describe("contacts.history", () => {
  it("records created, updated (with the JSON Patch diff) and deleted, paged, readable after the delete", async () => {
    const created = await h.alpha.contacts.create.mutate({ contact: person("Ada", { taxId: TAX_ID }) });
    const updated = await h.alpha.contacts.update.mutate({
      id: created.id,
      contact: person("Augusta", { taxId: MASKED, nickname: "Ada" }),
    });
    await h.alpha.contacts.delete.mutate({ id: created.id });

    const pages = await fullHistory(h.alpha, created.id, 1);
    expect(pages.map((p) => p.length)).toEqual([1, 1, 1]);
    const [c, u, d] = pages.flat();
    expect([c?.type, u?.type, d?.type]).toEqual(["created", "updated", "deleted"]);
    expect([c?.version, u?.version, d?.version]).toEqual([1, 2, 2]);
    expect(c?.actor).toBe(created.createdBy);
    expect(new Set(pages.flat().map((e) => e.contactId))).toEqual(new Set([created.id]));
    const seqs = pages.flat().map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // Replaying the patches gives the documents the API returned (tax ID masked), but for the
    // computed read-only fields, which events do not carry.
    const first = applyJsonPatch({}, c?.patch);
    expect(first).toEqual({ ok: true, document: withoutComputedFields(created) });
    const second = applyJsonPatch(first.ok ? first.document : null, u?.patch);
    expect(second).toEqual({ ok: true, document: withoutComputedFields(updated) });
    expect(u?.patch).toEqual(
      expect.arrayContaining([
        { op: "replace", path: "/firstName", value: "Augusta" },
        { op: "replace", path: "/nickname", value: "Ada" },
        { op: "replace", path: "/version", value: 2 },
      ]),
    );
    expect(u?.patch?.some((op) => op.path === "/taxId")).toBe(false);
    expect(d?.patch).toBeNull();
  });

  it("is a 404 for an id with neither events nor a contact, and a 400 on a bad cursor", async () => {
    const unknown = await rejection(h.alpha.contacts.history.query({ id: crypto.randomUUID() }));
    expect(unknown.status).toBe(404);
    expect(unknown.errors).toEqual([{ reason: "not_found", field: "id" }]);
    const c = await h.alpha.contacts.create.mutate({ contact: person("Cursor") });
    const bad = await rejection(h.alpha.contacts.history.query({ id: c.id, cursor: "bm9wZQ" }));
    expect(bad.status).toBe(400);
    expect(bad.errors).toEqual([{ reason: "invalid", field: "cursor" }]);
  });

  it("masks the tax ID in events even for a caller who may unmask it, and stores no plaintext", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person("Masked", { taxId: TAX_ID }) });
    await h.alpha.contacts.update.mutate({ id: c.id, contact: person("Masked", { taxId: "987-65-4329" }) });
    const unmasker = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    expect((await unmasker.contacts.get.query({ id: c.id })).taxId).toBe("987-65-4329");
    const events = (await unmasker.contacts.history.query({ id: c.id })).items;
    const [created, updated] = events.map((e) => e.patch);
    expect(created?.map((op) => [op.op, op.path])).toEqual([["add", ""]]);
    expect(created?.[0] && "value" in created[0] ? created[0].value : null).toMatchObject({ taxId: MASKED });
    expect(updated?.find((op) => op.path === "/taxId")).toEqual({
      op: "replace",
      path: "/taxId",
      value: "***-**-4329",
    });
    const stored = await h
      .em()
      .getConnection()
      .execute<{ doc: string }[]>(
        "select coalesce(patch::text, '') || coalesce(data::text, '') as doc from contact_events",
      );
    expect(stored.length).toBeGreaterThan(0);
    for (const row of stored) expect(row.doc).not.toMatch(/123-?45-?6789|987-?65-?4329/);
  });
});

describe("contacts.changes", () => {
  it("answers 400 naming `since` for a cursor that is not the feed's", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person("History") });
    const history = await h.alpha.contacts.history.query({ id: c.id });
    expect(history.items).toHaveLength(1);
    for (const since of ["bm9wZQ", Buffer.from(JSON.stringify({ seq: 1 })).toString("base64url")]) {
      const bad = await rejection(h.alpha.contacts.changes.query({ since }));
      expect(bad.status).toBe(400);
      expect(bad.errors).toEqual([{ reason: "invalid", field: "since" }]);
    }
  });

  it("delivers every event exactly once, in commit order, to a consumer reading while 4 writers commit", async () => {
    const client = await h.tenantClient("feed");
    const other = await h.tenantClient("feed-other");
    const WRITERS = 4;
    const OPS = 20;
    const seen = new Map<number, ContactEvent>();
    let duplicates = 0;
    let polls = 0;

    // Four API writers: each creates a contact then updates it, one request (one transaction) each.
    const apiWriter = async (w: number) => {
      let id = "";
      for (let i = 0; i < OPS; i++) {
        if (i % 5 === 0) id = (await client.contacts.create.mutate({ contact: person(`W${w}-${i}`) })).id;
        else await client.contacts.update.mutate({ id, contact: person(`W${w}-${i}`) });
        if (w === 0 && i % 4 === 0) await other.contacts.create.mutate({ contact: person(`Other${i}`) });
      }
    };
    // Slow transactions, as the application role: each takes its event's seq early, then stays open
    // while the API writers commit later seqs, then commits (or rolls back: its event must never show).
    const anchor = (await client.contacts.create.mutate({ contact: person("Anchor") })).id;
    let slowCommitted = 0;
    const slowWriter = async () => {
      const conn = new pg.Client({ connectionString: h.db.appUrl });
      await conn.connect();
      try {
        for (let i = 0; i < 8; i++) {
          await conn.query("begin");
          await conn.query("select set_config('app.tenant_id', 'feed', true)");
          await conn.query(
            `insert into contact_events (tenant_id, contact_id, type, version, actor)
             values ('feed', $1, 'updated', 1, 'test:slow')`,
            [anchor],
          );
          await sleep(60 + 20 * (i % 3));
          if (i % 4 === 3) await conn.query("rollback");
          else {
            await conn.query("commit");
            slowCommitted++;
          }
        }
      } finally {
        await conn.end();
      }
    };

    const state = { done: false };
    const writers = Promise.all([
      ...Array.from({ length: WRITERS }, (_, w) => apiWriter(w)),
      slowWriter(),
    ]).finally(() => {
      state.done = true;
    });

    const expected = async () =>
      Number(
        (
          await h
            .em()
            .getConnection()
            .execute<{ n: string }[]>("select count(*) as n from contact_events where tenant_id = 'feed'")
        )[0]?.n,
      );
    let since: string | null = null;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const page: { items: ContactEvent[]; nextCursor: string } = await client.contacts.changes.query({
        since,
        limit: 7,
      });
      polls++;
      for (const event of page.items) {
        if (seen.has(event.seq)) duplicates++;
        seen.set(event.seq, event);
      }
      since = page.nextCursor;
      if (state.done && page.items.length < 7 && seen.size >= (await expected())) break;
      if (Date.now() > deadline) throw new Error(`feed not drained: ${seen.size} of ${await expected()}`);
      if (page.items.length < 7) await sleep(10);
    }
    await writers;

    const writes = WRITERS * OPS + 1 + slowCommitted;
    expect(duplicates).toBe(0);
    // In commit order: (txid, seq), as SQL sorts the column.
    const inOrder = await h
      .em()
      .getConnection()
      .execute<{ seq: string }[]>(
        "select seq from contact_events where tenant_id = 'feed' order by contact_events.txid, seq",
      );
    expect([...seen.keys()]).toEqual(inOrder.map((r) => Number(r.seq)));
    expect(seen.size).toBe(writes);
    expect(await expected()).toBe(writes);
    expect(polls).toBeGreaterThan(writes / 7);
    // Commits did come out of seq order (a slow transaction's seq delivered after higher ones): a
    // cursor on seq alone would have skipped those events.
    const delivered = [...seen.keys()];
    const overtaken = delivered.filter((seq, i) => delivered.slice(0, i).some((earlier) => earlier > seq));
    expect(overtaken.length).toBeGreaterThan(0);
    const types = [...seen.values()].map((e) => e.type);
    expect(types.filter((t) => t === "created")).toHaveLength(1 + WRITERS * (OPS / 5));
    // The other tenant's events never appear, and its own feed has only its own.
    const otherIds = new Set((await other.contacts.search.query({ limit: 1000 })).items.map((c) => c.id));
    expect([...seen.values()].filter((e) => otherIds.has(e.contactId))).toEqual([]);
    const otherFeed = await other.contacts.changes.query({ limit: 1000 });
    expect(otherFeed.items.every((e) => otherIds.has(e.contactId))).toBe(true);
    expect(otherFeed.items).toHaveLength(otherIds.size);
    // Caught up: polling again returns nothing new, with a cursor to poll with.
    const after = await client.contacts.changes.query({ since });
    expect(after).toEqual({ items: [], nextCursor: since });
  }, 120_000);

  it("delivers every event once, in (txid, seq) order, when transaction ids cross a power of ten", async () => {
    const client = await h.tenantClient("feed-xid");
    const admin = new pg.Client({ connectionString: h.db.url });
    await admin.connect();
    const txid = async () =>
      BigInt((await admin.query<{ t: string }>("select pg_current_xact_id()::text as t")).rows[0]?.t ?? "");
    // Each burned id is its own committed transaction.
    const burn = (n: number) =>
      admin.query(`do $$ begin for i in 1..${n} loop perform pg_current_xact_id(); commit; end loop; end $$`);
    try {
      const now = await txid();
      const power = 10n ** BigInt(now.toString().length);
      // Stop short of the power of ten, so the writes below straddle it.
      if (power - now > 150n) await burn(Number(power - now - 150n));
      const writer = async (w: number) => {
        for (let i = 0; i < 40; i++) {
          await client.contacts.create.mutate({ contact: person(`X${w}-${i}`) });
          if (i % 10 === 9) await burn(3);
        }
      };
      await Promise.all([0, 1, 2, 3].map(writer));
      expect(await txid()).toBeGreaterThan(power);

      const inSql = (
        await admin.query<{ seq: string; txid: string }>(
          "select seq, txid::text as txid from contact_events where tenant_id = 'feed-xid' order by contact_events.txid, seq",
        )
      ).rows;
      expect(inSql).toHaveLength(160);
      // The events do sit on both sides of the power of ten.
      expect(inSql.some((r) => BigInt(r.txid) < power)).toBe(true);
      expect(inSql.some((r) => BigInt(r.txid) > power)).toBe(true);
      const expectedSeqs = inSql.map((r) => Number(r.seq));

      for (const limit of [1, 7, 1000]) {
        const delivered: number[] = [];
        let since: string | null = null;
        for (;;) {
          const page: { items: ContactEvent[]; nextCursor: string } = await client.contacts.changes.query({
            since,
            limit,
          });
          delivered.push(...page.items.map((e) => e.seq));
          since = page.nextCursor;
          if (page.items.length < limit) break;
        }
        expect({ limit, delivered }).toEqual({ limit, delivered: expectedSeqs });
      }
    } finally {
      await admin.end();
    }
  }, 120_000);

  it("tells a consumer whose cursor is older than the retained events to resync", async () => {
    const client = await h.tenantClient("retention");
    await client.contacts.create.mutate({ contact: person("Old") });
    await client.contacts.create.mutate({ contact: person("Older") });
    const first = await client.contacts.changes.query({ limit: 1 });
    expect(first.items).toHaveLength(1);

    const { deleted } = await pruneContactEvents(h.db.url, new Date(Date.now() + 1000));
    expect(deleted).toBeGreaterThanOrEqual(2);

    const gone = await rejection(client.contacts.changes.query({ since: first.nextCursor }));
    expect(gone.status).toBe(409);
    expect(gone.errors).toEqual([{ reason: "resync_required", field: "since" }]);
    expect(String(gone.details?.hint)).toMatch(/resync/);

    // Starting over: from the retention horizon, new events follow.
    const restart = await client.contacts.changes.query({});
    expect(restart.items).toEqual([]);
    const c = await client.contacts.create.mutate({ contact: person("New") });
    const next = await client.contacts.changes.query({ since: restart.nextCursor });
    expect(next.items.map((e) => [e.type, e.contactId])).toEqual([["created", c.id]]);
    const still = await client.contacts.changes.query({ since: next.nextCursor });
    expect(still.items).toEqual([]);
  });
});
