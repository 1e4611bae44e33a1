import { TransactionPropagation } from "@mikro-orm/postgresql";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ACCOUNT_ADDRESSES_SQL } from "@contacts/db/account-address";
import { ACCOUNT_PHONES_SQL } from "@contacts/db/account-phone";
import { AccountEntity } from "@contacts/db/entities/account.entity";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import {
  ContactInput,
  ContactReplaceInput,
  followAccountAddress,
  followAccountPhone,
} from "@contacts/domain/contact";
import type { AccountPostalAddress, Contact, ContactData } from "@contacts/domain/contact";
import { duplicateKeys, matchKeyList, scoreMatch } from "@contacts/domain/duplicates";
import type { DuplicateMatch, OnDuplicate } from "@contacts/domain/duplicates";
import {
  ContactsError,
  ErrorReason,
  fieldErrorsFromZod,
  isReadOnlyContactKey,
} from "@contacts/domain/errors";
import { mergeContacts } from "@contacts/domain/merge";
import type { MergeConflict, MergePreference } from "@contacts/domain/merge";
import { applyContactPatch } from "@contacts/domain/patch";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { requiresPrimaryAddress } from "@contacts/domain/tenant";

import type { Principal } from "../auth/principal.js";
import type { ContactViewer } from "./contact.dto.js";
import { ContactReads } from "./contact-reads.js";
import { transactionReader } from "@contacts/db/tenant-reads";
import { arrayLiteral } from "@contacts/contacts/search/sql";
import { contactFromRow } from "@contacts/contacts/contact-row";
import { ormRunner } from "@contacts/contacts/numbers";
import { applyContactChanges } from "@contacts/contacts/writer";
import type { ChangeResult, ContactChange, WriterActor } from "@contacts/contacts/writer";
import type { ContactRow } from "@contacts/contacts/contact-row";

export interface MergeInput {
  targetId: string;
  sourceIds: string[];
  expectedVersion?: number | undefined;
  dryRun?: boolean | undefined;
  prefer?: MergePreference | undefined;
}

export interface MergeOutcome {
  /** The target as stored (or, on a dry run, as it would be). */
  target: Contact;
  conflicts: MergeConflict[];
  dryRun: boolean;
}

export interface DuplicateCandidate {
  row: ContactEntity;
  match: DuplicateMatch;
}

/** The row a successful change stored (the service's writes always ask for rows). */
function storedRow(result: ChangeResult & { ok: true }): ContactEntity {
  if (!result.row) throw new Error("the contacts writer answered no row");
  return result.row;
}

/** At most this many stored contacts are scored as possible duplicates of one contact. */
const DUPLICATE_CANDIDATES = 200;

/** A transaction that joins the caller's (the API call's) instead of opening a savepoint in it. */
const JOIN_CALL_TRANSACTION = { propagation: TransactionPropagation.REQUIRED };

/** Contacts are sent as `{ contact: {...} }`; errors about their fields are reported under this path. */
const DOC = "contact";

/**
 * What a portal user may not set on their own contact (`me.create`): who may manage it, where it
 * belongs, its links to other records and systems, and its protection flags.
 */
const TENANT_MANAGED_FIELDS = [
  "portalDelegates",
  "accountId",
  "roles",
  "spouseId",
  "group",
  "externalId",
  "originService",
  "integration",
  "locked",
] as const satisfies readonly (keyof ContactData)[];

function isSet(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== null && value !== undefined && value !== false;
}

/**
 * Owns the unit of work for contacts of one caller in one tenant. `em` is the request's
 * transaction, already bound to the caller's tenant; queries still name the tenant (row-level
 * security is the second line, not the only one).
 */
export class ContactService {
  private readonly principal: Principal;

  constructor(
    private readonly em: EntityManager,
    private readonly viewer: ContactViewer,
    private readonly vault: TaxIdVault,
  ) {
    this.principal = viewer.principal;
  }

  private get tenantId(): string {
    return this.principal.tenantId;
  }

  /** The contact with this id in the caller's tenant; another tenant's id is simply not found. */
  async get(id: string, em: EntityManager = this.em): Promise<ContactEntity> {
    const row = await em.findOne(ContactEntity, { tenantId: this.tenantId, id });
    if (!row) throw ContactsError.notFound("id");
    return row;
  }

