import { randomUUID } from "node:crypto";

import { LockMode } from "@mikro-orm/postgresql";
import type { EntityManager } from "@mikro-orm/postgresql";
import { AccountEntity } from "@contacts/db/entities/account.entity";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { RoleEntity } from "@contacts/db/entities/role.entity";
import type { ContactData } from "@contacts/domain/contact";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";
import { isMaskedValue, maskLast4 } from "@contacts/domain/masking";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ContactDescendantsInput, ContactListInput, ContactSearchInput } from "@contacts/domain/search";

import type { Principal } from "../auth/principal.js";
import type { ContactViewer } from "./contact.dto.js";
import {
  descendantsQuery,
  freeTextQuery,
  freeTextTerms,
  freeTextWords,
  listQuery,
  numberCursor,
  searchCursor,
  searchQuery,
} from "./contact-queries.js";
import type { SqlQuery } from "./contact-queries.js";
import { contactFromRow } from "./contact-row.js";
import type { ContactRow } from "./contact-row.js";

export interface ContactPage {
  rows: ContactEntity[];
  nextCursor: string | null;
}

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

/** The encrypted columns of a tax ID (all null when there is none). */
type TaxIdColumns = Pick<ContactEntity, "taxIdCiphertext" | "taxIdKeyId" | "taxIdIndex" | "taxIdLegacy">;

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

  /**
   * The contact with this id, for reading only: one query and no change tracking (about 1 ms less
   * than `get` per call, which matters on the hottest read). Writes use `get`.
   */
  async read(id: string): Promise<ContactEntity> {
    const [row] = await this.em.execute<ContactRow[]>(
      "select c.* from contacts c where c.tenant_id = ? and c.id = ?",
      [this.tenantId, id],
    );
    if (!row) throw ContactsError.notFound("id");
    return contactFromRow(row);
  }

  async create(data: ContactData, options: { userId?: string } = {}): Promise<ContactEntity> {
    if (data.taxId && isMaskedValue(data.taxId)) {
      throw ContactsError.invalid([
        { reason: ErrorReason.invalid, field: `${DOC}.taxId`, message: "a masked tax ID cannot be stored" },
      ]);
    }
    this.checkLockChange(false, data.locked);
    return this.em.transactional(async (tx) => {
      if (options.userId) data = await this.linkUser(tx, data, options.userId);
      await this.checkReferences(tx, data, null);
      const number = await this.nextNumber(tx);
      const now = new Date();
      const id = randomUUID();
      const { taxId, ...fields } = data;
      const row = tx.create(ContactEntity, {
        ...fields,
        ...this.encryptTaxId(id, taxId),
        tenantId: this.tenantId,
        id,
        number,
        mergedIds: [],
        createdAt: now,
        createdBy: this.principal.subject,
        updatedAt: now,
        updatedBy: this.principal.subject,
      });
      await tx.flush();
      return row;
    });
  }

  /** The contact linked to a portal user (`userIds` contains it), or null. */
  async findByUserId(userId: string, em: EntityManager = this.em): Promise<ContactEntity | null> {
    const rows = await em.find(
      ContactEntity,
      { tenantId: this.tenantId, userIds: { $contains: [userId] } },
      { orderBy: { number: "asc" }, limit: 1 },
    );
    return rows[0] ?? null;
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

  /** One page of contacts matching every given filter (see contact-queries.ts). */
  async search(input: ContactSearchInput): Promise<ContactPage> {
    const taxIdIndex = input.taxId ? this.vault.blindIndex(input.taxId, this.tenantId) : null;
    const freeText = input.q ? await this.freeTextWords(input.q) : null;
    const query = searchQuery(this.tenantId, input, taxIdIndex, freeText);
    const page = await this.page(query, input.limit, (last) => searchCursor(input, last));
    // A match on the tax-ID filter tells the caller each contact's tax ID: recorded as a reveal.
    if (input.taxId) for (const row of page.rows) this.viewer.noteTaxIdDisclosed(row.id);
    return page;
  }

  /** The dictionary words each term of free text stands for (see `freeTextQuery`). */
  private async freeTextWords(q: string): Promise<string[][]> {
    const terms = freeTextTerms(q);
    if (terms.length === 0) return [];
    const query = freeTextQuery(this.tenantId, terms);
    return freeTextWords(
      terms,
      await this.em.execute<{ term: number; word: string }[]>(query.sql, query.params),
    );
  }

  /** One page of an account's contacts (404 when the account is not the tenant's). */
  async list(input: ContactListInput): Promise<ContactPage> {
    const query = listQuery(this.tenantId, input); // a bad cursor is a 400 before anything is looked up
    await this.requireAccount(input.accountId);
    return this.page(query, input.limit, numberCursor);
  }

  /** One page of the contacts of an account and all its descendant accounts. */
  async descendants(input: ContactDescendantsInput): Promise<ContactPage> {
    const query = descendantsQuery(this.tenantId, input);
    await this.requireAccount(input.accountId);
    return this.page(query, input.limit, numberCursor);
  }

  private async requireAccount(accountId: string): Promise<void> {
    if (!(await this.em.count(AccountEntity, { tenantId: this.tenantId, id: accountId }))) {
      throw ContactsError.notFound("accountId");
    }
  }

  /** Runs a paged query (it asks for one row more than the page) and maps the rows to entities. */
  private async page(
    query: SqlQuery,
    limit: number,
    cursorAfter: (last: ContactRow) => string,
  ): Promise<ContactPage> {
    const found = await this.em.execute<ContactRow[]>(query.sql, query.params);
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return {
      rows: page.map(contactFromRow),
      nextCursor: found.length > limit && last ? cursorAfter(last) : null,
    };
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
    return this.em.transactional(async (tx) => {
      const row = await this.get(id, tx);
      this.checkVersion(row, expectedVersion);
      this.checkLockChange(row.locked, data.locked);
      const taxId = this.resolveTaxId(row, data.taxId);
      await this.checkReferences(tx, data, row.id);
      const { taxId: _sent, ...fields } = data;
      const taxIdColumns = taxId === this.viewer.taxIdOf(row) ? {} : this.encryptTaxId(row.id, taxId);
      tx.assign(row, {
        ...fields,
        ...taxIdColumns,
        updatedAt: new Date(),
        updatedBy: this.principal.subject,
      });
      await tx.flush();
      return row;
    });
  }

  async delete(id: string, expectedVersion: number | undefined): Promise<void> {
    await this.em.transactional(async (tx) => {
      const row = await this.get(id, tx);
      this.checkVersion(row, expectedVersion);
      if (row.locked) throw ContactsError.conflict(ErrorReason.locked, "id");
      const referrers = await tx.find(
        ContactEntity,
        { tenantId: this.tenantId, $or: [{ spouseId: id }, { portalDelegates: { $contains: [id] } }] },
        { fields: ["id"], limit: 100 },
      );
      if (referrers.length > 0) {
        throw ContactsError.conflict(ErrorReason.referenced, "id", { referrers: referrers.map((r) => r.id) });
      }
      tx.remove(row);
      await tx.flush();
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

  /**
   * A locked contact cannot be changed through the API; only a caller holding `contacts:unlock`
   * may lock or unlock it.
   */
  private checkLockChange(current: boolean, next: boolean): void {
    const mayUnlock = this.principal.permissions.has("contacts:unlock");
    if (current !== next && !mayUnlock) throw ContactsError.forbidden("contacts:unlock");
    if (current && next) throw ContactsError.conflict(ErrorReason.locked, "id");
  }

  /**
   * A replace may send back the masked tax ID it read: that means "unchanged". Any other masked
   * value is an error, never stored.
   */
  private resolveTaxId(row: ContactEntity, sent: string | null): string | null {
    if (sent === null || !isMaskedValue(sent)) return sent;
    const stored = this.viewer.taxIdOf(row);
    if (stored && maskLast4(stored) === sent) return stored;
    throw ContactsError.invalid([
      {
        reason: ErrorReason.invalid,
        field: `${DOC}.taxId`,
        message: "masked value does not match the stored tax ID",
      },
    ]);
  }

  /** Every account, role, spouse and delegate a contact points at must exist in the tenant. */
  private async checkReferences(em: EntityManager, data: ContactData, selfId: string | null): Promise<void> {
    const errors: FieldError[] = [];
    const unknown = (field: string, message: string) =>
      errors.push({ reason: ErrorReason.unknownReference, field: `${DOC}.${field}`, message });

    if (data.accountId && !(await em.count(AccountEntity, { tenantId: this.tenantId, id: data.accountId }))) {
      unknown("accountId", "no such account");
    }
    if (data.roles.length) {
      const known = new Set(
        // FOR SHARE: a concurrent roles.delete waits until this contact is committed, then sees it.
        (
          await em.find(
            RoleEntity,
            { tenantId: this.tenantId, code: { $in: data.roles } },
            { fields: ["code"], lockMode: LockMode.PESSIMISTIC_READ },
          )
        ).map((r) => r.code),
      );
      data.roles.forEach(
        (code, i) => known.has(code) || unknown(`roles.${i}`, `role ${code} is not in the catalogue`),
      );
    }
    const contactRefs = [...(data.spouseId ? [data.spouseId] : []), ...data.portalDelegates];
    if (contactRefs.length) {
      const found = new Set(
        (
          await em.find(
            ContactEntity,
            { tenantId: this.tenantId, id: { $in: contactRefs } },
            { fields: ["id"] },
          )
        ).map((c) => c.id),
      );
      if (selfId) found.delete(selfId);
      if (data.spouseId && !found.has(data.spouseId)) unknown("spouseId", "no such contact");
      data.portalDelegates.forEach(
        (id, i) => found.has(id) || unknown(`portalDelegates.${i}`, "no such contact"),
      );
    }
    if (errors.length) throw ContactsError.invalid(errors);
  }

  /** Ciphertext, key id and blind index for a tax ID; the plaintext goes nowhere else. */
  private encryptTaxId(contactId: string, taxId: string | null): TaxIdColumns {
    if (taxId === null)
      return { taxIdCiphertext: null, taxIdKeyId: null, taxIdIndex: null, taxIdLegacy: null };
    const { ciphertext, keyId } = this.vault.encrypt(taxId, { tenantId: this.tenantId, contactId });
    return {
      taxIdCiphertext: ciphertext,
      taxIdKeyId: keyId,
      taxIdIndex: this.vault.blindIndex(taxId, this.tenantId),
      taxIdLegacy: null,
    };
  }

  /**
   * Hands out the tenant's next contact number and enforces its contact limit (the row lock on the
   * tenant serialises concurrent creates, so the count cannot be overtaken).
   */
  private async nextNumber(em: EntityManager): Promise<number> {
    const rows = await em.execute<{ contact_seq: string; contact_count: string; limit: string | null }[]>(
      `update tenants set contact_seq = contact_seq + 1 where id = ?
       returning contact_seq, contact_count, (settings -> 'limits' ->> 'contacts')::bigint as limit`,
      [this.tenantId],
    );
    const row = rows[0];
    if (!row) throw new Error("tenant row missing");
    if (row.limit !== null && Number(row.contact_count) >= Number(row.limit)) {
      throw new ContactsError(
        "TOO_MANY_REQUESTS",
        [
          {
            reason: ErrorReason.tenantLimit,
            field: null,
            message: `the tenant's contact limit (${row.limit}) is reached`,
          },
        ],
        { limit: Number(row.limit) },
      );
    }
    return Number(row.contact_seq);
  }
}
