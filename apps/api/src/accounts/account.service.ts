import { randomUUID } from "node:crypto";

import { UniqueConstraintViolationException } from "@mikro-orm/core";
import type { EntityManager, FilterQuery } from "@mikro-orm/postgresql";
import { AccountChannelEntity, AccountEntity } from "@contacts/db/entities/account.entity";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { patchChannel } from "@contacts/domain/account";
import type {
  Account,
  AccountGetInput,
  AccountAddress,
  AccountListInput,
  Channel,
  ChannelLabel,
  ChannelPatchInput,
} from "@contacts/domain/account";
import { Id } from "@contacts/domain/common";
import { ContactsError, ErrorReason, fieldErrorsFromZod } from "@contacts/domain/errors";

import type { Principal } from "../auth/principal.js";
import { decodeCursor, encodeCursor } from "@contacts/contacts/cursor";

/** Accounts are sent as `{ account: {...} }`; errors about their fields are reported under this path. */
const DOC = "account";

/** A validated account (what AccountInput parses to). */
export interface AccountData {
  type: string;
  key: string;
  name: string;
  parentId: string | null;
  /** The address contacts linked to the account follow; null when it has none. */
  address: AccountAddress | null;
}

/** A validated channel (what ChannelInput parses to). */
type ChannelData = Omit<Channel, "id">;

/** A channel as the API shows it. */
export interface ChannelView {
  id: string;
  accountId: string;
  label: ChannelLabel;
  telephone: string | null;
  email: string | null;
  website: string | null;
  integration: boolean;
  createdAt: string;
}

/** Every public field chosen explicitly from the row (never tenant_id). */
export function toAccountView(row: AccountEntity): Account {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    name: row.name,
    parentId: row.parentId ?? null,
    address: row.address ?? null,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
  };
}

