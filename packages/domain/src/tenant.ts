import { z } from "zod";

import { TenantId } from "./common.js";

export const TenantSettings = z.strictObject({
  /** When true, tax IDs are returned unmasked to every caller of the tenant. */
  taxIdAlwaysUnmasked: z.boolean().default(false),
  limits: z
    .strictObject({
      /** Maximum number of contacts; null for no limit. */
      contacts: z.number().int().min(0).nullable().default(null),
      requestsPerMinute: z.number().int().min(1).max(1_000_000).default(6_000),
    })
    .default({ contacts: null, requestsPerMinute: 6_000 }),
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
