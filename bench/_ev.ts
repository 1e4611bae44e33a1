// @ts-nocheck
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { copyLine } from "../apps/worker/src/imports/copy-text.ts";
import { randomUUID } from "node:crypto";
const c = new pg.Client("postgres://postgres@127.0.0.1:55432/x");
await c.connect();
await c.query("insert into tenants (id, name, settings) values ('t','t','{}') on conflict do nothing");
const doc = (i) => ({
  id: randomUUID(),
  number: i,
  externalId: "ext-" + i,
  subtype: "person",
  prefix: null,
  firstName: "John" + i,
  middleName: null,
  lastName: "Smith",
  suffix: null,
  nickname: null,
  maidenName: null,
  companyName: "Acme Inc",
  jobTitle: "Engineer",
  accountId: null,
  roles: ["PRIMARY"],
  status: "active",
  emails: [{ address: `john${i}@example.com`, label: "work", primary: true }],
  phones: [{ number: "+1 212 555 0100", e164: "+12125550100", valid: true, label: "mobile", primary: true }],
  addresses: [
    {
      line1: "1 Main St",
      line2: null,
      city: "Springfield",
      state: "IL",
      postalCode: "62701",
      country: "US",
      label: "home",
      primary: true,
    },
  ],
  taxId: null,
  dateOfBirth: "1980-01-01",
  notes: null,
  social: {},
  notificationPreferences: {},
  customFields: {},
  locked: false,
  userIds: [],
  delegates: [],
  spouseId: null,
  provenance: { importId: randomUUID(), recordNumber: i, sourceFile: "contacts.csv" },
});
const ev = (i) => ({
  contact_id: randomUUID(),
  type: "created",
  version: 1,
  patch: Object.entries(doc(i)).map(([k, value]) => ({ op: "add", path: `/${k}`, value })),
});
async function run(label, n = 20, sql = null) {
  let ms = 0;
  for (let r = 0; r < n; r++) {
    const events = Array.from({ length: 1000 }, (_, i) => ev(r * 1000 + i));
    const json = JSON.stringify(events);
    const t = performance.now();
    await c.query("begin");
    await c.query(
      sql ??
        `insert into contact_events (tenant_id, contact_id, type, version, patch, actor)
       select $1, x.contact_id, x.type, x.version, x.patch, $2
         from jsonb_to_recordset($3::jsonb) as x(contact_id uuid, type text, version integer, patch jsonb)`,
      ["t", "a", json],
    );
    await c.query("commit");
    ms += performance.now() - t;
  }
  console.log(label, (ms / n).toFixed(1), "ms per 1000,", JSON.stringify([ev(1)]).length, "bytes each");
}

await c.query(
  "create temp table evs (contact_id uuid, type text, version int, patch jsonb) on commit delete rows",
);
async function runCopy(label, n = 20) {
  let ms = 0;
  for (let r = 0; r < n; r++) {
    const events = Array.from({ length: 1000 }, (_, i) => ev(r * 1000 + i));
    const t = performance.now();
    const lines = events.map((e) => copyLine([e.contact_id, e.type, e.version, JSON.stringify(e.patch)]));
    await c.query("begin");
    await pipeline(Readable.from(lines), c.query(copyFrom("copy evs from stdin")));
    await c.query(
      `insert into contact_events (tenant_id, contact_id, type, version, patch, actor) select $1, contact_id, type, version, patch, $2 from evs`,
      ["t", "a"],
    );
    await c.query("commit");
    ms += performance.now() - t;
  }
  console.log(label, (ms / n).toFixed(1), "ms per 1000");
}
for (let k = 0; k < 2; k++) {
  await run("default");
  await runCopy("copy");
}
await c.end();
