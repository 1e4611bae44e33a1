import { randomUUID } from "node:crypto";

import { ACCOUNT_ADDRESSES_SQL } from "@contacts/db/account-address";
import { ACCOUNT_PHONES_SQL } from "@contacts/db/account-phone";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import { followAccountAddress, followAccountPhone, primaryAddressErrors } from "@contacts/domain/contact";
import type { AccountPostalAddress, ContactData, StoredContact } from "@contacts/domain/contact";
import { duplicateKeys, matchKeyList } from "@contacts/domain/duplicates";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";
import { isMaskedValue, maskLast4 } from "@contacts/domain/masking";

import { CONTACT_COLUMNS, arrayLiteral } from "./columns.js";
import type { ContactColumn, ContactProperty } from "./columns.js";
import { contactFromRow } from "./contact-row.js";
import type { ContactRow } from "./contact-row.js";
import { contactDocument, documentSql } from "./document.js";
import { eventPatch } from "./events.js";
import type { SqlRunner } from "./numbers.js";

/**
 * The one writer of contacts. Every contact write (the API's create, replace, patch, merge, delete,
 * the account-following updates, the import's chunks) is a list of changes passed to
 * `applyContactChanges` in the caller's transaction (bound to the tenant), which applies every rule
 * that needs the database once, set-based:
 *
 * 1. the rows changed or deleted are locked in id order (or, for a caller that read them already,
 *    written only if they still have the version read);
 * 2. version and `locked` checks, masked tax IDs, the tenant's creation criteria;
 * 3. references: accounts (key share lock), roles (share lock: a concurrent `roles.delete` waits for
 *    this commit, then sees the contacts), spouse and portal delegates;
 * 4. external-id uniqueness (also within the batch; the unique index settles a race);
 * 5. the account's address and phone for linked contacts, match keys, tax-ID encryption;
 * 6. numbers and the tenant's contact limit (`take_contact_numbers`, inside the INSERT);
 * 7. one INSERT, one UPDATE and one DELETE, each with its change events in the same statement, the
 *    documents from `document.ts`.
 *
 * A change that breaks a rule is answered with its error and writes nothing; the others are written.
 */

/** Who writes, as recorded (`createdBy`, `updatedBy`, the events' actor), and what they may do. */
export interface WriterActor {
  tenantId: string;
  subject: string;
  /** May lock or unlock contacts (`contacts:unlock`). */
  mayUnlock: boolean;
  /** The tenant's creation criteria: a new contact with addresses marks one primary. */
  requirePrimaryAddress: boolean;
}

/** The bulk load a change comes from (imports): provenance, last bulk import and source hash. */
export interface BulkSource {
  importId: string;
  recordNumber: number;
  sourceFile: string;
  /** The hash of the source record, for "unchanged" on the next load of the same file. */
  sourceHash: string | null;
}

export interface CreateChange {
  op: "create";
  data: ContactData;
  /** The match keys of `data` when the caller has them (an import's parse thread computes them). */
  matchKeys?: string[];
  bulk?: BulkSource;
}

export interface UpdateChange {
  op: "update";
  id: string;
  /** The whole set of editable fields after the change (the tax ID in clear or as read, masked). */
  data: ContactData;
  /** Refused with 412 unless the contact has this version. */
  expectedVersion?: number | undefined;
  /**
   * The row as the caller read it without a lock: written only if it still has that version (the
   * change then fails with `version_mismatch`, and the caller reads again). Without it the writer
   * locks and reads the row.
   */
  current?: ContactEntity;
  /** Replaces the ids merged into this contact. */
  mergedIds?: string[];
  /** The event recorded (default `updated`, no data). */
  event?: { type: "updated" | "merged"; data?: Record<string, unknown> };
  /**
   * A change the service makes to keep a locked contact consistent (a merge pointing its links at
   * the target): the lock does not refuse it.
   */
  system?: boolean;
  bulk?: BulkSource;
}

export interface DeleteChange {
  op: "delete";
  id: string;
  expectedVersion?: number | undefined;
}

export type ContactChange = CreateChange | UpdateChange | DeleteChange;

export type ChangeResult =
  { ok: true; id: string; row: ContactEntity | null } | { ok: false; error: ContactsError };

export interface WriterOptions {
  vault: TaxIdVault;
  /** Where a field of the contact is reported (the API: `contact.<path>`; the import: the path). */
  field?: (path: string) => string;
  /** Answer the stored rows (the API shows them); an import only needs the ids. */
  returnRows?: boolean;
  /** Writes nothing (an import's dry run): every check runs, no number is taken. */
  dryRun?: boolean;
}

