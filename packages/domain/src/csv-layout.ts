import type { Contact, ContactData, ContactInput } from "./contact.js";

/**
 * The CSV layout of contacts, shared by the importer (which reads it, plus common aliases) and the
 * exporter (which writes it), so an export can be edited and imported back. One column per field
 * of a flat contact: the primary and a second email and phone, the primary address, roles as a
 * `;`-separated list.
 */
export const CSV_FIELDS = [
  "externalId",
  "subtype",
  "prefix",
  "salutation",
  "firstName",
  "middleName",
  "lastName",
  "suffix",
  "nickname",
  "companyName",
  "jobTitle",
  "email",
  "email2",
  "phone",
  "phone2",
  "line1",
  "line2",
  "city",
  "state",
  "postalCode",
  "country",
  "roles",
  "status",
  "taxId",
  "dateOfBirth",
  "accountId",
  "notes",
  "imageUrl",
  "linkWorkAddressToAccount",
  "linkWorkPhoneToAccount",
  "communicationPreferences",
  "communicationPreferencesLastConfirmed",
  "dateProfileLastUpdated",
] as const;
export type CsvField = (typeof CSV_FIELDS)[number];

/** The CSV fields that fill part of a list field of the contact; every other CSV field is one. */
const PART_OF = {
  email: "emails",
  email2: "emails",
  phone: "phones",
  phone2: "phones",
  line1: "addresses",
  line2: "addresses",
  city: "addresses",
  state: "addresses",
  postalCode: "addresses",
  country: "addresses",
} as const satisfies Partial<Record<CsvField, keyof ContactData>>;

/** A contact field a CSV column fills. */
export type CsvContactKey = Exclude<CsvField, keyof typeof PART_OF> | (typeof PART_OF)[keyof typeof PART_OF];
/** Compile-time check: every CSV field that is not part of a list is a contact field. */
export const csvFieldsAreContactFields: CsvContactKey extends keyof ContactData ? true : never = true;

/** The contact field a CSV field fills: itself, or the list it is part of (`email2` -> `emails`). */
export function csvContactKey(field: CsvField): CsvContactKey {
  return field in PART_OF ? PART_OF[field as keyof typeof PART_OF] : (field as CsvContactKey);
}

/**
 * The header the exporter writes for each field, then the other headers the importer knows it by,
 * most specific first: when two columns of a file are known by aliases of one field, the one whose
 * alias comes first fills it (Outlook's `Job Title` over its `Title`, `Primary Phone` over `Mobile
 * Phone`) and the other is ignored and reported (`CsvMapping.ignored`).
 */
const HEADERS: Record<CsvField, readonly string[]> = {
  externalId: ["External ID", "external_id", "externalId", "Record ID", "crm_id"],
  subtype: ["Type", "subtype", "contact_type", "Contact Type"],
  prefix: ["Prefix", "Title Prefix", "Name Prefix"],
  // A salutation is how a letter greets the contact ("Dear Ada"), not a name prefix.
  salutation: ["Salutation", "salutation", "Greeting"],
  firstName: ["First Name", "first_name", "firstName", "Given Name", "fname", "First"],
  middleName: ["Middle Name", "middle_name", "Additional Name"],
  lastName: ["Last Name", "last_name", "lastName", "Surname", "Family Name", "lname", "Last"],
  suffix: ["Suffix", "Name Suffix"],
  nickname: ["Nickname", "nick_name"],
  companyName: ["Company", "company_name", "Company Name", "Organization", "Organisation", "Account Name"],
  jobTitle: ["Job Title", "job_title", "Title", "Position"],
  email: ["Email", "E-mail", "email_address", "Email Address", "E-mail Address", "Primary Email", "Email 1"],
  email2: ["Email 2", "Secondary Email", "Other Email", "E-mail 2 Address"],
  phone: [
    "Phone",
    "phone_number",
    "Phone Number",
    "Primary Phone",
    "Telephone",
    "Phone 1",
    "Mobile",
    "Mobile Phone",
  ],
  phone2: ["Phone 2", "Other Phone", "Work Phone", "Secondary Phone"],
  line1: ["Address", "Street", "Address 1", "address_line_1", "Street Address", "Address Line 1"],
  line2: ["Address 2", "address_line_2", "Address Line 2", "Street 2"],
  city: ["City", "Town", "Locality"],
  state: ["State", "Region", "Province", "State/Province", "County"],
  postalCode: ["Postal Code", "Zip", "ZIP Code", "Zip Code", "Postcode", "post_code", "postal_code"],
  country: ["Country", "Country/Region", "country_code"],
  roles: ["Roles", "Role"],
  status: ["Status"],
  taxId: ["Tax ID", "tax_id", "TIN", "SSN"],
  dateOfBirth: ["Date of Birth", "Birthday", "Birth Date", "dob", "date_of_birth"],
  accountId: ["Account ID", "account_id"],
  notes: ["Notes", "Note", "Comments", "Description"],
  imageUrl: ["Image URL", "image_url", "Photo URL", "Picture URL"],
  linkWorkAddressToAccount: [
    "Link Work Address To Account",
    "link_work_address_to_organization",
    "Link Work Address To Organization",
  ],
  linkWorkPhoneToAccount: [
    "Link Work Phone To Account",
    "link_work_phone_number_to_organization",
    "Link Work Phone Number To Organization",
  ],
  communicationPreferences: ["Communication Preferences", "communication_preferences"],
  communicationPreferencesLastConfirmed: [
    "Communication Preferences Last Confirmed",
    "communication_preferences_last_confirmed",
  ],
  dateProfileLastUpdated: ["Date Profile Last Updated", "date_profile_last_updated", "Profile Last Updated"],
};

