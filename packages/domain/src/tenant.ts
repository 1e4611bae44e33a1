import { z } from "zod";

import { TenantId } from "./common.js";
import { Permission } from "./permissions.js";

/** Limits on work a tenant's callers can start, when its settings name none. */
export const DEFAULT_TENANT_LIMITS = { imports: 3, exports: 2 } as const;

export const TenantSettings = z.strictObject({
  /** When true, tax IDs are returned unmasked to every caller of the tenant. */
  taxIdAlwaysUnmasked: z.boolean().default(false),
  limits: z
    .strictObject({
      /** Maximum number of contacts; null for no limit. */
      contacts: z.number().int().min(0).nullable().default(null),
      requestsPerMinute: z.number().int().min(1).max(1_000_000).default(6_000),
      /** Imports queued or running at once (default 3); a further upload is 429 until one ends. */
      imports: z.number().int().min(1).max(100).optional(),
      /** CSV exports streaming at once per API process (default 2); a further one is 429 until one ends. */
      exports: z.number().int().min(1).max(100).optional(),
    })
    .default({ contacts: null, requestsPerMinute: 6_000 }),
  /** Extra rules on new contacts; absent (every rule off) until a caller sets one. */
  validation: z
    .strictObject({
      /**
       * Guidewire's minimum creation criteria: a new contact (API create or import insert) needs a
       * primary address with line 1, city, state and postal code (`primaryAddressErrors`).
       */
      requirePrimaryAddress: z.boolean().default(false),
    })
    .optional(),
  /** Webhook deliveries; absent (private targets refused) until a caller sets it. */
  webhooks: z
    .strictObject({
      /**
       * Lets endpoints resolve to loopback, link-local or private addresses (a receiver inside
       * the tenant's own network, or a test's on loopback). Off: such a delivery is refused.
       */
      allowPrivateTargets: z.boolean().default(false),
    })
    .optional(),
});
export type TenantSettings = z.output<typeof TenantSettings>;

export const TenantInput = z.strictObject({
  id: TenantId,
  name: z.string().trim().min(1).max(200),
  settings: TenantSettings.default({
    taxIdAlwaysUnmasked: false,
    limits: { contacts: null, requestsPerMinute: 6_000 },
  }),
});
export type TenantInput = z.input<typeof TenantInput>;
export type Tenant = z.output<typeof TenantInput> & { createdAt: string };

/** `admin.tenants.update`: the settings to change; what is left out keeps its value. */
export const TenantSettingsPatch = z.strictObject({
  taxIdAlwaysUnmasked: z.boolean().optional(),
  limits: z
    .strictObject({
      contacts: z.number().int().min(0).nullable().optional(),
      requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
      imports: z.number().int().min(1).max(100).optional(),
      exports: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  validation: z.strictObject({ requirePrimaryAddress: z.boolean().optional() }).optional(),
  webhooks: z.strictObject({ allowPrivateTargets: z.boolean().optional() }).optional(),
});
export type TenantSettingsPatch = z.infer<typeof TenantSettingsPatch>;

/** Applies a settings patch. */
export function patchTenantSettings(settings: TenantSettings, patch: TenantSettingsPatch): TenantSettings {
  const requirePrimaryAddress =
    patch.validation?.requirePrimaryAddress ?? settings.validation?.requirePrimaryAddress;
  const allowPrivateTargets = patch.webhooks?.allowPrivateTargets ?? settings.webhooks?.allowPrivateTargets;
  return {
    taxIdAlwaysUnmasked: patch.taxIdAlwaysUnmasked ?? settings.taxIdAlwaysUnmasked,
    limits: {
      contacts: patch.limits?.contacts === undefined ? settings.limits.contacts : patch.limits.contacts,
      requestsPerMinute: patch.limits?.requestsPerMinute ?? settings.limits.requestsPerMinute,
      // Set only once a caller sets them (the defaults apply until then).
      ...optionalLimit("imports", patch.limits?.imports ?? settings.limits.imports),
      ...optionalLimit("exports", patch.limits?.exports ?? settings.limits.exports),
    },
    // Set only once a caller sets it, like the optional limits.
    ...(requirePrimaryAddress === undefined ? {} : { validation: { requirePrimaryAddress } }),
    ...(allowPrivateTargets === undefined ? {} : { webhooks: { allowPrivateTargets } }),
  };
}

/** Whether the tenant's webhook endpoints may resolve to private, loopback or link-local addresses. */
export function allowsPrivateWebhookTargets(settings: Pick<TenantSettings, "webhooks">): boolean {
  return settings.webhooks?.allowPrivateTargets ?? false;
}

/** Whether the tenant's new contacts need a complete primary address (off unless set). */
export function requiresPrimaryAddress(settings: Pick<TenantSettings, "validation">): boolean {
  return settings.validation?.requirePrimaryAddress ?? false;
}

function optionalLimit<K extends keyof typeof DEFAULT_TENANT_LIMITS>(
  key: K,
  value: number | undefined,
): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, number>>);
}

/** A limit on concurrent work, from settings stored before it existed too (its default then). */
export function tenantLimit(settings: TenantSettings, limit: keyof typeof DEFAULT_TENANT_LIMITS): number {
  return settings.limits[limit] ?? DEFAULT_TENANT_LIMITS[limit];
}

/** `admin.apiKeys.create`: a name, the permissions (at least one, no repeats), an optional expiry in the future. */
export const ApiKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(100),
  permissions: z
    .array(Permission)
    .min(1)
    .refine((list) => new Set(list).size === list.length, "permissions are listed twice"),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((v) => Date.parse(v) > Date.now(), "must be in the future")
    .optional(),
});
export type ApiKeyInput = z.infer<typeof ApiKeyInput>;
