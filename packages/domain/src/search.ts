import { z } from "zod";

import { AccountRef } from "./account.js";
import { exactlyOneIdentity, Id, PageInput } from "./common.js";
import {
  CONTACT_LIMITS,
  ContactField,
  ContactGroup,
  ContactStatus,
  EmailAddress,
  RoleCode,
  TaxId,
} from "./contact.js";

const Fields = z.array(ContactField).min(1).max(ContactField.options.length).optional();
/** A name-like filter: matched case-insensitively as a prefix (`ada` finds Ada and Adams). */
const Prefix = z.string().trim().min(1).max(100);
/** A place filter: matched case-insensitively against any of the contact's addresses. */
const Place = z.string().trim().min(1).max(100);

/** An external id as a lookup key (on a contact it is optional text of the same length). */
export const ExternalIdKey = z.string().trim().min(1).max(CONTACT_LIMITS.text);

/**
 * `contacts.get`: by `{ id }` or by `{ externalId }` (one contact per tenant holds it), exactly one;
 * `fields` projects the answer; `consistentRead` is accepted for compatibility (every read is).
 */
export const ContactGetInput = z
  .strictObject({
    id: Id.optional(),
    externalId: ExternalIdKey.optional(),
    fields: Fields,
    consistentRead: z.boolean().optional(),
  })
  .superRefine(exactlyOneIdentity([["id"], ["externalId"]]));
export type ContactGetInput = z.infer<typeof ContactGetInput>;

export const SortField = z.enum(["lastName", "firstName", "createdAt", "updatedAt"]);
export type SortField = z.infer<typeof SortField>;

export const ContactSort = z.strictObject({
  field: SortField.default("lastName"),
  direction: z.enum(["asc", "desc"]).default("asc"),
});
export type ContactSort = z.infer<typeof ContactSort>;

/**
 * `contacts.search`: the rolodex filters, all given ones combined with AND; free text `q` over
 * names, emails and company name (prefixes and a typo tolerated); a sort with the contact id as
 * tie-breaker; cursor paging; a `fields` projection. Filtering by `taxId` compares the normalised
 * value (separators ignored) through the tenant's blind index and needs `contacts:unmask-tax-id`.
 */
export const ContactSearchInput = z.strictObject({
  ...PageInput.shape,
  ids: z.array(Id).min(1).max(1000).optional(),
  status: z.array(ContactStatus).min(1).max(4).optional(),
  firstName: Prefix.optional(),
  lastName: Prefix.optional(),
  nickname: Prefix.optional(),
  jobTitle: Prefix.optional(),
  role: RoleCode.optional(),
  emailAddress: EmailAddress.optional(),
  accountName: Prefix.optional(),
  /** The contact's group, compared case-insensitively as a whole. */
  group: ContactGroup.optional(),
  accountIds: z.array(Id).min(1).max(1000).optional(),
  numbers: z.array(z.number().int().min(1)).min(1).max(1000).optional(),
  city: Place.optional(),
  state: Place.optional(),
  country: Place.optional(),
  taxId: TaxId.optional(),
  q: z.string().trim().min(3).max(200).optional(),
  sort: ContactSort.optional(),
  fields: Fields,
});
export type ContactSearchInput = z.infer<typeof ContactSearchInput>;

/**
 * `contacts.list`: the contacts of one account (the Rackspace list), named by `accountId` or by
 * `account: { type, key }` (exactly one), filters `role`, `username`, `emailAddress` (any of the
 * contact's emails, case-insensitive); in contact-number order, so a contact added while paging
 * comes after those already there.
 */
export const ContactListInput = z
  .strictObject({
    ...PageInput.shape,
    accountId: Id.optional(),
    account: AccountRef.optional(),
    role: RoleCode.optional(),
    username: z.string().trim().min(1).max(255).optional(),
    emailAddress: EmailAddress.optional(),
    fields: Fields,
  })
  .superRefine(exactlyOneIdentity([["accountId"], ["account"]]));
export type ContactListInput = z.infer<typeof ContactListInput>;

/** `contacts.descendants`: contacts of an account and of all its descendant accounts, paged. */
export const ContactDescendantsInput = z.strictObject({
  ...PageInput.shape,
  accountId: Id,
  fields: Fields,
});
export type ContactDescendantsInput = z.infer<typeof ContactDescendantsInput>;