/** The rows created at most per statement: jsonb parameters stay well under a few MB. */
const ROWS_PER_STATEMENT = 2_000;

/** Server columns an update never writes. */
const KEPT_ON_UPDATE = new Set<ContactProperty>([
  "tenantId",
  "id",
  "number",
  "createdAt",
  "createdBy",
  "importId",
  "importRecordNumber",
  "importSourceFile",
  "loadedAt",
]);

/** The recordset columns of `jsonb_to_recordset`: every mapped column but the tenant (a parameter). */
const ROW_COLUMNS: readonly ContactColumn[] = CONTACT_COLUMNS.filter((c) => c.property !== "tenantId");
const UPDATED_COLUMNS = ROW_COLUMNS.filter((c) => !KEPT_ON_UPDATE.has(c.property));

/**
 * The tax ID's columns: an update writes them only when the tax ID changes, so a writer holding a
 * row read before a key rotation re-encrypted it (rotation changes no version) cannot put the old
 * key's ciphertext back.
 */
const TAX_COLUMNS: ReadonlySet<string> = new Set(
  CONTACT_COLUMNS.filter((c) => c.property.startsWith("taxId")).map((c) => c.column),
);

const recordsetOf = (extra: string): string =>
  [...ROW_COLUMNS.map((c) => `${c.column} ${c.sqlType}`), extra].join(", ");

/** Pairs per jsonb_build_object call: 2 arguments each, under PostgreSQL's limit of 100 arguments. */
const PAIRS_PER_CALL = 40;

/**
 * The created event's JSON Patch from the inserted row `c` and its input row `s` (masked tax ID in
 * `s.tax_id_masked`): one `add` of the whole stored document (`document.ts`, as `eventPatch` gives
 * it for a new contact), built in SQL so the event costs no round trip. jsonb_build_object takes at
 * most 100 arguments and the document has more than 50 fields, so it is built in parts joined by `||`.
 */
export function createdPatchSql(row: string, taxIdMasked: string): string {
  const doc = documentSql(row, taxIdMasked);
  const parts = Array.from(
    { length: Math.ceil(doc.length / PAIRS_PER_CALL) },
    (_, i) =>
      `jsonb_build_object(${doc
        .slice(i * PAIRS_PER_CALL, (i + 1) * PAIRS_PER_CALL)
        .map(([field, value]) => `'${field}', ${value}`)
        .join(", ")})`,
  );
  return `jsonb_build_array(jsonb_build_object('op', 'add', 'path', '', 'value', ${parts.join(" || ")}))`;
}

/**
 * New contacts and their created events in one statement, numbered in it: `take_contact_numbers`
 * grants what the tenant's contact limit leaves (numbers in input order, `s.ord`), and rows beyond
 * the grant are not inserted. Every answered row carries the grant (`granted`, `contact_limit`); with
 * nothing inserted, one row of them alone.
 */
const INSERT_SQL = `with n as (
    select numbers, contact_limit from take_contact_numbers(?, ?)
  ), s as (
    select * from jsonb_to_recordset(?::jsonb) as s(${recordsetOf("ord integer, tax_id_masked text, import_source_hash text")})
  ), c as (
    insert into contacts (tenant_id, ${ROW_COLUMNS.map((c) => c.column).join(", ")},
                          city_keys, state_keys, country_keys, import_source_hash)
    select ?, ${ROW_COLUMNS.map((c) => (c.property === "number" ? "n.numbers[s.ord]" : `s.${c.column}`)).join(", ")},
           k.city_keys, k.state_keys, k.country_keys, s.import_source_hash
      from s cross join n cross join lateral (
        select coalesce(array_agg(distinct lower(a->>'city')) filter (where a->>'city' is not null), '{}') as city_keys,
               coalesce(array_agg(distinct lower(a->>'state')) filter (where a->>'state' is not null), '{}') as state_keys,
               coalesce(array_agg(distinct lower(a->>'country')) filter (where a->>'country' is not null), '{}') as country_keys
          from jsonb_array_elements(s.addresses) a
      ) k
     where s.ord <= cardinality(n.numbers)
     order by s.ord
    on conflict (tenant_id, external_id) where external_id is not null do nothing
    returning *
  ), e as (
    insert into contact_events (tenant_id, contact_id, type, version, patch, actor)
    select c.tenant_id, c.id, 'created', 1, ${createdPatchSql("c", "s.tax_id_masked")}, c.created_by
      from c join s on s.id = c.id
     order by c.number
  )
  select RETURNED, g.granted, g.contact_limit
    from (select cardinality(numbers) as granted, contact_limit from n) g left join c on true`;

