import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { Contact } from "@contacts/domain/contact";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

const CONTACTS_PER_TENANT = 20;
const REQUESTS_PER_TENANT = 1000;
/** Calls in flight: WORKERS workers, each sending CALLS_PER_TURN calls at once (the client batches them). */
const WORKERS = 4;
const CALLS_PER_TURN = 5;
const NOT_FOUND = JSON.stringify([{ reason: "not_found", field: "id" }]);

let h: Harness;

/** One tenant's side of the run: its client, the last-name prefix and the ids of its contacts. */
interface Side {
  tenant: string;
  client: ContactsClient;
  lastNamePrefix: string;
  ids: Set<string>;
}

let alpha: Side;
let bravo: Side;

/** CONTACTS_PER_TENANT contacts named `<prefix><n>` in the client's tenant. */
async function seed(tenant: string, client: ContactsClient, lastNamePrefix: string): Promise<Side> {
  const created = await Promise.all(
    Array.from({ length: CONTACTS_PER_TENANT }, (_, i) =>
      client.contacts.create.mutate({
        contact: { subtype: "person", firstName: "Iso", lastName: `${lastNamePrefix}${i}` },
      }),
    ),
  );
  return { tenant, client, lastNamePrefix, ids: new Set(created.map((c) => c.id)) };
}

beforeAll(async () => {
  // Two connections for all the traffic: transactions of both tenants take turns on the same ones.
  h = await startHarness({ poolMax: 2 });
  alpha = await seed("alpha", h.alpha, "AlphaPerson-");
  bravo = await seed("bravo", h.bravo, "BravoPerson-");
});

afterAll(async () => {
  await h.close();
});

/**
 * Runs thunks in order with `workers` workers; each takes the next `perTurn` thunks and starts them
 * together (in one tick, so the typed client sends them as one batch per tenant), then waits for
 * them. At most `workers * perTurn` calls are in flight; no call starts before a worker takes it.
 */
async function runPool(tasks: (() => Promise<void>)[], workers: number, perTurn: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const turn = tasks.slice(next, next + perTurn);
      next += perTurn;
      await Promise.all(turn.map((task) => task()));
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

describe("tenant isolation under concurrent load on a small pool", () => {
  it("answers each tenant only with its own rows; other tenants' ids are 404; nothing else fails", async () => {
    const problems: string[] = [];
    const counts = { ownGets: 0, searches: 0, crossGets: 0 };
    const expected = { ownGets: 0, searches: 0, crossGets: 0 };

    /** A row is the caller's: one of its ids, with its tenant's last name. */
    const checkRow = (side: Side, row: Partial<Contact>, what: string) => {
      if (!row.id || !side.ids.has(row.id) || !row.lastName?.startsWith(side.lastNamePrefix)) {
        problems.push(`${side.tenant} ${what}: foreign row ${JSON.stringify(row)}`);
      }
    };

    const tasks: (() => Promise<void>)[] = [];
    for (let n = 0; n < REQUESTS_PER_TENANT; n++) {
      for (const [own, other] of [
        [alpha, bravo],
        [bravo, alpha],
      ] as const) {
        const ownIds = [...own.ids];
        const otherIds = [...other.ids];
        const ownId = ownIds[n % ownIds.length] ?? "";
        const otherId = otherIds[n % otherIds.length] ?? "";
        const kind = n % 3;
        if (kind === 0) {
          expected.ownGets++;
          tasks.push(async () => {
            try {
              const row = await own.client.contacts.get.query({ id: ownId });
              if (row.id !== ownId) problems.push(`${own.tenant} get ${ownId}: got ${row.id}`);
              checkRow(own, row, "get");
              counts.ownGets++;
            } catch (error) {
              problems.push(`${own.tenant} get own ${ownId}: ${String(error)}`);
            }
          });
        } else if (kind === 1) {
          expected.searches++;
          tasks.push(async () => {
            try {
              const page = await own.client.contacts.search.query({ limit: 50 });
              const ids = page.items.map((row) => row.id).sort();
              if (JSON.stringify(ids) !== JSON.stringify([...own.ids].sort())) {
                problems.push(`${own.tenant} search: ids ${JSON.stringify(ids)}`);
              }
              for (const row of page.items) checkRow(own, row, "search");
              counts.searches++;
            } catch (error) {
              problems.push(`${own.tenant} search: ${String(error)}`);
            }
          });
        } else {
          expected.crossGets++;
          tasks.push(async () => {
            const error = await rejection(own.client.contacts.get.query({ id: otherId })).catch(
              (unexpected: unknown) => ({ status: -1, code: String(unexpected), errors: [] }),
            );
            if (error.status !== 404 || JSON.stringify(error.errors) !== NOT_FOUND) {
              problems.push(
                `${own.tenant} get ${other.tenant}'s ${otherId}: ${String(error.status)} ${error.code}`,
              );
            } else {
              counts.crossGets++;
            }
          });
        }
      }
    }
    expect(tasks).toHaveLength(2 * REQUESTS_PER_TENANT);

    await runPool(tasks, WORKERS, CALLS_PER_TURN);

    expect(problems).toEqual([]);
    expect(counts).toEqual(expected);
  });

  it("connects the server as the application role, which sees no rows outside a tenant transaction", async () => {
    const [who] = await h.server.orm.em
      .getConnection()
      .execute<{ current_user: string }[]>("select current_user");
    expect(who?.current_user).toBe("contacts_app");

    expect(await h.em().count(ContactEntity, {})).toBe(2 * CONTACTS_PER_TENANT);
    expect(await h.server.orm.em.fork().count(ContactEntity, {})).toBe(0);
  });
});
