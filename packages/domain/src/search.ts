import { z } from "zod";

import { Id, PageInput } from "./common.js";
import { ContactField, ContactStatus, EmailAddress } from "./contact.js";

/**
 * `contacts.search`: filters (all given filters must match), cursor paging in contact-number order,
 * and a `fields` projection. Filtering by `taxId` compares the normalised value (separators
 * ignored) through the tenant's blind index and needs `contacts:unmask-tax-id`.
 */
export const ContactSearchInput = z.strictObject({
  ...PageInput.shape,
  ids: z.array(Id).min(1).max(1000).optional(),
  status: ContactStatus.optional(),
  emailAddress: EmailAddress.optional(),
  taxId: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .refine((v) => /[\p{L}\p{N}]/u.test(v), "must contain a letter or digit")
    .optional(),
  fields: z.array(ContactField).min(1).max(ContactField.options.length).optional(),
});
export type ContactSearchInput = z.infer<typeof ContactSearchInput>;
