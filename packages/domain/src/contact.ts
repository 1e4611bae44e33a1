import { z } from "zod";

import { Audit, ContactPointLabel, Id, optionalText } from "./common.js";
import { isValidEmail, normalizeEmail } from "./email.js";
import { ErrorReason, isReadOnlyContactKey } from "./errors.js";
import type { FieldError } from "./errors.js";
import { normalizePhone } from "./phone.js";

/** Limits on a contact's lists and text, in one place. */
export const CONTACT_LIMITS = {
  name: 100,
  text: 255,
  notes: 10_000,
  emails: 20,
  phones: 20,
  addresses: 10,
  roles: 20,
  userIds: 20,
  portalDelegates: 100,
  customFields: 100,
  customFieldValue: 1_000,
  url: 2_048,
  communicationPreferences: 50,
} as const;

export const ContactSubtype = z.enum(["person", "company"]);
export type ContactSubtype = z.infer<typeof ContactSubtype>;

export const ContactStatus = z.enum(["active", "inactive", "duplicate", "deceased"]);
export type ContactStatus = z.infer<typeof ContactStatus>;

/** A role code from the tenant's catalogue, e.g. `PRIMARY`. */
export const RoleCode = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,49}$/, "upper-case letters, digits and underscores, starting with a letter");
export type RoleCode = z.infer<typeof RoleCode>;

/** An email address a mail system would deliver to (see isValidEmail). */
export const EmailAddress = z
  .string()
  .trim()
  .min(1)
  .max(254)
  .refine(isValidEmail, {
    message: "not a deliverable email address",
    params: { reason: ErrorReason.invalid },
  });

export const EmailInput = z.strictObject({
  address: EmailAddress,
  label: ContactPointLabel.default("work"),
  primary: z.boolean().default(false),
});
export type EmailInput = z.input<typeof EmailInput>;
export type Email = z.output<typeof EmailInput>;

/** A contact's group (Linode's managed-contact `group`, 2..50 characters; display and filtering only). */
export const ContactGroup = z.string().trim().min(2).max(50);

/** Rackspace's phone mask: `#` for each digit (at least one), with digits, spaces and `()+-./x` around. */
const PHONE_MASK = /^[#0-9 ()+\-./x]*#[#0-9 ()+\-./x]*$/;

/** A phone as sent by a caller. `e164`, `valid` and `extension` are derived and ignored on input. */
export const PhoneInput = z.strictObject({
  number: z.string().trim().min(1).max(64),
  label: ContactPointLabel.default("work"),
  primary: z.boolean().default(false),
  /** ISO 3166-1 alpha-2 region to read a number without `+` in; defaults to the primary address's country. */
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, "ISO 3166-1 alpha-2 code")
    .transform((c) => c.toUpperCase())
    .nullish(),
  e164: z.string().nullish(),
  valid: z.boolean().optional(),
  extension: z.string().nullish(),
  smsVerified: z.boolean().default(false),
  /**
   * Rackspace's display `mask`, e.g. `(###)-###-####`: how the number is shown, `#` for each digit.
   * Kept and returned as sent; the number itself is stored as typed, with its E.164 form.
   */
  mask: optionalText(64).refine((v) => v === null || PHONE_MASK.test(v), {
    message: "a display pattern of # (one per digit), digits, spaces and ()+-./x",
  }),
});
export type PhoneInput = z.input<typeof PhoneInput>;

const MonthDay = z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "MM-DD");

export const AddressInput = z.strictObject({
  line1: optionalText(CONTACT_LIMITS.text),
  line2: optionalText(CONTACT_LIMITS.text),
  city: optionalText(CONTACT_LIMITS.name),
  state: optionalText(CONTACT_LIMITS.name),
  postalCode: optionalText(20),
  country: optionalText(CONTACT_LIMITS.name),
  label: ContactPointLabel.default("home"),
  primary: z.boolean().default(false),
  seasonalStart: MonthDay.nullish().transform((v) => v ?? null),
  seasonalEnd: MonthDay.nullish().transform((v) => v ?? null),
});
export type AddressInput = z.input<typeof AddressInput>;
export type Address = z.output<typeof AddressInput>;

