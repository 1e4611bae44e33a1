import { z } from "zod";
import {
  AccountGetInput,
  AccountInput,
  AccountListInput,
  ChannelInput,
  ChannelPatchInput,
} from "@contacts/domain/account";
import { Id } from "@contacts/domain/common";

import type { EntityManager } from "@mikro-orm/postgresql";

import type { ContactViewer } from "../contacts/contact.dto.js";
import type { ApiServices } from "../services.js";
import { procedureWith, router } from "../trpc/init.js";
import { ContactService } from "../contacts/contact.service.js";
import { AccountService, toAccountView, toChannelView } from "./account.service.js";
import { AccountResponse, ChannelResponse, pageOf } from "../rest/responses.js";

const ExpectedVersion = z.number().int().min(1).optional();

const read = procedureWith("accounts:read");
const write = procedureWith("accounts:write");

/**
 * After a channel change, in the same transaction: contacts linked to the account's phone follow it
 * (`linkWorkPhoneToAccount`).
 */
async function followAccountPhone(
  ctx: { em: EntityManager; viewer: ContactViewer; services: ApiServices },
  accountId: string,
): Promise<void> {
  await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).followAccountPhone(accountId);
}

/** The contact channels of one account (`accountId`); an unknown account is a 404 on `accountId`. */
const channelsRouter = router({
  add: write
    .meta({
      openapi: {
        method: "POST",
        path: "/accounts/{accountId}/channels",
        summary: "Add a contact channel to an account",
        status: 201,
        body: "channel",
        location: "/accounts/{accountId}/channels/{id}",
        response: ChannelResponse,
      },
    })
    .input(z.strictObject({ accountId: Id, channel: ChannelInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new AccountService(ctx.em, ctx.principal).addChannel(input.accountId, input.channel);
      await followAccountPhone(ctx, input.accountId);
      return toChannelView(row);
    }),

  /** Changes the given fields; the others stay. The result must still be a valid channel. */
  update: write
    .meta({
      openapi: {
        method: "PATCH",
        path: "/accounts/{accountId}/channels/{id}",
        summary: "Change some fields of a channel",
        description: "The members sent change; the others stay.",
        body: "channel",
        response: ChannelResponse,
      },
    })
    .input(z.strictObject({ accountId: Id, id: Id, channel: ChannelPatchInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new AccountService(ctx.em, ctx.principal).updateChannel(
        input.accountId,
        input.id,
        input.channel,
      );
      await followAccountPhone(ctx, input.accountId);
      return toChannelView(row);
    }),

  remove: write
    .meta({
      openapi: {
        method: "DELETE",
        path: "/accounts/{accountId}/channels/{id}",
        summary: "Remove a channel",
        status: 204,
      },
    })
    .input(z.strictObject({ accountId: Id, id: Id }))
    .mutation(async ({ ctx, input }) => {
      await new AccountService(ctx.em, ctx.principal).removeChannel(input.accountId, input.id);
      await followAccountPhone(ctx, input.accountId);
      return { id: input.id, removed: true as const };
    }),

  removeAll: write
    .meta({
      openapi: {
        method: "DELETE",
        path: "/accounts/{accountId}/channels",
        summary: "Remove every channel of an account",
        status: 204,
      },
    })
    .input(z.strictObject({ accountId: Id }))
    .mutation(async ({ ctx, input }) => {
      const removed = await new AccountService(ctx.em, ctx.principal).removeAllChannels(input.accountId);
      await followAccountPhone(ctx, input.accountId);
      return { removed };
    }),

  /** One channel of the account (404 on `accountId`, then on `id`, when either is not the tenant's). */
  get: read
    .meta({
      openapi: {
        method: "GET",
        path: "/accounts/{accountId}/channels/{id}",
        summary: "One channel of an account",
        response: ChannelResponse,
      },
    })
    .input(z.strictObject({ accountId: Id, id: Id }))
    .query(async ({ ctx, input }) =>
      toChannelView(await new AccountService(ctx.em, ctx.principal).getChannel(input.accountId, input.id)),
    ),

  /** Every channel of the account, oldest first. */
  list: read
    .meta({
      openapi: {
        method: "GET",
        path: "/accounts/{accountId}/channels",
        summary: "Every channel of an account, oldest first",
        response: z.array(ChannelResponse),
      },
    })
    .input(z.strictObject({ accountId: Id }))
    .query(async ({ ctx, input }) =>
      (await new AccountService(ctx.em, ctx.principal).listChannels(input.accountId)).map(toChannelView),
    ),
});

export const accountsRouter = router({
  create: write
    .meta({
      openapi: {
        method: "POST",
        path: "/accounts",
        summary: "Create an account",
        status: 201,
        body: "account",
        location: "/accounts/{id}",
        etag: true,
        response: AccountResponse,
      },
    })
    .input(z.strictObject({ account: AccountInput }))
    .mutation(async ({ ctx, input }) =>
      toAccountView(await new AccountService(ctx.em, ctx.principal).create(input.account)),
    ),

  /** By `{ id }` or by `{ type, key }` (Rackspace `customer_accounts/{accountType}/{accountId}`). */
  get: read
    .meta({
      openapi: [
        {
          method: "GET",
          path: "/accounts/by-key/{type}/{key}",
          operationId: "accountsGetByKey",
          summary: "Get an account by its type and key",
          omit: ["id"],
          etag: true,
          response: AccountResponse,
        },
        {
          method: "GET",
          path: "/accounts/{id}",
          summary: "Get an account",
          omit: ["type", "key"],
          etag: true,
          response: AccountResponse,
        },
      ],
    })
    .input(AccountGetInput)
    .query(async ({ ctx, input }) =>
      toAccountView(await new AccountService(ctx.em, ctx.principal).lookup(input)),
    ),

  /**
   * Full replace of type, key, name, parent and address; a stale `expectedVersion` is a 412. Contacts
   * linked to the account's address follow it in the same transaction (`linkWorkAddressToAccount`).
   */
  update: write
    .meta({
      openapi: {
        method: "PUT",
        path: "/accounts/{id}",
        summary: "Replace an account",
        body: "account",
        ifMatch: true,
        etag: true,
        response: AccountResponse,
      },
    })
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion, account: AccountInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new AccountService(ctx.em, ctx.principal).replace(
        input.id,
        input.expectedVersion,
        input.account,
      );
      await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).followAccountAddress(input.id);
      return toAccountView(row);
    }),

  /** Refused (409 `referenced`, with counts) while contacts or child accounts point at the account. */
  delete: write
    .meta({
      openapi: {
        method: "DELETE",
        path: "/accounts/{id}",
        summary: "Delete an account",
        description: "409 `referenced` while contacts or child accounts point at it.",
        status: 204,
        ifMatch: true,
      },
    })
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion }))
    .mutation(async ({ ctx, input }) => {
      await new AccountService(ctx.em, ctx.principal).delete(input.id, input.expectedVersion);
      return { id: input.id, deleted: true as const };
    }),

  /** One page of accounts, oldest first; filters `parentId` (null: top-level) and `type`. */
  list: read
    .meta({
      openapi: {
        method: "GET",
        path: "/accounts",
        summary: "List accounts, oldest first",
        description: "`parentId=` (empty) lists the top-level accounts.",
        cursorParam: "cursor",
        response: pageOf(AccountResponse),
      },
    })
    .input(AccountListInput)
    .query(async ({ ctx, input }) => {
      const page = await new AccountService(ctx.em, ctx.principal).list(input);
      return { items: page.rows.map(toAccountView), nextCursor: page.nextCursor };
    }),

  /**
   * Deletes every contact of the account in one transaction (`contacts:delete`); refused (409) while
   * one of them is locked or referenced from outside the account. Answers with nothing.
   */
  removeContacts: procedureWith("contacts:delete")
    .meta({
      openapi: {
        method: "DELETE",
        path: "/accounts/{accountId}/contacts",
        summary: "Delete every contact of an account",
        status: 204,
      },
    })
    .input(z.strictObject({ accountId: Id }))
    .mutation(async ({ ctx, input }): Promise<null> => {
      await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).removeAccountContacts(input.accountId);
      return null;
    }),

  channels: channelsRouter,
});
