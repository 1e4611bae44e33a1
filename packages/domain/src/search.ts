import { z } from "zod";

import { Id, PageInput } from "./common.js";
import { ContactField, ContactStatus, EmailAddress, TaxId } from "./contact.js";

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
  taxId: TaxId.optional(),
  fields: z.array(ContactField).min(1).max(ContactField.options.length).optional(),
});
export type ContactSearchInput = z.infer<typeof ContactSearchInput>;
