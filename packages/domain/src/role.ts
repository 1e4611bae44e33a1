import { z } from "zod";

import { RoleCode } from "./contact.js";

/** Every new tenant's role catalogue starts with these. */
export const DEFAULT_ROLES = ["PRIMARY", "BILLING", "TECHNICAL", "ADMINISTRATIVE"] as const;

export const RoleInput = z.strictObject({
  code: RoleCode,
  description: z.string().trim().max(255).nullish(),
});
export type RoleInput = z.input<typeof RoleInput>;
export type Role = z.output<typeof RoleInput> & { createdAt: string };