export const SocialLinks = z.strictObject({
  website: optionalText(CONTACT_LIMITS.text),
  linkedin: optionalText(CONTACT_LIMITS.text),
  twitter: optionalText(CONTACT_LIMITS.text),
  facebook: optionalText(CONTACT_LIMITS.text),
  instagram: optionalText(CONTACT_LIMITS.text),
});
export type SocialLinks = z.output<typeof SocialLinks>;

export const NotificationPreferences = z.strictObject({
  doNotCall: z.boolean().default(false),
  doNotEmail: z.boolean().default(false),
  doNotFax: z.boolean().default(false),
  doNotMail: z.boolean().default(false),
  doNotSurvey: z.boolean().default(false),
});
export type NotificationPreferences = z.output<typeof NotificationPreferences>;

export const CustomFieldValue = z.union([
  z.string().max(CONTACT_LIMITS.customFieldValue),
  z.number(),
  z.boolean(),
  z.null(),
]);
export const CustomFields = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "a letter then letters, digits or _"),
    CustomFieldValue,
  )
  .refine((r) => Object.keys(r).length <= CONTACT_LIMITS.customFields, {
    message: `at most ${CONTACT_LIMITS.customFields} custom fields`,
    params: { reason: ErrorReason.tooBig },
  });
export type CustomFields = z.output<typeof CustomFields>;

const TAX_ID_MESSAGE = "digits, letters and - . / separators";

/** Tax identifier as stored: digits, letters and the separators `- . / space`; never a masked value. */
export const TaxId = z
  .string()
  .trim()
  .min(4)
  .max(32)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ./-]*$/, TAX_ID_MESSAGE);

/**
 * On a replace, the tax ID may also be the masked value the caller read (`***-**-6789`), meaning
 * "unchanged"; the service checks it against the stored value.
 */
const TaxIdOrMasked = z
  .string()
  .trim()
  .min(4)
  .max(32)
  .regex(/^[A-Za-z0-9*][A-Za-z0-9* ./-]*$/, TAX_ID_MESSAGE);

/** An image's address: an absolute http(s) URL (parsed by zod's `z.url`, i.e. WHATWG `URL`). */
export const ImageUrl = z
  .url({ protocol: /^https?$/, message: "an absolute http or https URL" })
  .max(CONTACT_LIMITS.url);

/** A communication type a contact is subscribed to (`newsletter`, `Product updates`): no `;`, the CSV list separator. */
export const CommunicationType = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^;]+$/, "no ; (the CSV list separator)");

/**
 * A moment as ISO 8601 with an offset (`2019-08-24T14:15:22Z`, `...+02:00`), stored and returned in
 * UTC with milliseconds (`2019-08-24T14:15:22.000Z`): a document reads back as it was written.
 */
const Timestamp = z.iso
  .datetime({ offset: true })
  .nullish()
  .transform((v) => (v === undefined || v === null ? null : new Date(v).toISOString()));

function uniqueList<T extends z.ZodType>(item: T, max: number) {
  return z
    .array(item)
    .max(max)
    .default([])
    .refine((list) => new Set(list.map((v) => JSON.stringify(v))).size === list.length, {
      message: "items must be unique",
      params: { reason: ErrorReason.duplicate },
    });
}

/**
 * Every field a caller may set on a contact. Server-managed fields (id, number, version, audit,
 * provenance, mergedIds) are rejected with reason `server_managed`; unknown fields with `unknown_field`.
 */