const UPDATE_SQL = `with s as (
    select * from jsonb_to_recordset(?::jsonb) as s(${recordsetOf(
      "bulk boolean, tax_changed boolean, import_source_hash text, event_type text, event_patch jsonb, event_data jsonb",
    )})
  ), u as (
    update contacts c set ${UPDATED_COLUMNS.map((col) =>
      TAX_COLUMNS.has(col.column)
        ? `${col.column} = case when s.tax_changed then s.${col.column} else c.${col.column} end`
        : `${col.column} = s.${col.column}`,
    ).join(", ")},
           import_source_hash = case when s.bulk then s.import_source_hash else c.import_source_hash end
      from s
     where c.tenant_id = ? and c.id = s.id and c.version = s.version - 1
    returning c.*
  ), e as (
    insert into contact_events (tenant_id, contact_id, type, version, patch, data, actor)
    select u.tenant_id, u.id, s.event_type, u.version, s.event_patch, s.event_data, u.updated_by
      from u join s on s.id = u.id
     order by u.id
  )
  select RETURNED from u`;

const DELETE_SQL = `with d as (
    delete from contacts c where c.tenant_id = ? and c.id = any(?::uuid[]) returning c.tenant_id, c.id, c.version
  ), e as (
    insert into contact_events (tenant_id, contact_id, type, version, actor)
    select d.tenant_id, d.id, 'deleted', d.version, ? from d order by d.id
  )
  select d.id from d`;

/** The statement answering the stored rows' mapped columns (not the derived search columns), or their ids. */
const returning = (sql: string, rows: boolean, alias: string) =>
  sql.replace(
    "RETURNED",
    rows ? CONTACT_COLUMNS.map((c) => `${alias}.${c.column}`).join(", ") : `${alias}.id`,
  );

/** The grant of numbers an insert answers on every row. */
interface Granted {
  granted: string | number | null;
  contact_limit: string | number | null;
}

/** A change being checked: its index in the batch, its error once it has one. */
interface Pending<C extends ContactChange> {
  index: number;
  change: C;
  error?: ContactsError;
}

interface Prepared {
  index: number;
  values: Record<string, unknown>;
  /** For updates: the event's patch. */
  patch?: unknown;
}

/** The tax ID columns of a contact (all null without one). */
interface TaxIdColumns {
  taxIdCiphertext: string | null;
  taxIdKeyId: string | null;
  taxIdIndex: string | null;
  taxIdLegacy: string | null;
}

/**
 * Applies the changes in the caller's transaction and answers one result per change, in order.
 * Checks that need the database are made once for the whole batch; the writes are one statement per
 * kind of change. Merges call it once per step (sources, target, relinked contacts).
 */
export async function applyContactChanges(
  db: SqlRunner,
  actor: WriterActor,
  changes: readonly ContactChange[],
  options: WriterOptions,
): Promise<ChangeResult[]> {
  return new ContactWriter(db, actor, options).apply(changes);
}

class ContactWriter {
  private readonly field: (path: string) => string;
  private readonly now = new Date();

  constructor(
    private readonly db: SqlRunner,
    private readonly actor: WriterActor,
    private readonly options: WriterOptions,
  ) {
    this.field = options.field ?? ((path) => path);
  }

  private get tenantId(): string {
    return this.actor.tenantId;
  }