export function toChannelView(row: AccountChannelEntity): ChannelView {
  return {
    id: row.id,
    accountId: row.accountId,
    label: row.label,
    telephone: row.telephone ?? null,
    email: row.email ?? null,
    website: row.website ?? null,
    integration: row.integration,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The list position after an account: its creation time and id. */
function isAccountCursor(value: Record<string, unknown>): value is { c: string; i: string } {
  return (
    typeof value.c === "string" &&
    !Number.isNaN(Date.parse(value.c)) &&
    typeof value.i === "string" &&
    Id.safeParse(value.i).success
  );
}

/**
 * Accounts, their hierarchy and their channels, for one caller in one tenant. `em` is the request's
 * transaction, already bound to the caller's tenant; queries still name the tenant (row-level
 * security is the second line, not the only one).
 */
export class AccountService {
  constructor(
    private readonly em: EntityManager,
    private readonly principal: Principal,
  ) {}

  private get tenantId(): string {
    return this.principal.tenantId;
  }

  /** The account with this id in the caller's tenant; another tenant's id is simply not found. */
  async get(id: string, field = "id"): Promise<AccountEntity> {
    const row = await this.em.findOne(AccountEntity, { tenantId: this.tenantId, id });
    if (!row) throw ContactsError.notFound(field);
    return row;
  }

  /** The account with this `type` + `key` (its external identity) in the caller's tenant, or a 404 on `field`. */
  async getByKey(type: string, key: string, field = "key"): Promise<AccountEntity> {
    const row = await this.em.findOne(AccountEntity, { tenantId: this.tenantId, type, key });
    if (!row) throw ContactsError.notFound(field);
    return row;
  }

  /** `accounts.get`: by id or by type + key (the input's refinement lets exactly one through). */
  async lookup(input: AccountGetInput): Promise<AccountEntity> {
    if (input.type !== undefined && input.key !== undefined) return this.getByKey(input.type, input.key);
    if (input.id !== undefined) return this.get(input.id);
    throw ContactsError.notFound("id");
  }

  async create(data: AccountData): Promise<AccountEntity> {
    await this.checkUnique(data, null);
    if (data.parentId) await this.checkParent(null, data.parentId);
    const now = new Date();
    const row = this.em.create(AccountEntity, {
      ...data,
      tenantId: this.tenantId,
      id: randomUUID(),
      createdAt: now,
      createdBy: this.principal.subject,
      updatedAt: now,
      updatedBy: this.principal.subject,
    });
    await this.flush();
    return row;
  }

  /** Full replace of type, key, name, parent and address; the version goes up by one. */
  async replace(id: string, expectedVersion: number | undefined, data: AccountData): Promise<AccountEntity> {
    const row = await this.get(id);
    checkVersion(row, expectedVersion);
    await this.checkUnique(data, row.id);
    if (data.parentId) await this.checkParent(row.id, data.parentId);
    this.em.assign(row, { ...data, updatedAt: new Date(), updatedBy: this.principal.subject });
    await this.flush();
    return row;
  }

  /** Deletes an account and its channels; refused while contacts or child accounts point at it. */
  async delete(id: string, expectedVersion: number | undefined): Promise<void> {
    const row = await this.get(id);
    checkVersion(row, expectedVersion);
    const contacts = await this.em.count(ContactEntity, { tenantId: this.tenantId, accountId: id });
    const childAccounts = await this.em.count(AccountEntity, { tenantId: this.tenantId, parentId: id });
    if (contacts > 0 || childAccounts > 0) {
      throw ContactsError.conflict(ErrorReason.referenced, "id", { contacts, childAccounts });
    }
    // The account's channels go with it (on delete cascade).
    this.em.remove(row);
    await this.em.flush();
  }

  /** One page of accounts, oldest first (creation time, then id), with the given filters. */
  async list(input: AccountListInput): Promise<{ rows: AccountEntity[]; nextCursor: string | null }> {
    const where: FilterQuery<AccountEntity>[] = [{ tenantId: this.tenantId }];
    if (input.parentId !== undefined) where.push({ parentId: input.parentId });
    if (input.type !== undefined) where.push({ type: input.type });
    if (input.cursor) {
      const after = decodeCursor(input.cursor, `accounts.list:${this.tenantId}`, isAccountCursor);
      const createdAt = new Date(after.c);
      where.push({ $or: [{ createdAt: { $gt: createdAt } }, { createdAt, id: { $gt: after.i } }] });
    }
    const rows = await this.em.find(
      AccountEntity,
      { $and: where },
      { orderBy: { createdAt: "asc", id: "asc" }, limit: input.limit + 1 },
    );
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      rows: page,
      nextCursor:
        rows.length > input.limit && last
          ? encodeCursor({ c: last.createdAt.toISOString(), i: last.id }, `accounts.list:${this.tenantId}`)
          : null,
    };
  }

  /** The account's channels, oldest first (creation time, then id). */
  async listChannels(accountId: string): Promise<AccountChannelEntity[]> {
    await this.get(accountId, "accountId");
    return this.em.find(
      AccountChannelEntity,
      { tenantId: this.tenantId, accountId },
      { orderBy: { createdAt: "asc", id: "asc" } },
    );
  }

  async addChannel(accountId: string, channel: ChannelData): Promise<AccountChannelEntity> {
    await this.get(accountId, "accountId");
    const row = this.em.create(AccountChannelEntity, {
      tenantId: this.tenantId,
      id: randomUUID(),
      accountId,
      label: channel.label,
      telephone: channel.telephone ?? null,
      email: channel.email ?? null,
      website: channel.website ?? null,
      integration: channel.integration,
      createdAt: new Date(),
    });
    await this.em.flush();
    return row;
  }

  /** Changes the given fields of a channel; the merged channel must satisfy the ChannelInput rules. */
  async updateChannel(
    accountId: string,
    id: string,
    patch: ChannelPatchInput,
  ): Promise<AccountChannelEntity> {
    const row = await this.getChannel(accountId, id);
    const patched = patchChannel(
      {
        label: row.label,
        telephone: row.telephone ?? null,
        email: row.email ?? null,
        website: row.website ?? null,
        integration: row.integration,
      },
      patch,
    );
    if (!patched.success) throw ContactsError.invalid(fieldErrorsFromZod(patched.issues, "channel"));
    const { label, telephone, email, website, integration } = patched.data;
    this.em.assign(row, {
      label,
      telephone: telephone ?? null,
      email: email ?? null,
      website: website ?? null,
      integration,
    });
    await this.em.flush();
    return row;
  }

  async removeChannel(accountId: string, id: string): Promise<void> {
    const row = await this.getChannel(accountId, id);
    this.em.remove(row);
    await this.em.flush();
  }

  /** Removes every channel of the account; answers how many there were. */
  async removeAllChannels(accountId: string): Promise<number> {
    await this.get(accountId, "accountId");
    return this.em.nativeDelete(AccountChannelEntity, { tenantId: this.tenantId, accountId });
  }

  /** A channel of this account (the account first: an unknown account is a 404 on accountId, then on id). */
  async getChannel(accountId: string, id: string): Promise<AccountChannelEntity> {
    await this.get(accountId, "accountId");
    const row = await this.em.findOne(AccountChannelEntity, { tenantId: this.tenantId, accountId, id });
    if (!row) throw ContactsError.notFound("id");
    return row;
  }

  /** `type` + `key` is unique in the tenant (the unique index backs this up under concurrency). */
  private async checkUnique(data: AccountData, selfId: string | null): Promise<void> {
    const taken = await this.em.count(AccountEntity, {
      tenantId: this.tenantId,
      type: data.type,
      key: data.key,
      ...(selfId ? { id: { $ne: selfId } } : {}),
    });
    if (taken > 0) throw duplicateKey();
  }

  /**
   * The parent must be an account of this tenant, and must not be the account itself or one of its
   * descendants (that would make a cycle): the ancestors of the proposed parent, found with a
   * recursive query, must not include the account. Re-parenting is serialised per tenant with a
   * transaction-scoped advisory lock, so two concurrent moves cannot close a cycle between them.
   */
  private async checkParent(selfId: string | null, parentId: string): Promise<void> {
    const field = `${DOC}.parentId`;
    if (selfId === parentId) {
      throw ContactsError.invalid([
        { reason: ErrorReason.invalid, field, message: "an account cannot be its own parent" },
      ]);
    }
    if (selfId) {
      await this.em.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [
        `accounts/hierarchy/${this.tenantId}`,
      ]);
    }
    const parent = await this.em.count(AccountEntity, { tenantId: this.tenantId, id: parentId });
    if (parent === 0) {
      throw ContactsError.invalid([
        { reason: ErrorReason.unknownReference, field, message: "no such account" },
      ]);
    }
    if (!selfId) return;
    const rows = await this.em.execute<{ cycle: boolean }[]>(
      `with recursive ancestors (id, parent_id) as (
         select id, parent_id from accounts where tenant_id = ? and id = ?
         union
         select a.id, a.parent_id from accounts a join ancestors x on a.id = x.parent_id
          where a.tenant_id = ?
       )
       select exists (select 1 from ancestors where id = ?) as cycle`,
      [this.tenantId, parentId, this.tenantId, selfId],
    );
    if (rows[0]?.cycle) {
      throw ContactsError.invalid([
        { reason: ErrorReason.invalid, field, message: "the parent is one of the account's descendants" },
      ]);
    }
  }

  /** Flushes an account write; a unique violation that raced the check is the same 409. */
  private async flush(): Promise<void> {
    try {
      await this.em.flush();
    } catch (error) {
      throw error instanceof UniqueConstraintViolationException ? duplicateKey() : error;
    }
  }
}

function duplicateKey(): ContactsError {
  return new ContactsError("CONFLICT", [
    {
      reason: ErrorReason.duplicate,
      field: `${DOC}.key`,
      message: "an account of this type with this key exists",
    },
  ]);
}

function checkVersion(row: AccountEntity, expectedVersion: number | undefined): void {
  if (expectedVersion !== undefined && expectedVersion !== row.version) {
    throw new ContactsError(
      "PRECONDITION_FAILED",
      [{ reason: ErrorReason.versionMismatch, field: "expectedVersion" }],
      { currentVersion: row.version },
    );
  }
}
