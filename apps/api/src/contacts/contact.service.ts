import { randomUUID } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { AccountEntity } from "@contacts/db/entities/account.entity";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { RoleEntity } from "@contacts/db/entities/role.entity";
import type { ContactData } from "@contacts/domain/contact";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";
import { isMaskedValue, maskLast4 } from "@contacts/domain/masking";

import type { Principal } from "../auth/principal.js";

/** Contacts are sent as `{ contact: {...} }`; errors about their fields are reported under this path. */
const DOC = "contact";

/** Owns the unit of work for contact changes of one caller in one tenant. */
export class ContactService {
  constructor(
    private readonly em: EntityManager,
    private readonly principal: Principal,
  ) {}

  private get tenantId(): string {
    return this.principal.tenantId;
  }

  /** The contact with this id in the caller's tenant; another tenant's id is simply not found. */
  async get(id: string, em: EntityManager = this.em): Promise<ContactEntity> {
    const row = await em.findOne(ContactEntity, { tenantId: this.tenantId, id });
    if (!row) throw ContactsError.notFound("id");
    return row;
  }

  async create(data: ContactData): Promise<ContactEntity> {
    if (data.taxId && isMaskedValue(data.taxId)) {
      throw ContactsError.invalid([
        { reason: ErrorReason.invalid, field: `${DOC}.taxId`, message: "a masked tax ID cannot be stored" },
      ]);
    }
    this.checkLockChange(false, data.locked);
    return this.em.transactional(async (tx) => {
      await this.checkReferences(tx, data, null);
      const number = await this.nextNumber(tx);
      const now = new Date();
      const row = tx.create(ContactEntity, {
        ...data,
        tenantId: this.tenantId,
        id: randomUUID(),
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

  /** Full replace: every editable field takes the given value (absent means cleared). */
  async replace(id: string, expectedVersion: number | undefined, data: ContactData): Promise<ContactEntity> {
    return this.em.transactional(async (tx) => {
      const row = await this.get(id, tx);
      this.checkVersion(row, expectedVersion);
      this.checkLockChange(row.locked, data.locked);
      const taxId = this.resolveTaxId(row, data.taxId);
      await this.checkReferences(tx, data, row.id);
      tx.assign(row, { ...data, taxId, updatedAt: new Date(), updatedBy: this.principal.subject });
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
    if (row.taxId && maskLast4(row.taxId) === sent) return row.taxId;
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
        (
          await em.find(
            RoleEntity,
            { tenantId: this.tenantId, code: { $in: data.roles } },
            { fields: ["code"] },
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

  /** Hands out the tenant's next contact number (row lock on the tenant serialises concurrent creates). */
  private async nextNumber(em: EntityManager): Promise<number> {
    const rows = await em.execute<{ contact_seq: string }[]>(
      "update tenants set contact_seq = contact_seq + 1 where id = ? returning contact_seq",
      [this.tenantId],
    );
    const seq = rows[0]?.contact_seq;
    if (seq === undefined) throw new Error("tenant row missing");
    return Number(seq);
  }
}