  async apply(changes: readonly ContactChange[]): Promise<ChangeResult[]> {
    const results: (ChangeResult | undefined)[] = Array.from({ length: changes.length }, () => undefined);
    const creates: Pending<CreateChange>[] = [];
    const updates: Pending<UpdateChange>[] = [];
    const deletes: Pending<DeleteChange>[] = [];
    changes.forEach((change, index) => {
      if (change.op === "create") creates.push({ index, change });
      else if (change.op === "update") updates.push({ index, change });
      else deletes.push({ index, change });
    });

    const current = await this.lockRows([...updates, ...deletes]);
    for (const p of [...updates, ...deletes]) this.checkCurrent(p, current.get(p.change.id));
    for (const p of creates) this.checkCreate(p);
    for (const p of updates) {
      const row = current.get(p.change.id);
      if (row && !p.error) this.checkUpdate(p, row);
    }
    const written = [...creates, ...updates].filter((p) => !p.error);
    await this.checkReferences(written);
    await this.checkExternalIds(written);
    const follow = await this.accountFollowing(written);

    const prepared: { creates: Prepared[]; updates: Prepared[] } = { creates: [], updates: [] };
    for (const p of updates) {
      if (p.error) continue;
      const row = current.get(p.change.id);
      if (row) prepared.updates.push(this.prepareUpdate(p, row, follow));
    }
    // Numbered by the insert (a dry run takes none and counts the limit itself).
    for (const p of creates) if (!p.error) prepared.creates.push(this.prepareCreate(p, follow));
    await this.checkDeletes(deletes.filter((p) => !p.error));

    for (const p of [...creates, ...updates, ...deletes])
      if (p.error) results[p.index] = { ok: false, error: p.error };
    if (this.options.dryRun) {
      for (const p of [...creates, ...updates, ...deletes])
        results[p.index] ??= { ok: true, id: p.change.op === "create" ? "" : p.change.id, row: null };
      return results as ChangeResult[];
    }

    await this.writeDeletes(
      deletes.filter((p) => !p.error),
      results,
    );
    // Rows are locked by the update in the recordset's order: id order, as every writer locks.
    prepared.updates.sort((a, b) => ((a.values.id as string) < (b.values.id as string) ? -1 : 1));
    await this.writeUpdates(prepared.updates, results);
    await this.writeCreates(prepared.creates, changes, results);
    return results as ChangeResult[];
  }

  /** Rows to update or delete that the caller did not read, locked in id order. */
  private async lockRows(
    pending: Pending<UpdateChange | DeleteChange>[],
  ): Promise<Map<string, ContactEntity>> {
    const found = new Map<string, ContactEntity>();
    const unread: string[] = [];
    for (const { change } of pending) {
      if (change.op === "update" && change.current) found.set(change.id, change.current);
      else unread.push(change.id);
    }
    if (unread.length) {
      const rows = await this.db.rows<ContactRow>(
        `select c.* from contacts c where c.tenant_id = ? and c.id = any(?::uuid[]) order by c.id ${
          this.options.dryRun ? "" : "for update"
        }`,
        [this.tenantId, arrayLiteral([...new Set(unread)])],
      );
      for (const row of rows) found.set(row.id, contactFromRow(row));
    }
    return found;
  }

  private checkCurrent(p: Pending<UpdateChange | DeleteChange>, row: ContactEntity | undefined): void {
    const { change } = p;
    if (!row) {
      p.error = ContactsError.notFound("id");
      return;
    }
    if (change.expectedVersion !== undefined && change.expectedVersion !== row.version) {
      p.error = new ContactsError(
        "PRECONDITION_FAILED",
        [{ reason: ErrorReason.versionMismatch, field: "expectedVersion" }],
        { currentVersion: row.version },
      );
      return;
    }
    if (change.op === "delete" && row.locked) p.error = ContactsError.conflict(ErrorReason.locked, "id");
  }

  /**
   * A locked contact cannot be changed; only an actor that may unlock can lock or unlock one.
   * Answers the error, or null.
   */
  private lockChangeError(current: boolean, next: boolean): ContactsError | null {
    if (current !== next && !this.actor.mayUnlock) return ContactsError.forbidden("contacts:unlock");
    if (current && next) return ContactsError.conflict(ErrorReason.locked, "id");
    return null;
  }

  private checkCreate(p: Pending<CreateChange>): void {
    const { data } = p.change;
    if (data.taxId && isMaskedValue(data.taxId)) {
      p.error = ContactsError.invalid([
        {
          reason: ErrorReason.invalid,
          field: this.field("taxId"),
          message: "a masked tax ID cannot be stored",
        },
      ]);
      return;
    }
    const lock = this.lockChangeError(false, data.locked);
    if (lock) {
      p.error = lock;
      return;
    }
    if (this.actor.requirePrimaryAddress) {
      const missing = primaryAddressErrors(data).map((e) => ({ ...e, field: this.field(e.field ?? "") }));
      if (missing.length) p.error = ContactsError.invalid(missing);
    }
  }

  private checkUpdate(p: Pending<UpdateChange>, row: ContactEntity): void {
    const { change } = p;
    if (!change.system) {
      const lock = this.lockChangeError(row.locked, change.data.locked);
      if (lock) {
        p.error = lock;
        return;
      }
    }
    const sent = change.data.taxId;
    if (sent !== null && isMaskedValue(sent)) {
      // The masked tax ID read back means "unchanged"; any other masked value is never stored.
      const stored = this.taxIdOf(row);
      if (stored && maskLast4(stored) === sent) change.data = { ...change.data, taxId: stored };
      else
        p.error = ContactsError.invalid([
          {
            reason: ErrorReason.invalid,
            field: this.field("taxId"),
            message: "masked value does not match the stored tax ID",
          },
        ]);
    }
  }