function contactShape(taxId: typeof TaxId) {
  return {
    subtype: ContactSubtype,
    prefix: optionalText(20),
    /** How a letter greets the contact (`Dear Dr. Lovelace`); the rolodex's `salutation`. */
    salutation: optionalText(CONTACT_LIMITS.name),
    firstName: optionalText(CONTACT_LIMITS.name),
    middleName: optionalText(CONTACT_LIMITS.name),
    lastName: optionalText(CONTACT_LIMITS.name),
    suffix: optionalText(20),
    nickname: optionalText(CONTACT_LIMITS.name),
    maidenName: optionalText(CONTACT_LIMITS.name),
    credentials: optionalText(CONTACT_LIMITS.name),
    jobTitle: optionalText(CONTACT_LIMITS.text),
    companyName: optionalText(CONTACT_LIMITS.text),
    username: optionalText(CONTACT_LIMITS.name),
    group: ContactGroup.nullish().transform((v) => v ?? null),
    accountId: Id.nullish().transform((v) => v ?? null),
    /** Rolodex `link_work_address_to_organization`: the work address follows the account's address. */
    linkWorkAddressToAccount: z.boolean().default(false),
    /** Rolodex `link_work_phone_number_to_organization`: the work phone follows the account's general telephone. */
    linkWorkPhoneToAccount: z.boolean().default(false),
    roles: uniqueList(RoleCode, CONTACT_LIMITS.roles),
    emails: z.array(EmailInput).max(CONTACT_LIMITS.emails).default([]),
    phones: z.array(PhoneInput).max(CONTACT_LIMITS.phones).default([]),
    addresses: z.array(AddressInput).max(CONTACT_LIMITS.addresses).default([]),
    preferredPhoneLabel: ContactPointLabel.nullish().transform((v) => v ?? null),
    preferredAddressLabel: ContactPointLabel.nullish().transform((v) => v ?? null),
    taxId: taxId.nullish().transform((v) => v ?? null),
    gender: optionalText(50),
    pronouns: optionalText(50),
    dateOfBirth: z.iso
      .date()
      .nullish()
      .transform((v) => v ?? null),
    dateOfDeath: z.iso
      .date()
      .nullish()
      .transform((v) => v ?? null),
    status: ContactStatus.default("active"),
    notes: optionalText(CONTACT_LIMITS.notes),
    social: SocialLinks.default({
      website: null,
      linkedin: null,
      twitter: null,
      facebook: null,
      instagram: null,
    }),
    notificationPreferences: NotificationPreferences.default({
      doNotCall: false,
      doNotEmail: false,
      doNotFax: false,
      doNotMail: false,
      doNotSurvey: false,
    }),
    /** The communication types the contact is subscribed to. */
    communicationPreferences: uniqueList(CommunicationType, CONTACT_LIMITS.communicationPreferences),
    /** When the contact last confirmed those preferences. */
    communicationPreferencesLastConfirmed: Timestamp,
    /** When the contact's profile was last brought up to date (a business date, not `updatedAt`). */
    dateProfileLastUpdated: Timestamp,
    imageUrl: ImageUrl.nullish().transform((v) => v ?? null),
    userIds: uniqueList(z.string().trim().min(1).max(CONTACT_LIMITS.text), CONTACT_LIMITS.userIds),
    portalDelegates: uniqueList(Id, CONTACT_LIMITS.portalDelegates),
    spouseId: Id.nullish().transform((v) => v ?? null),
    customFields: CustomFields.default({}),
    externalId: optionalText(CONTACT_LIMITS.text),
    originService: optionalText(CONTACT_LIMITS.name),
    locked: z.boolean().default(false),
    integration: z.boolean().default(false),
  };
}

type RawContact = z.output<z.ZodObject<ReturnType<typeof contactShape>>>;

function checkPrimary(list: readonly { primary: boolean }[], field: string, ctx: z.RefinementCtx): void {
  let seen = false;
  list.forEach((item, i) => {
    if (!item.primary) return;
    if (seen) {
      ctx.addIssue({
        code: "custom",
        path: [field, i, "primary"],
        message: `at most one ${field} item may be primary`,
        params: { reason: ErrorReason.multiplePrimary },
      });
    }
    seen = true;
  });
}

function required(ctx: z.RefinementCtx, field: string, message: string): void {
  ctx.addIssue({ code: "custom", path: [field], message, params: { reason: ErrorReason.required } });
}

