import { defineEntity, p } from "@mikro-orm/core";
import type { InferEntity } from "@mikro-orm/core";
import type { AccountAddress, ChannelLabel } from "@contacts/domain/account";

export const AccountEntity = defineEntity({
  name: "Account",
  tableName: "accounts",
  properties: {
    tenantId: p.string().primary(),
    id: p.uuid().primary(),
    type: p.string(),
    key: p.string(),
    name: p.string(),
    parentId: p.uuid().nullable(),
    address: p.json<AccountAddress>().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    createdBy: p.string(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    updatedBy: p.string(),
  },
  primaryKeys: ["tenantId", "id"],
});
export type AccountEntity = InferEntity<typeof AccountEntity>;

export const AccountChannelEntity = defineEntity({
  name: "AccountChannel",
  tableName: "account_channels",
  properties: {
    tenantId: p.string().primary(),
    id: p.uuid().primary(),
    accountId: p.uuid(),
    label: p.string().$type<ChannelLabel>(),
    telephone: p.string().nullable(),
    email: p.string().nullable(),
    website: p.string().nullable(),
    integration: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  primaryKeys: ["tenantId", "id"],
});
export type AccountChannelEntity = InferEntity<typeof AccountChannelEntity>;
