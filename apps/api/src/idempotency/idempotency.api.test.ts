import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { ContactsClient } from "@contacts/client/client";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

/** A company with a name no other test uses, so its rows can be counted. */
function company(): { contact: { subtype: "company"; companyName: string } } {
  return { contact: { subtype: "company", companyName: `Idem ${randomUUID()}` } };
}

function countNamed(tenantId: string, companyName: string): Promise<number> {
  return h.em().count(ContactEntity, { tenantId, companyName });
}

function createWithKey(
  client: ContactsClient,
  input: { contact: ReturnType<typeof company>["contact"] & { roles?: string[] } },
  key: string,
) {
  return client.contacts.create.mutate(input, { context: { idempotencyKey: key } });
}

/** A raw tRPC request, to see the exact bytes and send what the typed client never would. */
function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${h.url}/trpc/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.alphaKey}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("Idempotency-Key", () => {
  it("idempotent replay creating one contact", async () => {
    const input = company();
    const key = randomUUID();
    const first = await createWithKey(h.alpha, input, key);
    const replay = await createWithKey(h.alpha, input, key);
    expect(replay).toStrictEqual(first);
    expect(await countNamed("alpha", input.contact.companyName)).toBe(1);
  });

  it("replays the first answer byte for byte, over plain HTTP", async () => {
    const input = company();
    const headers = { "idempotency-key": randomUUID() };
    const first = await post("contacts.create", input, headers);
    const replay = await post("contacts.create", input, headers);
    expect(first.status).toBe(200);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe(await first.text());
    expect(await countNamed("alpha", input.contact.companyName)).toBe(1);
  });

  it("refuses the same key with another input or procedure (422, naming the header)", async () => {
    const key = randomUUID();
    const input = company();
    await createWithKey(h.alpha, input, key);
    for (const other of [
      createWithKey(h.alpha, company(), key),
      h.alpha.roles.create.mutate({ code: "IDEM" }, { context: { idempotencyKey: key } }),
    ]) {
      expect(await rejection(other)).toMatchObject({
        status: 422,
        code: "UNPROCESSABLE_CONTENT",
        errors: [{ reason: "idempotency_key_reused", field: "Idempotency-Key" }],
      });
    }
    expect(await countNamed("alpha", input.contact.companyName)).toBe(1);
  });

  it("answers a retry while the first call still runs with 409, then replays its result", async () => {
    // Creating a contact with a role reads the role FOR SHARE (so a concurrent roles.delete waits).
    // The owner holds that role locked FOR UPDATE, so the first call claims its key, then waits
    // inside its transaction.
    const input = { contact: { ...company().contact, roles: ["BILLING"] } };
    const key = randomUUID();
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = (): void => undefined;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = h.em().transactional(async (tx) => {
      await tx.execute("select code from roles where tenant_id = 'alpha' and code = 'BILLING' for update");
      locked();
      await released;
    });
    await isLocked;
    const first = createWithKey(h.alpha, input, key);
    try {
      await expect
        .poll(
          async () => (await h.em().execute("select state from idempotency_keys where key = ?", [key]))[0],
        )
        .toEqual({ state: "running" });
      expect(await rejection(createWithKey(h.alpha, input, key))).toMatchObject({
        status: 409,
        errors: [{ reason: "idempotency_in_progress", field: "Idempotency-Key" }],
      });
    } finally {
      release();
      await holder;
    }
    const created = await first;
    expect(await createWithKey(h.alpha, input, key)).toStrictEqual(created);
    expect(await countNamed("alpha", input.contact.companyName)).toBe(1);
  });

  it("keeps keys apart per API key and per tenant", async () => {
    const input = company();
    const key = randomUUID();
    const otherKey = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:write"]));
    const a = await createWithKey(h.alpha, input, key);
    const b = await createWithKey(otherKey, input, key);
    const c = await createWithKey(h.bravo, input, key);
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect(await countNamed("alpha", input.contact.companyName)).toBe(2);
    expect(await countNamed("bravo", input.contact.companyName)).toBe(1);
  });

  it("runs an expired key again", async () => {
    const input = company();
    const key = randomUUID();
    const first = await createWithKey(h.alpha, input, key);
    await h
      .em()
      .execute("update idempotency_keys set expires_at = now() - interval '1 second' where key = ?", [key]);
    const second = await createWithKey(h.alpha, input, key);
    expect(second.id).not.toBe(first.id);
    expect(await countNamed("alpha", input.contact.companyName)).toBe(2);
  });

  it("refuses a malformed key with 400, and ignores the header on queries", async () => {
    for (const key of ["x".repeat(256), "café", ""]) {
      const response = await post("contacts.create", company(), { "idempotency-key": key });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { data: { errors: unknown[] } } };
      expect(body.error.data.errors).toEqual([{ reason: "invalid", field: "Idempotency-Key" }]);
    }
    const querying = h.client(h.alphaKey, { "idempotency-key": "x".repeat(300) });
    await expect(querying.contacts.search.query({})).resolves.toBeDefined();
  });

  it("refuses a key on a batched mutation, and the client sends a keyed mutation alone", async () => {
    const response = await fetch(`${h.url}/trpc/contacts.create,contacts.create?batch=1`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${h.alphaKey}`,
        "content-type": "application/json",
        "idempotency-key": randomUUID(),
      },
      body: JSON.stringify({ 0: company(), 1: company() }),
    });
    const body = (await response.json()) as { error: { data: { errors: unknown[] } } }[];
    expect(body.map((b) => b.error.data.errors)).toEqual([
      [{ reason: "invalid", field: "Idempotency-Key" }],
      [{ reason: "invalid", field: "Idempotency-Key" }],
    ]);
    const keyed = company();
    const unkeyed = company();
    await Promise.all([
      createWithKey(h.alpha, keyed, randomUUID()),
      h.alpha.contacts.create.mutate(unkeyed),
      h.alpha.contacts.create.mutate(company()),
    ]);
    expect(await countNamed("alpha", keyed.contact.companyName)).toBe(1);
    expect(await countNamed("alpha", unkeyed.contact.companyName)).toBe(1);
  });

  it("stores no failed call: a 412 frees the key, and the retry runs once the cause is gone", async () => {
    const created = await h.alpha.contacts.create.mutate(company());
    const key = randomUUID();
    const update = {
      id: created.id,
      expectedVersion: 2,
      contact: { subtype: "company" as const, companyName: `Idem ${randomUUID()}` },
    };
    const call = () => h.alpha.contacts.update.mutate(update, { context: { idempotencyKey: key } });
    expect(await rejection(call())).toMatchObject({ status: 412 });
    expect(await h.em().execute("select 1 from idempotency_keys where key = ?", [key])).toEqual([]);
    await h.alpha.contacts.update.mutate({ ...update, expectedVersion: 1, contact: company().contact });
    const updated = await call();
    expect(updated.version).toBe(3);
    expect(await call()).toStrictEqual(updated);
  });

  it("refuses a key on creating a tenant (its answer holds an API key, never stored)", async () => {
    const platform = await h.platform("alpha");
    expect(
      await rejection(
        platform.admin.tenants.create.mutate(
          { tenant: { id: "idem-tenant", name: "Idem" } },
          { context: { idempotencyKey: randomUUID() } },
        ),
      ),
    ).toMatchObject({ status: 400, errors: [{ reason: "invalid", field: "Idempotency-Key" }] });
  });
});