function checkContact(c: RawContact, ctx: z.RefinementCtx): void {
  if (c.subtype === "person") {
    if (!c.firstName) required(ctx, "firstName", "a person needs a first name");
    if (!c.lastName) required(ctx, "lastName", "a person needs a last name");
  } else if (!c.companyName) {
    required(ctx, "companyName", "a company needs a company name");
  }
  checkPrimary(c.emails, "emails", ctx);
  checkPrimary(c.phones, "phones", ctx);
  checkPrimary(c.addresses, "addresses", ctx);
  if (c.preferredPhoneLabel && !c.phones.some((p) => p.label === c.preferredPhoneLabel)) {
    ctx.addIssue({
      code: "custom",
      path: ["preferredPhoneLabel"],
      message: "no phone has this label",
      params: { reason: ErrorReason.invalid },
    });
  }
  if (c.preferredAddressLabel && !c.addresses.some((a) => a.label === c.preferredAddressLabel)) {
    ctx.addIssue({
      code: "custom",
      path: ["preferredAddressLabel"],
      message: "no address has this label",
      params: { reason: ErrorReason.invalid },
    });
  }
  const today = new Date().toISOString().slice(0, 10);
  if (c.dateOfBirth && c.dateOfBirth > today) {
    ctx.addIssue({
      code: "custom",
      path: ["dateOfBirth"],
      message: "date of birth is in the future",
      params: { reason: ErrorReason.invalid },
    });
  }
  if (c.dateOfBirth && c.dateOfDeath && c.dateOfDeath < c.dateOfBirth) {
    ctx.addIssue({
      code: "custom",
      path: ["dateOfDeath"],
      message: "date of death is before date of birth",
      params: { reason: ErrorReason.invalid },
    });
  }
  // A confirmation or profile update cannot have happened yet (a few minutes of clock skew allowed).
  const soon = new Date(Date.now() + 5 * 60_000).toISOString();
  for (const field of ["communicationPreferencesLastConfirmed", "dateProfileLastUpdated"] as const) {
    const value = c[field];
    if (value && value > soon) {
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: "is in the future",
        params: { reason: ErrorReason.invalid },
      });
    }
  }
  const emails = c.emails.map((e) => normalizeEmail(e.address));
  emails.forEach((e, i) => {
    if (emails.indexOf(e) !== i) {
      ctx.addIssue({
        code: "custom",
        path: ["emails", i, "address"],
        message: "the same address is listed twice",
        params: { reason: ErrorReason.duplicate },
      });
    }
  });
}

/** The primary address's country when it is an ISO alpha-2 code: the region for phones typed without `+`. */
function defaultPhoneRegion(addresses: readonly Address[]): string | null {
  const address = addresses.find((a) => a.primary) ?? addresses[0];
  const country = address?.country?.toUpperCase() ?? null;
  return country && /^[A-Z]{2}$/.test(country) ? country : null;
}

function normalizeContact(c: RawContact) {
  const region = defaultPhoneRegion(c.addresses);
  return {
    ...c,
    phones: c.phones.map((p) => {
      const n = normalizePhone(p.number, { region: p.country ?? region });
      return {
        number: n.number,
        e164: n.e164,
        valid: n.valid,
        country: p.country ?? n.country,
        extension: n.extension,
        label: p.label,
        primary: p.primary,
        smsVerified: p.smsVerified,
        mask: p.mask,
      };
    }),
  };
}

/**
 * Server-managed keys (id, number, version, audit, provenance, mergedIds) are reported as
 * `server_managed` wherever the contact document sits in a request, then dropped so they are not
 * reported a second time as unknown fields.
 */
function rejectServerManaged(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of Object.keys(copy)) {
    if (!isReadOnlyContactKey(key)) continue;
    ctx.addIssue({
      code: "custom",
      path: [key],
      message: `${key} is set by the server`,
      params: { reason: ErrorReason.serverManaged },
      input: copy[key],
    });
  }
  return Object.fromEntries(Object.entries(copy).filter(([key]) => !isReadOnlyContactKey(key)));
}