/** A CSV boolean: true/false, yes/no, 1/0 (any case); anything else is passed on for the schema to reject. */
function csvBoolean(value: string | undefined): boolean | string | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === "true" || v === "yes" || v === "1") return true;
  if (v === "false" || v === "no" || v === "0") return false;
  return value;
}

/** A `;`-separated list cell (also `,` or `|`), blanks dropped. */
function csvList(value: string | undefined): string[] {
  return value
    ? value
        .split(/[;,|]/)
        .map((v) => v.trim())
        .filter(Boolean)
    : [];
}

/** The headers an export writes, in order. */
export const CSV_HEADERS: readonly string[] = CSV_FIELDS.map((f) => HEADERS[f][0] ?? f);

/** A header compared without case, spaces or punctuation: `First Name` = `first_name` = `firstName`. */
export function headerKey(header: string): string {
  return header
    .replace(/^\uFEFF/, "")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");
}

const FIELD_BY_HEADER = new Map<string, CsvField>(
  CSV_FIELDS.flatMap((field) => HEADERS[field].map((h) => [headerKey(h), field] as const)),
);

export interface CsvMapping {
  /** The field each column fills (null: the column is ignored). */
  columns: (CsvField | null)[];
  /** Headers neither known nor mapped (their columns are ignored). */
  unmapped: string[];
  /** Fields the explicit mapping fills from more than one column: `{ field, headers }` (an error for the caller). */
  repeated: { field: CsvField; headers: string[] }[];
  /** Columns known by an alias of a field another column fills (see `HEADERS`): ignored, `kept` fills it. */
  ignored: { header: string; field: CsvField; kept: string }[];
}

/** Where a header stands among its field's aliases (0: the exporter's own header). */
function aliasRank(field: CsvField, header: string): number {
  const key = headerKey(header);
  return HEADERS[field].findIndex((h) => headerKey(h) === key);
}

/**
 * Which field each column fills: an explicit mapping (`header` -> field, or null to ignore the
 * column) first, then the built-in headers and aliases.
 */