  /** Every account, role, spouse and delegate a written contact points at must exist in the tenant. */
  private async checkReferences(pending: Pending<CreateChange | UpdateChange>[]): Promise<void> {
    const datas = pending.map((p) => p.change.data);
    const accounts = [...new Set(datas.flatMap((d) => (d.accountId ? [d.accountId] : [])))];
    const roles = [...new Set(datas.flatMap((d) => d.roles))];
    const contacts = [
      ...new Set(datas.flatMap((d) => [...(d.spouseId ? [d.spouseId] : []), ...d.portalDelegates])),
    ];
    if (!accounts.length && !roles.length && !contacts.length) return;
    const lock = (mode: string) => (this.options.dryRun ? "" : mode);
    // One connection: the three reads run one after another (in id and code order, as every writer locks).
    const liveAccounts = await this.keys(
      accounts,
      `select id::text as key from accounts where tenant_id = ? and id = any(?::uuid[]) order by id ${lock("for key share")}`,
    );
    // FOR SHARE: a concurrent roles.delete waits until these contacts are committed, then sees them.
    const liveRoles = await this.keys(
      roles,
      `select code as key from roles where tenant_id = ? and code = any(?::text[]) order by code ${lock("for share")}`,
    );
    const liveContacts = await this.keys(
      contacts,
      "select id::text as key from contacts where tenant_id = ? and id = any(?::uuid[])",
    );
    for (const p of pending) {
      const { data } = p.change;
      const self = p.change.op === "update" ? p.change.id : null;
      const errors: FieldError[] = [];
      const unknown = (field: string, message: string) =>
        errors.push({ reason: ErrorReason.unknownReference, field: this.field(field), message });
      // uuids as PostgreSQL writes them (the schema lets upper-case hex through).
      if (data.accountId && !liveAccounts.has(data.accountId.toLowerCase()))
        unknown("accountId", "no such account");
      data.roles.forEach(
        (code, i) => liveRoles.has(code) || unknown(`roles.${i}`, `role ${code} is not in the catalogue`),
      );
      const known = (id: string) =>
        id.toLowerCase() !== self?.toLowerCase() && liveContacts.has(id.toLowerCase());
      if (data.spouseId && !known(data.spouseId)) unknown("spouseId", "no such contact");
      data.portalDelegates.forEach(
        (id, i) => known(id) || unknown(`portalDelegates.${i}`, "no such contact"),
      );
      if (errors.length) p.error = ContactsError.invalid(errors);
    }
  }

  private async keys(values: string[], sql: string): Promise<Set<string>> {
    if (!values.length) return new Set();
    const rows = await this.db.rows<{ key: string }>(sql, [this.tenantId, arrayLiteral(values)]);
    return new Set(rows.map((r) => r.key));
  }

  /**
   * An external id names one contact per tenant: another contact holding it (or an earlier change of
   * the batch taking it) is 409 `duplicate` with that contact's id. The unique index settles a race.
   */
  private async checkExternalIds(pending: Pending<CreateChange | UpdateChange>[]): Promise<void> {
    // A bulk load matched its records by external id already (the import's matching); a race, or
    // two records of one batch with the same id, are settled by the insert's ON CONFLICT.
    const live = pending.flatMap((p) => {
      const ext = p.change.data.externalId;
      return !p.error && ext && !(p.change.op === "create" && p.change.bulk) ? [{ p, ext }] : [];
    });
    if (!live.length) return;
    const wanted = [...new Set(live.map(({ ext }) => ext))];
    const holder = await this.holders(wanted);
    // Holders giving the id up in this batch no longer hold it.
    for (const p of pending) {
      if (p.change.op !== "update" || p.error) continue;
      const { id, data } = p.change;
      for (const [ext, holderId] of holder)
        if (holderId === id && data.externalId !== ext) holder.delete(ext);
    }
    const taken = new Map<string, string>();
    for (const { p, ext } of live) {
      const self = p.change.op === "update" ? p.change.id : null;
      const other = holder.get(ext);
      const earlier = taken.get(ext);
      if ((other && other !== self) || earlier !== undefined) {
        p.error = this.duplicateExternalId(other && other !== self ? other : (earlier ?? null));
        continue;
      }
      taken.set(ext, self ?? "");
    }
  }