function contactSchema(taxId: typeof TaxId) {
  const schema = z.strictObject(contactShape(taxId)).superRefine(checkContact).transform(normalizeContact);
  // The rest is validated even when server-managed keys were sent, so every problem comes back in one
  // answer (issues raised in a preprocess would stop the pipe before the schema runs).
  const checked = z.unknown().transform((value, ctx) => {
    const result = schema.safeParse(rejectServerManaged(value, ctx), { reportInput: true });
    if (result.success) return result.data;
    for (const issue of result.error.issues) ctx.addIssue(issue as z.core.$ZodRawIssue);
    return z.NEVER;
  });
  // The wrapper would widen the input type to unknown; callers (and the typed client) keep the real one.
  return checked as unknown as typeof schema;
}

/**
 * A contact as a caller sends it on create. Parsing validates every rule (subtype, primaries,
 * formats, limits) and normalizes (trimmed text, E.164 phones, nulls for absent values), so the
 * output is the complete editable document.
 */
export const ContactInput = contactSchema(TaxId);
/** A contact as sent on full replace: as on create, but the tax ID may be the masked value read before. */
export const ContactReplaceInput = contactSchema(TaxIdOrMasked);
export type ContactInput = z.input<typeof ContactInput>;
/** The editable part of a stored contact, fully normalized. */
export type ContactData = z.output<typeof ContactInput>;
export type Phone = ContactData["phones"][number];

/**
 * A contact linked to its account's phone (`linkWorkPhoneToAccount`, with an account): its work
 * phones become one, the account's telephone (normalized as any phone, primary if a replaced one
 * was, in the place of the first). Unchanged (the same object) when not linked, when the account has
 * no telephone (the contact keeps the work phone it had), or when the work phone is already it.
 */
export function followAccountPhone(data: ContactData, accountPhone: string | null): ContactData {
  if (!data.linkWorkPhoneToAccount || !data.accountId || !accountPhone) return data;
  const work = data.phones.filter((p) => p.label === "work");
  const only: Phone | undefined = work.length === 1 ? work[0] : undefined;
  const n = normalizePhone(accountPhone, { region: defaultPhoneRegion(data.addresses) });
  const phone: Phone = {
    number: n.number,
    e164: n.e164,
    valid: n.valid,
    country: n.country,
    extension: n.extension,
    label: "work",
    primary: work.some((p) => p.primary),
    smsVerified: only?.number === n.number ? only.smsVerified : false,
    // How the work phone was shown stays (a display pattern, not part of the number).
    mask: only?.mask ?? null,
  };
  if (work.length === 1 && JSON.stringify(work[0]) === JSON.stringify(phone)) return data;
  const first = data.phones.findIndex((p) => p.label === "work");
  const others = data.phones.filter((p) => p.label !== "work");
  if (first < 0 && others.length >= CONTACT_LIMITS.phones) return data;
  const at = first < 0 ? others.length : data.phones.slice(0, first).filter((p) => p.label !== "work").length;
  return { ...data, phones: [...others.slice(0, at), phone, ...others.slice(at)] };
}

/** An account's postal address as a linked contact follows it (`AccountAddress` in account.ts). */
export type AccountPostalAddress = Pick<
  Address,
  "line1" | "line2" | "city" | "state" | "postalCode" | "country"
>;

/**
 * A contact linked to its account's address (`linkWorkAddressToAccount`, with an account): its work
 * addresses become one, the account's address (labelled `work`, primary if a replaced one was, no
 * seasonal dates, in the place of the first). Unchanged (the same object) when not linked, when the
 * account has no address (the contact keeps the work address it had), or when the work address is
 * already it.
 */
