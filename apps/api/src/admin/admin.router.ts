import { z } from "zod";
import { TaxIdRevealEntity } from "@contacts/db/entities/tax-id-reveal.entity";
import { Id, TenantId } from "@contacts/domain/common";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import { ALL_PERMISSIONS, Permission } from "@contacts/domain/permissions";
import { ApiKeyInput, TenantInput, TenantSettingsPatch } from "@contacts/domain/tenant";

import { issueApiKey } from "../auth/api-key.service.js";
import { announceTenantChange } from "../auth/principal-changes.js";
import { platformForInput, platformProcedure, procedureWith, requireForInput, router } from "../trpc/init.js";
import { TenantService, createTenantWithKey, toApiKeyView, toTenantView } from "../tenants/tenant.service.js";
import { ApiKeyResponse, ObjectResponse, TenantResponse } from "../rest/responses.js";
import { webhooksRouter } from "./webhooks.router.js";

const admin = procedureWith("admin");

const TenantUpdateInput = z.strictObject({
  tenantId: TenantId.optional(),
  name: z.string().trim().min(1).max(200).optional(),
  settings: TenantSettingsPatch.optional(),
});
type TenantUpdateInput = z.infer<typeof TenantUpdateInput>;

const tenantsRouter = router({
  /** A new tenant with the default roles and a first API key (shown once). Platform tokens only. */
  create: platformProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/admin/tenants",
        summary: "Create a tenant with its first API key (platform token)",
        status: 201,
        platform: true,
        response: ObjectResponse,
      },
    })
    .input(
      z.strictObject({
        tenant: TenantInput,
        apiKey: z
          .strictObject({ name: z.string().trim().min(1).max(100), permissions: z.array(Permission).min(1) })
          .optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const created = await createTenantWithKey(ctx.services.orm.em.fork(), {
        tenant: input.tenant,
        keyName: input.apiKey?.name ?? "initial key",
        permissions: input.apiKey?.permissions ?? ALL_PERMISSIONS,
        createdBy: ctx.platform.subject,
      });
      return { tenantId: created.tenantId, apiKey: created.apiKey };
    }),

  get: admin
    .meta({
      openapi: {
        method: "GET",
        path: "/admin/tenant",
        summary: "The caller's tenant",
        response: TenantResponse,
      },
    })
    .input(z.strictObject({ tenantId: TenantId.optional() }).optional())
    .query(async ({ ctx, input }) => {
      const tenants = new TenantService(ctx.em, ctx.principal.tenantId);
      return toTenantView(await tenants.get(input?.tenantId), await tenants.contactCount());
    }),

  /**
   * Renames the tenant or changes settings. Turning tax IDs always-unmasked on needs
   * `contacts:unmask-tax-id` too (no one grants more than they hold); the limits are the
   * platform's to set (a tenant cannot lift its own quota).
   */
  update: admin
    .meta({
      openapi: {
        method: "PATCH",
        path: "/admin/tenant",
        summary: "Rename the tenant or change its settings",
        description: "The members sent change; the others stay.",
        response: TenantResponse,
      },
    })
    .input(TenantUpdateInput)
    .use(
      requireForInput("contacts:unmask-tax-id", (input) =>
        (input as TenantUpdateInput).settings?.taxIdAlwaysUnmasked === true
          ? "settings.taxIdAlwaysUnmasked"
          : null,
      ),
    )
    .use(
      platformForInput((input) => ((input as TenantUpdateInput).settings?.limits ? "settings.limits" : null)),
    )
    .mutation(async ({ ctx, input }) => {
      const tenants = new TenantService(ctx.em, ctx.principal.tenantId);
      const row = await tenants.update(input.tenantId, input);
      const tenantId = ctx.principal.tenantId;
      // Every other API process forgets the tenant when this commits (the notification), this one at once.
      await announceTenantChange(ctx.em, tenantId);
      ctx.afterCommit.push(() => ctx.services.principals.forgetTenant(tenantId));
      return toTenantView(row, await tenants.contactCount());
    }),
});

const apiKeysRouter = router({
  /** A new key for the caller's tenant; the secret is in the answer only. A key cannot hold more than its creator. */
  create: admin
    .meta({
      openapi: {
        method: "POST",
        path: "/admin/api-keys",
        summary: "A new API key for the caller's tenant (the secret is shown once)",
        status: 201,
        response: ObjectResponse,
      },
    })
    .input(ApiKeyInput)
    .mutation(async ({ ctx, input }) => {
      const missing = input.permissions.findIndex((p) => !ctx.principal.permissions.has(p));
      if (missing >= 0) {
        throw new ContactsError("FORBIDDEN", [
          {
            reason: ErrorReason.forbidden,
            field: `permissions.${missing}`,
            message: "a key cannot get a permission its creator does not hold",
          },
        ]);
      }
      const created = issueApiKey(ctx.em, {
        tenantId: ctx.principal.tenantId,
        name: input.name,
        permissions: input.permissions,
        createdBy: ctx.principal.subject,
        expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
      });
      await ctx.em.flush();
      return created;
    }),

  list: admin
    .meta({
      openapi: {
        method: "GET",
        path: "/admin/api-keys",
        summary: "The tenant's API keys",
        response: z.array(ApiKeyResponse),
      },
    })
    .query(async ({ ctx }) =>
      (await new TenantService(ctx.em, ctx.principal.tenantId).listKeys()).map(toApiKeyView),
    ),

  revoke: admin
    .meta({
      openapi: {
        method: "DELETE",
        path: "/admin/api-keys/{id}",
        summary: "Revoke an API key",
        status: 204,
      },
    })
    .input(z.strictObject({ id: Id }))
    .mutation(async ({ ctx, input }) => {
      const row = await new TenantService(ctx.em, ctx.principal.tenantId).revokeKey(input.id);
      // Forgotten once the revocation is committed: a request between the two would cache the key again.
      const tenantId = ctx.principal.tenantId;
      await announceTenantChange(ctx.em, tenantId);
      ctx.afterCommit.push(() => ctx.services.principals.forgetTenant(tenantId));
      return toApiKeyView(row);
    }),
});

export const adminRouter = router({
  tenants: tenantsRouter,
  apiKeys: apiKeysRouter,
  webhooks: webhooksRouter,

  /** Who saw which contact's tax ID unmasked, and when (newest first). */
  taxIdReveals: admin
    .meta({
      openapi: {
        method: "GET",
        path: "/admin/tax-id-reveals",
        summary: "Who saw which contact's tax ID unmasked, newest first",
        response: z.array(ObjectResponse),
      },
    })
    .input(
      z
        .strictObject({ contactId: Id.optional(), limit: z.number().int().min(1).max(1000).default(100) })
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.em.find(
        TaxIdRevealEntity,
        { tenantId: ctx.principal.tenantId, ...(input?.contactId ? { contactId: input.contactId } : {}) },
        { orderBy: { revealedAt: "desc", id: "asc" }, limit: input?.limit ?? 100 },
      );
      return rows.map((r) => ({
        id: r.id,
        contactId: r.contactId,
        revealedBy: r.revealedBy,
        revealedAt: r.revealedAt.toISOString(),
        requestId: r.requestId ?? null,
        via: r.via,
      }));
    }),
});
