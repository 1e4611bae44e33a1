import { z } from "zod";

/** The permission catalogue. Base procedures check these; handlers never do it by hand. */
export const Permission = z.enum([
  "contacts:read",
  "contacts:write",
  "contacts:delete",
  "contacts:unmask-tax-id",
  "contacts:unlock",
  "accounts:read",
  "accounts:write",
  "imports:write",
  "admin",
]);
export type Permission = z.infer<typeof Permission>;

/** Every permission; what the development key of the demo tenant gets. */
export const ALL_PERMISSIONS: readonly Permission[] = Permission.options;