export function followAccountAddress(
  data: ContactData,
  accountAddress: AccountPostalAddress | null,
): ContactData {
  if (!data.linkWorkAddressToAccount || !data.accountId || !accountAddress) return data;
  const work = data.addresses.filter((a) => a.label === "work");
  const address: Address = {
    line1: accountAddress.line1 ?? null,
    line2: accountAddress.line2 ?? null,
    city: accountAddress.city ?? null,
    state: accountAddress.state ?? null,
    postalCode: accountAddress.postalCode ?? null,
    country: accountAddress.country ?? null,
    label: "work",
    primary: work.some((a) => a.primary),
    seasonalStart: null,
    seasonalEnd: null,
  };
  const keys = Object.keys(address) as (keyof Address)[];
  const same = work.length === 1 && keys.every((k) => (work[0]?.[k] ?? null) === address[k]);
  if (same) return data;
  const first = data.addresses.findIndex((a) => a.label === "work");
  const others = data.addresses.filter((a) => a.label !== "work");
  if (first < 0 && others.length >= CONTACT_LIMITS.addresses) return data;
  const at =
    first < 0 ? others.length : data.addresses.slice(0, first).filter((a) => a.label !== "work").length;
  return { ...data, addresses: [...others.slice(0, at), address, ...others.slice(at)] };
}

/** What a primary address needs when the tenant requires one (`settings.validation.requirePrimaryAddress`). */
export const REQUIRED_PRIMARY_ADDRESS_FIELDS = ["line1", "city", "state", "postalCode"] as const;

/**
 * Guidewire's minimum creation criteria, applied to new contacts when the tenant turns them on (the
 * API's create and an import's inserts both call this): the address marked primary must have line
 * 1, city, state and postal code. One `required` error per missing field, at
 * `addresses.<i>.<field>` (`addresses.0.<field>` when there is no address at all); addresses none of
 * which is primary are one `required` error on `addresses`. `prefix` is put before each path.
 */
export function primaryAddressErrors(data: Pick<ContactData, "addresses">, prefix?: string): FieldError[] {
  const at = (path: string) => (prefix ? `${prefix}.${path}` : path);
  const index = data.addresses.findIndex((a) => a.primary);
  if (index < 0 && data.addresses.length > 0) {
    return [{ reason: ErrorReason.required, field: at("addresses"), message: "mark one address primary" }];
  }
  const address = data.addresses[index];
  const i = Math.max(index, 0);
  return REQUIRED_PRIMARY_ADDRESS_FIELDS.filter((f) => !address?.[f]).map((f) => ({
    reason: ErrorReason.required,
    field: at(`addresses.${String(i)}.${f}`),
    message: "the tenant requires a primary address with line 1, city, state and postal code",
  }));
}

/** Where a bulk-loaded contact came from (also the shape of the last bulk load that wrote it). */
export const Provenance = z.object({
  importId: Id,
  recordNumber: z.number().int(),
  sourceFile: z.string(),
  loadedAt: z.iso.datetime({ offset: true }),
});
export type Provenance = z.infer<typeof Provenance>;

/** Fields only the server sets. */
export const ContactServerFields = z.object({
  id: Id,
  number: z.number().int().min(1),
  mergedIds: z.array(Id),
  /** The import that created the contact: written once, kept when later imports update it. */
  provenance: Provenance.nullable(),
  /** The last import that wrote the contact (its creating one until another updates it). */
  lastBulkImport: Provenance.nullable(),
  ...Audit,
});
export type ContactServerFields = z.infer<typeof ContactServerFields>;

/**
 * Read-only fields computed on every read (the rolodex's `name`, `full_name`, `name_last_first`,
 * `preferred_phone_number`, `preferred_address`, `organization_name`, `contact_roles`). They are not
 * stored and not in change events; sending one is 400 `server_managed`, like the server's own fields.
 */
// A type, not an interface: a Contact must stay assignable to JSON value types (an interface has
// no implicit index signature).
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions
export type ContactComputedFields = {
  /** First and last name (a company: its name). */
  name: string | null;
  /** Prefix, first, middle and last name, suffix (a company: its name). */
  fullName: string | null;
  /** `Last, First Middle` (a company: its name). */
  nameLastFirst: string | null;
  /** The phone labelled `preferredPhoneLabel`, else the primary one, else the first; null without phones. */
  preferredPhone: Phone | null;
  /** The address labelled `preferredAddressLabel`, else the primary one, else the first. */
  preferredAddress: Address | null;
  /** The name of the contact's account. */
  accountName: string | null;
  /** The contact's roles by name (the role's description, else its code), in `roles` order. */
  roleNames: string[];
};