  /** A row handed out, with its account and role names loaded for the computed fields. */
  private async named<T extends ContactEntity | null>(row: T, em: EntityManager = this.em): Promise<T> {
    if (row) await this.viewer.loadNames(transactionReader(em), [row]);
    return row;
  }

  async create(
    data: ContactData,
    options: { userId?: string; onDuplicate?: OnDuplicate } = {},
  ): Promise<ContactEntity> {
    // Joins the call's transaction (no savepoint: a failed create fails the whole call anyway), which
    // saves two round trips on the hottest write.
    return this.em.transactional(async (tx) => {
      if (options.userId) data = await this.linkUser(tx, data, options.userId);
      const row = await this.applyOne(tx, { op: "create", data });
      if (options.onDuplicate === "reject") {
        // Checked on the contact as stored (the account's address and phone followed), after the
        // writer's own checks. Creates sharing a match key are ordered by an advisory lock on each
        // key, taken after the insert: of two concurrent creates of the same person the second
        // waits for the first's commit, then its search (each statement reads what has committed)
        // finds it, and its insert rolls back with the call.
        await this.lockMatchKeys(tx, row.matchKeys);
        const found = await this.findDuplicates(tx, this.viewer.dataOf(row), row.id, 10);
        if (found.length) {
          throw ContactsError.conflict(ErrorReason.duplicate, DOC, {
            duplicates: found.map((d) => ({ id: d.row.id, confidence: d.match.confidence })),
          });
        }
      }
      return this.named(row, tx);
    }, JOIN_CALL_TRANSACTION);
  }

  /** Who writes through this service, for the contacts writer. */
  private get actor(): WriterActor {
    return {
      tenantId: this.tenantId,
      subject: this.principal.subject,
      mayUnlock: this.principal.permissions.has("contacts:unlock"),
      // The tenant's creation criteria (settings as authenticated: a change applies within the
      // principal cache's 5 s, like every setting).
      requirePrimaryAddress: requiresPrimaryAddress(this.principal.tenantSettings),
    };
  }

  /** Changes through the one writer (`applyContactChanges`), in the transaction `tx`. */
  private apply(tx: EntityManager, changes: ContactChange[]): Promise<ChangeResult[]> {
    return applyContactChanges(ormRunner(tx), this.actor, changes, {
      vault: this.vault,
      field: (path) => `${DOC}.${path}`,
    });
  }

  /** One change through the writer: its stored row, or its error thrown. */
  private async applyOne(tx: EntityManager, change: ContactChange): Promise<ContactEntity> {
    const [result] = await this.apply(tx, [change]);
    if (!result) throw new Error("the contacts writer answered no result");
    if (!result.ok) throw result.error;
    return storedRow(result);
  }

  /** Several changes through the writer: the first error is thrown (and the call rolls back). */
  private async applyAll(tx: EntityManager, changes: ContactChange[]): Promise<ContactEntity[]> {
    if (!changes.length) return [];
    const results = await this.apply(tx, changes);
    return results.map((r) => {
      if (!r.ok) throw r.error;
      return storedRow(r);
    });
  }

  /** The contact linked to a portal user (`userIds` contains it), or null. */
  async findByUserId(userId: string, em: EntityManager = this.em): Promise<ContactEntity | null> {
    const rows = await em.find(
      ContactEntity,
      { tenantId: this.tenantId, userIds: { $contains: [userId] } },
      { orderBy: { number: "asc" }, limit: 1 },
    );
    return this.named(rows[0] ?? null, em);
  }

  /** Contacts with this email address (compared case-insensitively), oldest first. */
  async findByEmail(address: string, limit = 100): Promise<ContactEntity[]> {
    return this.em
      .createQueryBuilder(ContactEntity)
      .where({ tenantId: this.tenantId })
      .andWhere("email_keys @> jsonb_build_array(lower(?::text))", [address.trim()])
      .orderBy({ number: "asc" })
      .limit(limit)
      .getResult();
  }