export function resolveCsvMapping(
  headers: readonly string[],
  explicit: Readonly<Record<string, CsvField | null>> = {},
): CsvMapping {
  const explicitByKey = new Map(Object.entries(explicit).map(([h, f]) => [headerKey(h), f]));
  const columns = headers.map((h) => {
    const key = headerKey(h);
    return explicitByKey.has(key) ? (explicitByKey.get(key) ?? null) : (FIELD_BY_HEADER.get(key) ?? null);
  });
  const unmapped = headers.filter((h, i) => columns[i] === null && !explicitByKey.has(headerKey(h)));
  const explicitlyMapped = (i: number) => explicitByKey.has(headerKey(headers[i] ?? ""));
  // Two columns known by aliases of one field: the better alias (then the first column) keeps it.
  const ignored: CsvMapping["ignored"] = [];
  const byField = new Map<CsvField, number[]>();
  columns.forEach((f, i) => {
    if (f) byField.set(f, [...(byField.get(f) ?? []), i]);
  });
  for (const [field, indexes] of byField) {
    const byAlias = indexes.filter((i) => !explicitlyMapped(i));
    if (byAlias.length < 2 && indexes.length === byAlias.length) continue;
    // A column the caller mapped explicitly beats any alias; an alias never beats it.
    const kept =
      indexes.find(explicitlyMapped) ??
      [...byAlias].sort(
        (a, b) => aliasRank(field, headers[a] ?? "") - aliasRank(field, headers[b] ?? "") || a - b,
      )[0];
    for (const i of byAlias) {
      if (i === kept || kept === undefined) continue;
      columns[i] = null;
      ignored.push({ header: headers[i] ?? "", field, kept: headers[kept] ?? "" });
    }
  }
  ignored.sort((a, b) => headers.indexOf(a.header) - headers.indexOf(b.header));
  const repeated = [...byField]
    .map(([field, indexes]) => ({ field, indexes: indexes.filter(explicitlyMapped) }))
    .filter(({ indexes }) => indexes.length > 1)
    .map(({ field, indexes }) => ({ field, headers: indexes.map((i) => headers[i] ?? "") }));
  return { columns, unmapped, repeated, ignored };
}

/** True when the CSV field is one a spreadsheet would run as a formula (see `neutralizeCell`). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A phone in E.164 form: a plus and digits only, which no spreadsheet can run as a function. */
const E164 = /^\+[1-9][0-9]{6,14}$/;

/**
 * A cell safe to open in a spreadsheet: a value starting with `=`, `+`, `-`, `@`, tab or CR gets a
 * leading `'` (OWASP's advice), except an E.164 phone number, left as is so it stays dialable (a
 * plus followed by digits is at worst read as a number). `restoreCell` undoes it on import.
 */
export function neutralizeCell(value: string): string {
  return FORMULA_START.test(value) && !E164.test(value) ? `'${value}` : value;
}