  /** The contacts holding these external ids, by external id. */
  private async holders(externalIds: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.db.rows<{ id: string; external_id: string }>(
      "select id, external_id from contacts where tenant_id = ? and external_id = any(?::text[])",
      [this.tenantId, arrayLiteral([...externalIds])],
    );
    return new Map(rows.map((r) => [r.external_id, r.id]));
  }

  private duplicateExternalId(contactId: string | null): ContactsError {
    return ContactsError.conflict(
      ErrorReason.duplicate,
      this.field("externalId"),
      contactId ? { contactId } : undefined,
    );
  }

  /** The addresses and telephones of the accounts the batch's linked contacts follow. */
  private async accountFollowing(pending: Pending<CreateChange | UpdateChange>[]): Promise<Following> {
    const linked = (link: "linkWorkAddressToAccount" | "linkWorkPhoneToAccount") => [
      ...new Set(
        pending.flatMap(({ change: { data } }) => (data[link] && data.accountId ? [data.accountId] : [])),
      ),
    ];
    const addressed = linked("linkWorkAddressToAccount");
    const phoned = linked("linkWorkPhoneToAccount");
    const addresses = addressed.length
      ? await this.db.rows<{ account_id: string; address: AccountPostalAddress }>(ACCOUNT_ADDRESSES_SQL, [
          this.tenantId,
          arrayLiteral(addressed),
        ])
      : [];
    const phones = phoned.length
      ? await this.db.rows<{ account_id: string; telephone: string }>(ACCOUNT_PHONES_SQL, [
          this.tenantId,
          arrayLiteral(phoned),
        ])
      : [];
    return new Following(
      new Map(addresses.map((r) => [r.account_id, r.address])),
      new Map(phones.map((r) => [r.account_id, r.telephone])),
    );
  }

  private limitError(limit: number | null): ContactsError {
    return new ContactsError(
      "TOO_MANY_REQUESTS",
      [
        {
          reason: ErrorReason.tenantLimit,
          field: null,
          message: `the tenant's contact limit (${String(limit)}) is reached`,
        },
      ],
      { limit },
    );
  }

  /** A contact referenced by another's spouse or delegates cannot be deleted (409 `referenced`). */
  private async checkDeletes(pending: Pending<DeleteChange>[]): Promise<void> {
    if (!pending.length) return;
    const ids = arrayLiteral(pending.map((p) => p.change.id));
    const referrers = await this.db.rows<{
      id: string;
      spouse_id: string | null;
      portal_delegates: string[];
    }>(
      `select id, spouse_id, portal_delegates from contacts
        where tenant_id = ? and not (id = any(?::uuid[])) and (spouse_id = any(?::uuid[]) or portal_delegates && ?::uuid[])
        limit 100`,
      [this.tenantId, ids, ids, ids],
    );
    for (const p of pending) {
      const by = referrers
        .filter((r) => r.spouse_id === p.change.id || r.portal_delegates.includes(p.change.id))
        .map((r) => r.id);
      if (by.length) p.error = ContactsError.conflict(ErrorReason.referenced, "id", { referrers: by });
    }
  }

  /** The stored columns of `data` on top of `base`, with derived keys and the encrypted tax ID. */
  private values(
    base: Record<string, unknown>,
    id: string,
    data: ContactData,
    following: Following,
    taxId: TaxIdColumns,
    matchKeys?: string[],
  ): { values: Record<string, unknown>; data: ContactData } {
    const followed = following.apply(data);
    const { taxId: _clear, ...fields } = followed;
    const keys = followed === data && matchKeys ? matchKeys : matchKeyList(duplicateKeys(followed));
    return {
      values: {
        ...base,
        ...fields,
        ...taxId,
        id,
        matchKeys: keys,
      },
      data: followed,
    };
  }

  private prepareCreate(p: Pending<CreateChange>, following: Following): Prepared {
    const { data, bulk } = p.change;
    const id = randomUUID();
    const by = this.actor.subject;
    const provenance = bulk ? this.provenance(bulk) : null;
    const { values } = this.values(
      {
        number: 0, // taken by the insert (`n.numbers[s.ord]`)
        version: 1,
        mergedIds: [],
        createdAt: this.now,
        createdBy: by,
        updatedAt: this.now,
        updatedBy: by,
        importId: bulk?.importId ?? null,
        importRecordNumber: bulk?.recordNumber ?? null,
        importSourceFile: bulk?.sourceFile ?? null,
        loadedAt: bulk ? this.now : null,
        lastBulkImport: provenance,
      },
      id,
      data,
      following,
      this.encrypt(id, data.taxId),
      p.change.matchKeys,
    );
    return {
      index: p.index,
      values: {
        ...values,
        taxIdMasked: data.taxId ? maskLast4(data.taxId) : null,
        importSourceHash: bulk?.sourceHash ?? null,
      },
    };
  }