  /**
   * Whether `managerId` may manage the contact that has this email: true when that contact lists
   * the manager among its portal delegates. The manager and the address must both exist (404).
   */
  async canManage(
    managerId: string,
    emailAddress: string,
  ): Promise<{ canManage: boolean; contactId: string }> {
    await this.get(managerId).catch((error: unknown) => {
      throw error instanceof ContactsError && error.kind === "NOT_FOUND"
        ? ContactsError.notFound("managerId")
        : error;
    });
    const contacts = await this.findByEmail(emailAddress);
    const first = contacts[0];
    if (!first) throw ContactsError.notFound("emailAddress");
    const managed = contacts.find((c) => c.portalDelegates.includes(managerId));
    return { canManage: Boolean(managed), contactId: (managed ?? first).id };
  }

  private async requireAccount(accountId: string, em: EntityManager = this.em): Promise<void> {
    if (!(await em.count(AccountEntity, { tenantId: this.tenantId, id: accountId }))) {
      throw ContactsError.notFound("accountId");
    }
  }

  /**
   * `me.create`: the new contact is linked to the user and to no one else (a user cannot claim
   * another portal account), and a user has one contact (409 when one exists). A
   * transaction-scoped advisory lock on the user keeps two concurrent creates apart.
   */
  private async linkUser(tx: EntityManager, data: ContactData, userId: string): Promise<ContactData> {
    const tenantManaged = TENANT_MANAGED_FIELDS.filter((field) => isSet(data[field]));
    if (tenantManaged.length) {
      throw new ContactsError(
        "FORBIDDEN",
        tenantManaged.map((field) => ({
          reason: ErrorReason.forbidden,
          field: `${DOC}.${field}`,
          message: "set by the tenant, not on your own contact",
        })),
      );
    }
    const others = data.userIds.flatMap((id, i) => (id === userId ? [] : [i]));
    if (others.length) {
      throw ContactsError.invalid(
        others.map((i) => ({
          reason: ErrorReason.invalid,
          field: `${DOC}.userIds.${i}`,
          message: "your own contact can only be linked to you",
        })),
      );
    }
    await tx.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [
      `contacts/me/${this.tenantId}/${userId}`,
    ]);
    const existing = await this.findByUserId(userId, tx);
    if (existing) {
      throw ContactsError.conflict(ErrorReason.duplicate, null, { contactId: existing.id });
    }
    return { ...data, userIds: [userId] };
  }

  /** Full replace: every editable field takes the given value (absent means cleared). */
  async replace(id: string, expectedVersion: number | undefined, data: ContactData): Promise<ContactEntity> {
    return this.em.transactional(async (tx) =>
      this.named(await this.applyOne(tx, { op: "update", id, expectedVersion, data }), tx),
    );
  }

  /**
   * JSON Patch (RFC 6902) applied to the contact as this caller sees it, then validated as a full
   * replace: all or nothing. A failed `test` operation is a 409 (the contact is not in the state
   * the caller expected); any other problem a 400 naming the operation's path or the field.
   */
  async patch(id: string, expectedVersion: number | undefined, operations: unknown): Promise<ContactEntity> {
    return this.em.transactional(async (tx) => {
      const [row] = await this.lockRows(tx, [id]);
      if (!row) throw ContactsError.notFound("id");
      this.checkVersion(row, expectedVersion);
      const result = applyContactPatch(this.viewer.showAll(row), operations);
      if (!result.ok) {
        const testFailed = result.errors.some((e) => e.reason === ErrorReason.patchTestFailed);
        throw testFailed
          ? new ContactsError("CONFLICT", result.errors)
          : ContactsError.invalid(result.errors);
      }
      const editable = Object.fromEntries(
        Object.entries(result.document as Record<string, unknown>).filter(
          ([key]) => !isReadOnlyContactKey(key),
        ),
      );
      const parsed = ContactReplaceInput.safeParse(editable);
      if (!parsed.success) {
        throw ContactsError.invalid(fieldErrorsFromZod(parsed.error.issues, undefined, { input: editable }));
      }
      return this.named(await this.applyOne(tx, { op: "update", id, current: row, data: parsed.data }), tx);
    });
  }

  /**
   * The rows, locked for the rest of the transaction in id order: concurrent writers of one contact
   * queue, and each sees the version the previous one committed (so of 50 racing updates with the
   * same `expectedVersion`, one succeeds and 49 get 412 with the new version).
   */
  private async lockRows(tx: EntityManager, ids: readonly string[]): Promise<ContactEntity[]> {
    const rows = await tx.execute<ContactRow[]>(
      "select c.* from contacts c where c.tenant_id = ? and c.id = any(?::uuid[]) order by c.id for update",
      [this.tenantId, arrayLiteral([...ids])],
    );
    return rows.map(contactFromRow);
  }

  async delete(id: string, expectedVersion: number | undefined): Promise<void> {
    await this.em.transactional(async (tx) => {
      const [result] = await this.apply(tx, [{ op: "delete", id, expectedVersion }]);
      if (result && !result.ok) throw result.error;
    });
  }

  /**
   * Merges source contacts into a target in one transaction (see `mergeContacts` for the field
   * rules). Sources become `duplicate` and give up their user ids; their ids join the target's
   * `mergedIds`; every spouse and delegate link to a source now points at the target. A dry run
   * returns the would-be target and the conflicting fields and changes nothing.
   */
  async merge(input: MergeInput): Promise<MergeOutcome> {
    const ids = [input.targetId, ...input.sourceIds];
    const repeated = input.sourceIds.findIndex((id, i) => ids.indexOf(id) !== i + 1);
    if (repeated >= 0) {
      throw ContactsError.invalid([
        {
          reason: ErrorReason.invalid,
          field: `sourceIds.${String(repeated)}`,
          message: "listed twice or the target",
        },
      ]);
    }
    return this.em.transactional(async (tx) => {
      // The contacts merged and those pointing at a source (their links move to the target), locked
      // in id order in one statement: two merges over the same contacts queue instead of deadlocking.
      const locked = (
        await tx.execute<ContactRow[]>(
          `select c.* from contacts c where c.tenant_id = ?
              and (c.id = any(?::uuid[]) or c.spouse_id = any(?::uuid[]) or c.portal_delegates && ?::uuid[])
            order by c.id for update`,
          [this.tenantId, arrayLiteral(ids), arrayLiteral(input.sourceIds), arrayLiteral(input.sourceIds)],
        )
      ).map(contactFromRow);
      const merging = new Set(ids);
      const byId = new Map(locked.filter((r) => merging.has(r.id)).map((r) => [r.id, r]));
      const referrers = locked.filter((r) => !merging.has(r.id));
      const target = byId.get(input.targetId);
      if (!target) throw ContactsError.notFound("targetId");
      const sources = input.sourceIds.map((id, i) => {
        const row = byId.get(id);
        if (!row) throw ContactsError.notFound(`sourceIds.${String(i)}`);
        return row;
      });
      this.checkVersion(target, input.expectedVersion);
      if (target.locked) throw ContactsError.conflict(ErrorReason.locked, "targetId");
      sources.forEach((row, i) => {
        const field = `sourceIds.${String(i)}`;
        if (row.locked) throw ContactsError.conflict(ErrorReason.locked, field);
        if (row.status === "duplicate") {
          throw ContactsError.conflict(ErrorReason.conflict, field, { reason: "already merged" });
        }
      });

      const { data, conflicts } = mergeContacts(
        { id: target.id, data: this.viewer.dataOf(target) },
        sources.map((row) => ({ id: row.id, data: this.viewer.dataOf(row) })),
        input.prefer,
      );
      const parsed = ContactInput.safeParse(data);
      if (!parsed.success) {
        throw ContactsError.invalid(fieldErrorsFromZod(parsed.error.issues, "target", { input: data }));
      }
      const mergedIds = [
        ...new Set([...target.mergedIds, ...sources.flatMap((r) => [r.id, ...r.mergedIds])]),
      ];
      if (input.dryRun) {
        await this.viewer.loadNames(transactionReader(tx), [{ ...target, ...parsed.data }]);
        return { target: this.viewer.showPreview(target, parsed.data, mergedIds), conflicts, dryRun: true };
      }

      // The sources let go of their user ids before the target takes them.
      await this.applyAll(
        tx,
        sources.map((row) => ({
          op: "update",
          id: row.id,
          current: row,
          data: { ...this.viewer.dataOf(row), status: "duplicate", userIds: [] },
          event: { type: "updated", data: { mergedInto: target.id } },
        })),
      );
      const [stored] = await this.applyAll(tx, [
        {
          op: "update",
          id: target.id,
          current: target,
          data: parsed.data,
          mergedIds,
          event: { type: "merged", data: { sourceIds: input.sourceIds } },
        },
      ]);
      // Spouse and delegate links to a source now point at the target (each an updated event).
      const merged = new Set(input.sourceIds);
      await this.applyAll(
        tx,
        referrers.map((row) => {
          const data = this.viewer.dataOf(row);
          return {
            op: "update",
            id: row.id,
            current: row,
            system: true,
            data: {
              ...data,
              spouseId: data.spouseId && merged.has(data.spouseId) ? target.id : data.spouseId,
              portalDelegates: [...new Set(data.portalDelegates.map((d) => (merged.has(d) ? target.id : d)))],
            },
          };
        }),
      );
      if (!stored) throw new Error("the merge target was not stored");
      await this.viewer.loadNames(transactionReader(tx), [stored]);
      return { target: this.viewer.showAll(stored), conflicts, dryRun: false };
    });
  }

  /** Stored contacts that may be the same person or company as this one, most likely first. */
  async duplicates(id: string, limit: number): Promise<DuplicateCandidate[]> {
    const row = await new ContactReads(transactionReader(this.em), this.viewer, this.vault).read(id);
    return this.findDuplicates(this.em, this.viewer.dataOf(row), row.id, limit);
  }

  /**
   * Contacts sharing a match key with `data` (GIN index on `match_keys`), scored by the kinds of key
   * they share; merged-away duplicates are left out.
   */
  private async findDuplicates(
    em: EntityManager,
    data: ContactData,
    selfId: string | null,
    limit: number,
  ): Promise<DuplicateCandidate[]> {
    const keys = duplicateKeys(data);
    const list = matchKeyList(keys);
    if (list.length === 0) return [];
    const rows = await em.execute<ContactRow[]>(
      `select c.* from contacts c where c.tenant_id = ? and c.match_keys && ?::text[]
         and c.status <> 'duplicate' and c.id is distinct from ?::uuid
       order by c.number limit ?`,
      [this.tenantId, arrayLiteral(list), selfId, DUPLICATE_CANDIDATES],
    );
    const found = rows
      .map(contactFromRow)
      .flatMap((candidate) => {
        const match = scoreMatch(duplicateKeys(this.viewer.dataOf(candidate)), keys);
        return match ? [{ row: candidate, match }] : [];
      })
      .sort((a, b) => b.match.confidence - a.match.confidence || a.row.number - b.row.number)
      .slice(0, limit);
    await this.viewer.loadNames(
      transactionReader(em),
      found.map((f) => f.row),
    );
    return found;
  }

  /**
   * Deletes every contact of an account in one transaction: refused (409) while one of them is
   * locked or referenced by a contact outside the account, naming them.
   */
  async removeAccountContacts(accountId: string): Promise<number> {
    return this.em.transactional(async (tx) => {
      await this.requireAccount(accountId, tx);
      const rows = await tx.execute<{ id: string; locked: boolean; version: number }[]>(
        "select id, locked, version from contacts where tenant_id = ? and account_id = ? order by id for update",
        [this.tenantId, accountId],
      );
      const locked = rows.filter((r) => r.locked).map((r) => r.id);
      if (locked.length) throw ContactsError.conflict(ErrorReason.locked, "accountId", { locked });
      const ids = arrayLiteral(rows.map((r) => r.id));
      const referrers = await tx.execute<{ id: string }[]>(
        `select id from contacts where tenant_id = ? and not (id = any(?::uuid[]))
           and (spouse_id = any(?::uuid[]) or portal_delegates && ?::uuid[]) limit 100`,
        [this.tenantId, ids, ids, ids],
      );
      if (referrers.length) {
        throw ContactsError.conflict(ErrorReason.referenced, "accountId", {
          referrers: referrers.map((r) => r.id),
        });
      }
      const results = await this.apply(
        tx,
        rows.map((row) => ({ op: "delete", id: row.id })),
      );
      for (const r of results) if (!r.ok) throw r.error;
      return rows.length;
    });
  }

  private checkVersion(row: ContactEntity, expectedVersion: number | undefined): void {
    if (expectedVersion !== undefined && expectedVersion !== row.version) {
      throw new ContactsError(
        "PRECONDITION_FAILED",
        [{ reason: ErrorReason.versionMismatch, field: "expectedVersion" }],
        { currentVersion: row.version },
      );
    }
  }

  /** The address a contact linked to its account's address follows (null: none, or not linked). */
  private async accountAddress(em: EntityManager, data: ContactData): Promise<AccountPostalAddress | null> {
    if (!data.linkWorkAddressToAccount || !data.accountId) return null;
    const [account] = await em.execute<{ address: AccountPostalAddress }[]>(ACCOUNT_ADDRESSES_SQL, [
      this.tenantId,
      arrayLiteral([data.accountId]),
    ]);
    return account?.address ?? null;
  }

  /**
   * After a change to an account's address: every unlocked contact of the account linked to it takes
   * the account's address as its work address, through the writer (one `updated` event each). A
   * locked contact keeps its address. Answers how many changed.
   */
  async followAccountAddress(accountId: string): Promise<number> {
    return this.refollow(accountId, "link_work_address_to_account", async (tx, data) =>
      followAccountAddress(data, await this.accountAddress(tx, data)),
    );
  }

  /**
   * The telephone a contact linked to its account's phone follows: the account's oldest `general`
   * channel holding a telephone (null when it has none, or the contact is not linked).
   */
  private async accountPhone(em: EntityManager, data: ContactData): Promise<string | null> {
    if (!data.linkWorkPhoneToAccount || !data.accountId) return null;
    const [channel] = await em.execute<{ telephone: string }[]>(ACCOUNT_PHONES_SQL, [
      this.tenantId,
      arrayLiteral([data.accountId]),
    ]);
    return channel?.telephone ?? null;
  }

  /**
   * After a change to an account's channels: every unlocked contact of the account linked to its
   * phone takes the account's telephone as its work phone, through the writer (one `updated` event
   * each). A locked contact keeps its phone. Answers how many changed.
   */
  async followAccountPhone(accountId: string): Promise<number> {
    return this.refollow(accountId, "link_work_phone_to_account", async (tx, data) =>
      followAccountPhone(data, await this.accountPhone(tx, data)),
    );
  }

  /**
   * The account's unlocked contacts linked by `link`, each given `follow`'s data through the writer
   * when that changes it (one `updated` event each), locked in id order. Answers how many changed.
   */
  private async refollow(
    accountId: string,
    link: "link_work_address_to_account" | "link_work_phone_to_account",
    follow: (tx: EntityManager, data: ContactData) => Promise<ContactData>,
  ): Promise<number> {
    return this.em.transactional(async (tx) => {
      const rows = await tx.execute<ContactRow[]>(
        `select c.* from contacts c
          where c.tenant_id = ? and c.account_id = ? and c.${link} and not c.locked
          order by c.id for update`,
        [this.tenantId, accountId],
      );
      const changes: ContactChange[] = [];
      for (const row of rows.map(contactFromRow)) {
        const data = this.viewer.dataOf(row);
        const next = await follow(tx, data);
        if (next !== data) changes.push({ op: "update", id: row.id, current: row, data: next });
      }
      await this.applyAll(tx, changes);
      return changes.length;
    });
  }

  /** Transaction-scoped advisory locks on match keys of the tenant, in one order (no deadlock). */
  private async lockMatchKeys(em: EntityManager, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await em.execute(
      `select pg_advisory_xact_lock(hashtextextended(k, 0))
         from (select distinct ?::text || k as k from unnest(?::text[]) as u(k) order by 1) s`,
      [`contacts.match:${this.tenantId}:`, arrayLiteral(keys)],
    );
  }
}
