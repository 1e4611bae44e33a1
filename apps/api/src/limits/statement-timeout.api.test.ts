import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

const TIMEOUT_MS = 500;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ statementTimeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await h.close();
});

describe("a request whose query runs or waits past the statement timeout", () => {
  it("is 503 timeout, not a 500 nor a request that hangs, and the pool serves again after", async () => {
    const created = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Ada", lastName: "Lovelace" },
    });
    // The owner holds a lock every read of contacts waits for (as a stuck migration would).
    const owner = h.em();
    await owner.begin();
    try {
      await owner.execute("lock table contacts in access exclusive mode");
      const started = Date.now();
      const search = await rejection(h.alpha.contacts.search.query({ limit: 10 }));
      expect([search.status, search.errors]).toEqual([503, [{ reason: "timeout", field: null }]]);
      const get = await rejection(h.alpha.contacts.get.query({ id: created.id }));
      expect([get.status, get.errors]).toEqual([503, [{ reason: "timeout", field: null }]]);
      // Cancelled at the timeout, well before anything else would have given up.
      expect(Date.now() - started).toBeLessThan(10 * TIMEOUT_MS);
    } finally {
      await owner.rollback();
    }
    const page = await h.alpha.contacts.search.query({ limit: 10 });
    expect(page.items.map((item) => item.id)).toEqual([created.id]);
    expect(h.logs.join("")).not.toContain("Lovelace");
  });
});
