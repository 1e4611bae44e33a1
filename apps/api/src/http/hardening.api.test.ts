import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

/** Findings of reading the API as an attacker would (issue 17), each fixed and held here. */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const person = { subtype: "person" as const, firstName: "Grace", lastName: "Hopper" };

describe("a token whose subject PostgreSQL cannot store", () => {
  it("is 401 unauthenticated, for service and user tokens, and writes nothing", async () => {
    for (const sub of ["svc\u0000", "svc\uD800"]) {
      const service = h.client(
        await h.token({ kind: "service", sub, tenants: ["alpha"], permissions: ["contacts:write"] }),
      );
      const error = await rejection(service.contacts.create.mutate({ contact: person }));
      expect([error.status, error.errors]).toEqual([401, [{ reason: "unauthenticated", field: null }]]);

      const user = h.client(await h.token({ kind: "user", sub, tenant: "alpha" }));
      const mine = await rejection(user.me.create.mutate({ contact: person }));
      expect([mine.status, mine.errors]).toEqual([401, [{ reason: "unauthenticated", field: null }]]);
    }
    const rows = await h
      .em()
      .getConnection()
      .execute<{ n: string }[]>("select count(*)::text as n from contacts where tenant_id = 'alpha'");
    expect(rows[0]?.n).toBe("0");
  });
});

describe("input nested deeper than any call takes", () => {
  it("is 400 invalid at the depth it passes the limit, not a 500 from a stack overflow", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person });
    const depth = 100_000;
    const value = `${"[".repeat(depth)}1${"]".repeat(depth)}`;
    const body = `{"id":"${c.id}","expectedVersion":1,"patch":[{"op":"add","path":"/customFields/x","value":${value}}]}`;
    const response = await fetch(`${h.url}/trpc/contacts.patch`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.alphaKey}`, "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(400);
    const answer = (await response.json()) as {
      error: { data: { errors: { reason: string; field: string }[] } };
    };
    expect(answer.error.data.errors).toHaveLength(1);
    expect(answer.error.data.errors[0]?.reason).toBe("invalid");
    expect(answer.error.data.errors[0]?.field).toMatch(/^patch\.0\.value(\.0)+$/);
    expect((await h.alpha.contacts.get.query({ id: c.id })).version).toBe(1);
  });
});