  private prepareUpdate(p: Pending<UpdateChange>, row: ContactEntity, following: Following): Prepared {
    const { change } = p;
    const stored = this.taxIdOf(row);
    const sent = change.data.taxId;
    // An unchanged tax ID keeps its ciphertext (a legacy plaintext one is encrypted now).
    const taxChanged = !(sent === stored && row.taxIdCiphertext);
    const taxId = taxChanged ? this.encrypt(row.id, sent) : this.taxColumnsOf(row);
    const { values } = this.values(
      {
        ...row,
        version: row.version + 1,
        updatedAt: this.now,
        updatedBy: this.actor.subject,
        ...(change.mergedIds ? { mergedIds: change.mergedIds } : {}),
        ...(change.bulk ? { lastBulkImport: this.provenance(change.bulk) } : {}),
      },
      row.id,
      change.data,
      // A change that only keeps links consistent (a merge's relinking) leaves the rest as stored,
      // a locked contact's address and phone included.
      change.system ? NOT_FOLLOWING : following,
      taxId,
    );
    const after = contactDocument(values as ContactEntity, sent === null ? null : maskLast4(sent));
    const before = contactDocument(row, stored === null ? null : maskLast4(stored));
    return {
      index: p.index,
      values: {
        ...values,
        bulk: change.bulk !== undefined,
        taxChanged,
        importSourceHash: change.bulk?.sourceHash ?? null,
        eventType: change.event?.type ?? "updated",
        eventPatch: this.updatePatch(before, after, change.bulk !== undefined),
        eventData: change.event?.data ?? null,
      },
    };
  }

  /**
   * An updated event's patch: the diff of the documents, where a bulk load's `lastBulkImport` is one
   * `replace` of the whole record (it is one fact, not fields to merge).
   */
  private updatePatch(before: StoredContact, after: StoredContact, bulk: boolean): unknown {
    if (!bulk) return eventPatch(before, after);
    const { lastBulkImport, ...rest } = after;
    const patch = eventPatch({ ...before, lastBulkImport: null }, { ...rest, lastBulkImport: null }) ?? [];
    return [...patch, { op: "replace", path: "/lastBulkImport", value: lastBulkImport }];
  }

  private provenance(bulk: BulkSource): Record<string, unknown> {
    return {
      importId: bulk.importId,
      recordNumber: bulk.recordNumber,
      sourceFile: bulk.sourceFile,
      loadedAt: this.now.toISOString(),
    };
  }

  /** The plaintext tax ID of a row, for the writer's own checks and events (masked there). */
  private taxIdOf(row: ContactEntity): string | null {
    if (!row.taxIdCiphertext) return row.taxIdLegacy ?? null;
    return this.options.vault.decrypt(row.taxIdCiphertext, { tenantId: row.tenantId, contactId: row.id });
  }

  private taxColumnsOf(row: ContactEntity): TaxIdColumns {
    return {
      taxIdCiphertext: row.taxIdCiphertext ?? null,
      taxIdKeyId: row.taxIdKeyId ?? null,
      taxIdIndex: row.taxIdIndex ?? null,
      taxIdLegacy: null,
    };
  }

  /** Ciphertext, key id and blind index for a tax ID; the plaintext goes nowhere else. */
  private encrypt(contactId: string, taxId: string | null): TaxIdColumns {
    if (taxId === null)
      return { taxIdCiphertext: null, taxIdKeyId: null, taxIdIndex: null, taxIdLegacy: null };
    const { vault } = this.options;
    const { ciphertext, keyId } = vault.encrypt(taxId, { tenantId: this.tenantId, contactId });
    return {
      taxIdCiphertext: ciphertext,
      taxIdKeyId: keyId,
      taxIdIndex: vault.blindIndex(taxId, this.tenantId),
      taxIdLegacy: null,
    };
  }

  /** The recordset JSON of prepared rows: columns by name, the extra fields snake-cased. */
  private recordset(rows: Prepared[]): string {
    return JSON.stringify(
      rows.map(({ values }) => {
        const out: Record<string, unknown> = {};
        for (const c of ROW_COLUMNS) out[c.column] = values[c.property] ?? null;
        for (const [key, value] of Object.entries(values)) {
          const column = EXTRA_FIELDS.get(key);
          if (column) out[column] = value;
        }
        return out;
      }),
    );
  }

