import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe("admin.webhooks", () => {
  it("shows the secret once, in the Standard Webhooks format, and stores it encrypted", async () => {
    const created = await h.alpha.admin.webhooks.create.mutate({ url: "https://hooks.example.com/a" });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), "base64")).toHaveLength(32);
    expect(created).toMatchObject({
      url: "https://hooks.example.com/a",
      status: "enabled",
      importEvents: "summary",
      events: [
        "contact.created",
        "contact.updated",
        "contact.merged",
        "contact.deleted",
        "contacts.imported",
      ],
    });
    const listed = await h.alpha.admin.webhooks.list.query();
    expect(listed.map((e) => e.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.secret.slice(6));
    const [stored] = await h
      .em()
      .getConnection()
      .execute<{ secret_ciphertext: string }[]>(
        "select secret_ciphertext from webhook_endpoints where tenant_id = 'alpha' and id = ?",
        [created.id],
      );
    expect(stored?.secret_ciphertext).toMatch(/^w1\./);
    expect(stored?.secret_ciphertext).not.toContain(created.secret.slice(6, 20));
    expect(h.logs.join("")).not.toContain(created.secret.slice(6));
  });

  it("updates, disables, enables and deletes an endpoint", async () => {
    const { id } = await h.alpha.admin.webhooks.create.mutate({
      url: "https://hooks.example.com/b",
      events: ["contact.created"],
    });
    const changed = await h.alpha.admin.webhooks.update.mutate({
      id,
      url: "https://hooks.example.com/b2",
      events: ["contact.deleted", "contacts.imported"],
      importEvents: "records",
    });
    expect(changed).toMatchObject({
      url: "https://hooks.example.com/b2",
      events: ["contact.deleted", "contacts.imported"],
      importEvents: "records",
    });
    const off = await h.alpha.admin.webhooks.update.mutate({ id, enabled: false });
    expect(off).toMatchObject({ status: "disabled", disabledReason: "disabled by an administrator" });
    expect((await rejection(h.alpha.admin.webhooks.test.mutate({ id }))).status).toBe(409);
    const on = await h.alpha.admin.webhooks.update.mutate({ id, enabled: true });
    expect(on).toMatchObject({
      status: "enabled",
      disabledReason: null,
      disabledAt: null,
      failingSince: null,
    });
    await h.alpha.admin.webhooks.delete.mutate({ id });
    expect((await h.alpha.admin.webhooks.list.query()).map((e) => e.id)).not.toContain(id);
    expect((await rejection(h.alpha.admin.webhooks.delete.mutate({ id }))).status).toBe(404);
  });

  it("logs a test message as a pending delivery, pages the log and replays with the same message id", async () => {
    const { id } = await h.alpha.admin.webhooks.create.mutate({ url: "https://hooks.example.com/c" });
    const first = await h.alpha.admin.webhooks.test.mutate({ id });
    const second = await h.alpha.admin.webhooks.test.mutate({ id });
    expect(first).toMatchObject({ eventType: "webhook.test", status: "pending", attempts: 0 });
    expect(first.messageId).toMatch(/^msg_[0-9a-f]{32}$/);
    const page = await h.alpha.admin.webhooks.deliveries.query({ endpointId: id, limit: 1 });
    expect(page.items.map((d) => d.id)).toEqual([second.id]);
    const rest = await h.alpha.admin.webhooks.deliveries.query({
      endpointId: id,
      limit: 1,
      cursor: page.nextCursor ?? "",
    });
    expect(rest).toEqual({ items: [expect.objectContaining({ id: first.id })], nextCursor: null });
    const [replayed] = await h.alpha.admin.webhooks.replay.mutate({ endpointId: id, deliveryId: first.id });
    expect(replayed).toMatchObject({ messageId: first.messageId, replayOf: first.id, status: "pending" });
    expect(await h.alpha.admin.webhooks.replay.mutate({ endpointId: id })).toEqual([]);
  });

  it("rejects bad endpoints with the field and reason", async () => {
    for (const [input, field] of [
      [{ url: "ftp://hooks.example.com/" }, "url"],
      [{ url: "not a url" }, "url"],
      [{ url: "https://user:pw@hooks.example.com/" }, "url"],
      [{ url: "https://hooks.example.com/", events: [] }, "events"],
      [{ url: "https://hooks.example.com/", events: ["contact.exploded"] }, "events.0"],
      [{ url: "https://hooks.example.com/", importEvents: "storm" }, "importEvents"],
    ] as const) {
      const error = await rejection(h.alpha.admin.webhooks.create.mutate(input as never));
      expect(error.status).toBe(400);
      expect(error.errors.map((e) => e.field)).toContain(field);
    }
  });

  it("keeps private targets off until the tenant allows them", async () => {
    expect((await h.alpha.admin.tenants.get.query()).settings.webhooks).toBeUndefined();
    const on = await h.alpha.admin.tenants.update.mutate({
      settings: { webhooks: { allowPrivateTargets: true } },
    });
    expect(on.settings.webhooks).toEqual({ allowPrivateTargets: true });
    const kept = await h.alpha.admin.tenants.update.mutate({ settings: { taxIdAlwaysUnmasked: false } });
    expect(kept.settings.webhooks).toEqual({ allowPrivateTargets: true });
    await h.alpha.admin.tenants.update.mutate({ settings: { webhooks: { allowPrivateTargets: false } } });
  });
});