/** Undoes `neutralizeCell`: a `'` followed by a formula character is dropped. */
export function restoreCell(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

/** A record's values by field (empty cells dropped), from a mapping. */
export function recordFields(
  values: readonly string[],
  mapping: CsvMapping,
): Partial<Record<CsvField, string>> {
  const out: Partial<Record<CsvField, string>> = {};
  mapping.columns.forEach((field, i) => {
    const value = restoreCell((values[i] ?? "").trim());
    if (field && value !== "") out[field] = value;
  });
  return out;
}

/**
 * A CSV record as a contact input (before validation by `ContactInput`). Without a `Type` column a
 * record with a company name and no person name is a company. `defaults.accountId` applies when the
 * record names no account.
 */
export function csvRecordToContact(
  fields: Partial<Record<CsvField, string>>,
  defaults: { accountId?: string | null } = {},
): ContactInput {
  const subtype =
    fields.subtype?.toLowerCase() ??
    (fields.companyName && !fields.firstName && !fields.lastName ? "company" : "person");
  const emails = [fields.email, fields.email2]
    .filter((a): a is string => a !== undefined)
    .map((address, i) => ({ address, primary: i === 0 }));
  const phones = [fields.phone, fields.phone2]
    .filter((n): n is string => n !== undefined)
    .map((number, i) => ({ number, primary: i === 0 }));
  const place = {
    line1: fields.line1,
    line2: fields.line2,
    city: fields.city,
    state: fields.state,
    postalCode: fields.postalCode,
    country: fields.country,
  };
  const hasAddress = Object.values(place).some((v) => v !== undefined);
  const input: Record<string, unknown> = {
    subtype,
    prefix: fields.prefix,
    firstName: fields.firstName,
    middleName: fields.middleName,
    lastName: fields.lastName,
    suffix: fields.suffix,
    nickname: fields.nickname,
    companyName: fields.companyName,
    jobTitle: fields.jobTitle,
    emails,
    phones,
    addresses: hasAddress ? [{ ...place, label: "work", primary: true }] : [],
    roles: csvList(fields.roles).map((r) => r.toUpperCase()),
    status: fields.status?.toLowerCase(),
    taxId: fields.taxId,
    dateOfBirth: fields.dateOfBirth,
    accountId: fields.accountId ?? defaults.accountId ?? undefined,
    notes: fields.notes,
    externalId: fields.externalId,
    salutation: fields.salutation,
    imageUrl: fields.imageUrl,
    linkWorkAddressToAccount: csvBoolean(fields.linkWorkAddressToAccount),
    linkWorkPhoneToAccount: csvBoolean(fields.linkWorkPhoneToAccount),
    communicationPreferences: fields.communicationPreferences
      ? fields.communicationPreferences
          .split(";")
          .map((v) => v.trim())
          .filter(Boolean)
      : undefined,
    communicationPreferencesLastConfirmed: fields.communicationPreferencesLastConfirmed,
    dateProfileLastUpdated: fields.dateProfileLastUpdated,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as ContactInput;
}

/**
 * The CSV field a validation error path of `csvRecordToContact`'s output comes from (`emails.1.address`
 * -> `email2`, `addresses.0.postalCode` -> `postalCode`), or null.
 */
export function csvFieldOfPath(path: readonly (string | number)[]): CsvField | null {
  const [head, index, leaf] = path;
  if (head === "emails") return index === 1 ? "email2" : "email";
  if (head === "phones") return index === 1 ? "phone2" : "phone";
  if (head === "addresses")
    return typeof leaf === "string" && (CSV_FIELDS as readonly string[]).includes(leaf)
      ? (leaf as CsvField)
      : "line1";
  if (head === "roles") return "roles";
  if (head === "communicationPreferences") return "communicationPreferences";
  return typeof head === "string" && (CSV_FIELDS as readonly string[]).includes(head)
    ? (head as CsvField)
    : null;
}

/** The header a field is written under (and the column an import error names when the file used it). */
export function csvHeaderOf(field: CsvField): string {
  return HEADERS[field][0] ?? field;
}

const csvFlag = (value: boolean | undefined): string | undefined =>
  value === undefined ? undefined : String(value);

/** A contact as one CSV record in the export layout (values as given: masking happens before). */
export function contactToCsvRecord(contact: Partial<Contact>): string[] {
  const emails = contact.emails ?? [];
  const phones = contact.phones ?? [];
  const primaryFirst = <T extends { primary: boolean }>(list: readonly T[]): T[] => [
    ...list.filter((x) => x.primary),
    ...list.filter((x) => !x.primary),
  ];
  const [email, email2] = primaryFirst(emails);
  const [phone, phone2] = primaryFirst(phones);
  const [address] = primaryFirst(contact.addresses ?? []);
  const values: Record<CsvField, string | null | undefined> = {
    externalId: contact.externalId,
    subtype: contact.subtype,
    prefix: contact.prefix,
    firstName: contact.firstName,
    middleName: contact.middleName,
    lastName: contact.lastName,
    suffix: contact.suffix,
    nickname: contact.nickname,
    companyName: contact.companyName,
    jobTitle: contact.jobTitle,
    email: email?.address,
    email2: email2?.address,
    phone: phone ? (phone.e164 ?? phone.number) : undefined,
    phone2: phone2 ? (phone2.e164 ?? phone2.number) : undefined,
    line1: address?.line1,
    line2: address?.line2,
    city: address?.city,
    state: address?.state,
    postalCode: address?.postalCode,
    country: address?.country,
    roles: contact.roles?.join(";"),
    status: contact.status,
    taxId: contact.taxId,
    dateOfBirth: contact.dateOfBirth,
    accountId: contact.accountId,
    notes: contact.notes,
    salutation: contact.salutation,
    imageUrl: contact.imageUrl,
    linkWorkAddressToAccount: csvFlag(contact.linkWorkAddressToAccount),
    linkWorkPhoneToAccount: csvFlag(contact.linkWorkPhoneToAccount),
    communicationPreferences: contact.communicationPreferences?.join(";"),
    communicationPreferencesLastConfirmed: contact.communicationPreferencesLastConfirmed,
    dateProfileLastUpdated: contact.dateProfileLastUpdated,
  };
  return CSV_FIELDS.map((f) => neutralizeCell(values[f] ?? ""));
}