  private async writeCreates(
    rows: Prepared[],
    changes: readonly ContactChange[],
    results: (ChangeResult | undefined)[],
  ): Promise<void> {
    const returnRows = this.options.returnRows ?? true;
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const part = rows.slice(i, i + ROWS_PER_STATEMENT);
      part.forEach((p, ord) => (p.values.ord = ord + 1));
      const answered = await this.db.rows<ContactRow & Granted>(returning(INSERT_SQL, returnRows, "c"), [
        this.tenantId,
        part.length,
        this.recordset(part),
        this.tenantId,
      ]);
      const grant = answered[0];
      const granted = Number(grant?.granted ?? 0);
      const limit = grant?.contact_limit == null ? null : Number(grant.contact_limit);
      const byId = new Map(answered.filter((r) => (r.id as string | null) !== null).map((r) => [r.id, r]));
      const lost: Prepared[] = [];
      part.forEach((p, ord) => {
        const row = byId.get(p.values.id as string);
        if (row) results[p.index] = { ok: true, id: row.id, row: returnRows ? contactFromRow(row) : null };
        else if (ord >= granted) results[p.index] = { ok: false, error: this.limitError(limit) };
        else lost.push(p);
      });
      // Not inserted: a concurrent writer committed the same external id first.
      if (lost.length) {
        const holder = await this.holders(lost.map((p) => p.values.externalId as string));
        for (const p of lost) {
          const change = changes[p.index] as CreateChange;
          results[p.index] = {
            ok: false,
            error: this.duplicateExternalId(holder.get(change.data.externalId ?? "") ?? null),
          };
        }
      }
    }
  }

  private async writeUpdates(rows: Prepared[], results: (ChangeResult | undefined)[]): Promise<void> {
    if (!rows.length) return;
    const returnRows = this.options.returnRows ?? true;
    const updated = await this.db.rows<ContactRow>(returning(UPDATE_SQL, returnRows, "u"), [
      this.recordset(rows),
      this.tenantId,
    ]);
    const byId = new Map(updated.map((r) => [r.id, r]));
    for (const p of rows) {
      const row = byId.get(p.values.id as string);
      results[p.index] = row
        ? { ok: true, id: row.id, row: returnRows ? contactFromRow(row) : null }
        : {
            // Read without a lock by the caller, and changed since.
            ok: false,
            error: new ContactsError("PRECONDITION_FAILED", [
              { reason: ErrorReason.versionMismatch, field: "expectedVersion" },
            ]),
          };
    }
  }

  private async writeDeletes(pending: Pending<DeleteChange>[], results: (ChangeResult | undefined)[]) {
    if (!pending.length) return;
    const deleted = await this.db.rows<{ id: string }>(DELETE_SQL, [
      this.tenantId,
      arrayLiteral(pending.map((p) => p.change.id)),
      this.actor.subject,
    ]);
    const gone = new Set(deleted.map((r) => r.id));
    for (const p of pending)
      results[p.index] = gone.has(p.change.id)
        ? { ok: true, id: p.change.id, row: null }
        : { ok: false, error: ContactsError.notFound("id") };
  }
}

/** Fields of a prepared row that are not entity properties, by their recordset column. */
const EXTRA_FIELDS = new Map<string, string>([
  ["ord", "ord"],
  ["taxIdMasked", "tax_id_masked"],
  ["importSourceHash", "import_source_hash"],
  ["bulk", "bulk"],
  ["taxChanged", "tax_changed"],
  ["eventType", "event_type"],
  ["eventPatch", "event_patch"],
  ["eventData", "event_data"],
]);

/** The account addresses and telephones linked contacts follow (`followAccountAddress`, `followAccountPhone`). */
class Following {
  constructor(
    private readonly addresses: Map<string, AccountPostalAddress>,
    private readonly phones: Map<string, string>,
  ) {}

  apply(data: ContactData): ContactData {
    const account = data.accountId;
    const key = account?.toLowerCase();
    const addressed = followAccountAddress(data, key ? (this.addresses.get(key) ?? null) : null);
    return followAccountPhone(addressed, key ? (this.phones.get(key) ?? null) : null);
  }
}

/** No account to follow (a change that keeps a contact as stored). */
const NOT_FOLLOWING = new Following(new Map(), new Map());
