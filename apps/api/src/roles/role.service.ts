import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { LockMode } from "@mikro-orm/postgresql";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { RoleEntity } from "@contacts/db/entities/role.entity";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { RoleInput } from "@contacts/domain/role";

/** A role of the catalogue as the API shows it. */
export interface RoleView {
  code: string;
  description: string | null;
  createdAt: string;
}

export function toRoleView(row: RoleEntity): RoleView {
  return { code: row.code, description: row.description ?? null, createdAt: row.createdAt.toISOString() };
}

/** The tenant's role catalogue, in the caller's tenant transaction. */
export class RoleService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantId: string,
  ) {}

  /** Every role of the tenant, by code. */
  async list(): Promise<RoleEntity[]> {
    return this.em.find(RoleEntity, { tenantId: this.tenantId }, { orderBy: { code: "asc" } });
  }

  /** Adds a role; an existing code is a 409 `duplicate` on `code`. */
  async create(input: RoleInput): Promise<RoleEntity> {
    if (await this.em.count(RoleEntity, { tenantId: this.tenantId, code: input.code })) throw duplicate();
    const row = this.em.create(RoleEntity, {
      tenantId: this.tenantId,
      code: input.code,
      description: input.description ?? null,
      createdAt: new Date(),
    });
    try {
      await this.em.flush();
    } catch (error) {
      // A concurrent create of the same code got there first.
      throw error instanceof UniqueConstraintViolationException ? duplicate() : error;
    }
    return row;
  }

  /**
   * Removes a role from the catalogue: 404 when the tenant has no such role, 409 `referenced`
   * (with the number of contacts) while a contact holds it.
   */
  async delete(code: string): Promise<void> {
    // Locked first: a contact being given this role holds a share lock on it (see the contact
    // service), so the count below cannot miss a contact committed meanwhile.
    const row = await this.em.findOne(
      RoleEntity,
      { tenantId: this.tenantId, code },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!row) throw ContactsError.notFound("code");
    const contacts = await this.em.count(ContactEntity, {
      tenantId: this.tenantId,
      roles: { $contains: [code] },
    });
    if (contacts > 0) throw ContactsError.conflict(ErrorReason.referenced, "code", { contacts });
    this.em.remove(row);
    await this.em.flush();
  }
}

function duplicate(): ContactsError {
  return new ContactsError("CONFLICT", [
    { reason: ErrorReason.duplicate, field: "code", message: "the catalogue has this role" },
  ]);
}