/** A contact as stored and as its change events carry it: no computed fields. */
export type StoredContact = ContactData & ContactServerFields;
/** A contact as the API returns it (before projection; masking rules already applied). */
export type Contact = StoredContact & ContactComputedFields;

/** The computed fields, in output order. */
export const CONTACT_COMPUTED_FIELDS = [
  "name",
  "fullName",
  "nameLastFirst",
  "preferredPhone",
  "preferredAddress",
  "accountName",
  "roleNames",
] as const satisfies readonly (keyof ContactComputedFields)[];

const joined = (parts: readonly (string | null | undefined)[]): string | null =>
  parts.filter((p): p is string => Boolean(p)).join(" ") || null;

function preferred<T extends { label: string; primary: boolean }>(
  list: readonly T[],
  label: string | null,
): T | null {
  return (
    (label ? list.find((x) => x.label === label) : undefined) ??
    list.find((x) => x.primary) ??
    list[0] ??
    null
  );
}

/**
 * The computed fields of a contact: the name forms and preferred phone and address from its own
 * fields, the account's name and the roles' names from what the caller looked up.
 */
export function computeContactFields(
  c: Pick<
    ContactData,
    | "subtype"
    | "prefix"
    | "firstName"
    | "middleName"
    | "lastName"
    | "suffix"
    | "companyName"
    | "phones"
    | "addresses"
    | "preferredPhoneLabel"
    | "preferredAddressLabel"
  >,
  names: { accountName: string | null; roleNames: string[] },
): ContactComputedFields {
  const company = c.subtype === "company";
  const lastFirst = c.lastName
    ? [c.lastName, joined([c.firstName, c.middleName])].filter(Boolean).join(", ")
    : joined([c.firstName, c.middleName]);
  return {
    name: company ? c.companyName : joined([c.firstName, c.lastName]),
    fullName: company ? c.companyName : joined([c.prefix, c.firstName, c.middleName, c.lastName, c.suffix]),
    nameLastFirst: company ? c.companyName : lastFirst,
    preferredPhone: preferred(c.phones, c.preferredPhoneLabel),
    preferredAddress: preferred(c.addresses, c.preferredAddressLabel),
    accountName: names.accountName,
    roleNames: names.roleNames,
  };
}

/** A contact read without its computed fields: what its change events rebuild. */
export function withoutComputedFields<T extends Partial<Contact>>(
  contact: T,
): Omit<T, keyof ContactComputedFields> {
  const computed = new Set<string>(CONTACT_COMPUTED_FIELDS);
  return Object.fromEntries(Object.entries(contact).filter(([key]) => !computed.has(key))) as Omit<
    T,
    keyof ContactComputedFields
  >;
}

/** Every top-level field of a contact document, in output order. */
export const CONTACT_FIELDS = [
  ...Object.keys(ContactServerFields.shape).slice(0, 2),
  ...Object.keys(contactShape(TaxId)),
  ...CONTACT_COMPUTED_FIELDS,
  ...Object.keys(ContactServerFields.shape).slice(2),
] as (keyof Contact)[];

/** A field name for `fields` projection. */
export const ContactField = z.enum(CONTACT_FIELDS as [keyof Contact, ...(keyof Contact)[]]);
export type ContactField = z.infer<typeof ContactField>;

/** Keeps only the asked fields (plus `id`, always). With no list, returns the whole document. */
export function projectContact(
  contact: Contact,
  fields: readonly ContactField[] | null | undefined,
): Partial<Contact> & Pick<Contact, "id"> {
  if (!fields?.length) return contact;
  const out: Partial<Contact> & Pick<Contact, "id"> = { id: contact.id };
  for (const f of fields) (out as Record<string, unknown>)[f] = contact[f];
  return out;
}
