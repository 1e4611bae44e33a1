import type { ContactEntity } from "@contacts/db/entities/contact.entity";

/** A row of `select c.* from contacts c` (or of `PAGE_COLUMNS`), as the driver returns it. */
export type ContactRow = Record<string, unknown> & { id: string; number: string | number; sort_key?: string };

/**
 * The columns a page of contacts reads: what `contactFromRow` maps, without the derived search
 * columns (word, place and email keys, sort keys, match keys, source hash), which nothing reading a
 * page uses and which the driver would otherwise parse for every row.
 */
export const PAGE_COLUMN_NAMES: readonly string[] = [
  "tenant_id",
  "id",
  "number",
  "subtype",
  "prefix",
  "salutation",
  "first_name",
  "middle_name",
  "last_name",
  "suffix",
  "nickname",
  "maiden_name",
  "credentials",
  "job_title",
  "company_name",
  "username",
  "contact_group",
  "account_id",
  "link_work_address_to_account",
  "link_work_phone_to_account",
  "roles",
  "emails",
  "phones",
  "addresses",
  "preferred_phone_label",
  "preferred_address_label",
  "tax_id_ciphertext",
  "tax_id_key_id",
  "tax_id_index",
  "tax_id",
  "gender",
  "pronouns",
  "date_of_birth",
  "date_of_death",
  "status",
  "notes",
  "social",
  "notification_preferences",
  "communication_preferences",
  "communication_preferences_last_confirmed",
  "date_profile_last_updated",
  "image_url",
  "user_ids",
  "portal_delegates",
  "spouse_id",
  "merged_ids",
  "custom_fields",
  "external_id",
  "origin_service",
  "locked",
  "integration",
  "version",
  "created_at",
  "created_by",
  "updated_at",
  "updated_by",
  "import_id",
  "import_record_number",
  "import_source_file",
  "loaded_at",
  "last_bulk_import",
];
export const PAGE_COLUMNS = PAGE_COLUMN_NAMES.map((column) => `c.${column}`).join(", ");

const text = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
const json = (v: unknown): unknown => (typeof v === "string" ? JSON.parse(v) : v);
const timestamp = (v: unknown): Date => (v instanceof Date ? v : new Date(v as string));
/** A `date` column: the driver may give `YYYY-MM-DD` or a Date at local midnight. */
function day(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (!(v instanceof Date)) return v as string;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${String(v.getFullYear())}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
}

/**
 * A contact row read by the paged queries, as the record the output function reads. Pages are
 * read-only, so they skip the ORM's hydration and change tracking (measured at about 0.3 ms a row
 * through `em.map` at 50-row pages). Every property of the entity is mapped: `EveryProperty` below
 * fails to compile when the entity gains one this function does not set.
 */
export function contactFromRow(r: ContactRow): ContactEntity {
  const record = {
    tenantId: r.tenant_id as string,
    id: r.id,
    number: Number(r.number),
    subtype: r.subtype as ContactEntity["subtype"],
    prefix: text(r.prefix),
    salutation: text(r.salutation),
    firstName: text(r.first_name),
    middleName: text(r.middle_name),
    lastName: text(r.last_name),
    suffix: text(r.suffix),
    nickname: text(r.nickname),
    maidenName: text(r.maiden_name),
    credentials: text(r.credentials),
    jobTitle: text(r.job_title),
    companyName: text(r.company_name),
    username: text(r.username),
    group: text(r.contact_group),
    accountId: text(r.account_id),
    linkWorkAddressToAccount: r.link_work_address_to_account as boolean,
    linkWorkPhoneToAccount: r.link_work_phone_to_account as boolean,
    roles: r.roles as string[],
    emails: json(r.emails) as ContactEntity["emails"],
    phones: json(r.phones) as ContactEntity["phones"],
    addresses: json(r.addresses) as ContactEntity["addresses"],
    preferredPhoneLabel: text(r.preferred_phone_label) as ContactEntity["preferredPhoneLabel"],
    preferredAddressLabel: text(r.preferred_address_label) as ContactEntity["preferredAddressLabel"],
    taxIdCiphertext: text(r.tax_id_ciphertext),
    taxIdKeyId: text(r.tax_id_key_id),
    taxIdIndex: text(r.tax_id_index),
    taxIdLegacy: text(r.tax_id),
    gender: text(r.gender),
    pronouns: text(r.pronouns),
    dateOfBirth: day(r.date_of_birth),
    dateOfDeath: day(r.date_of_death),
    status: r.status as ContactEntity["status"],
    notes: text(r.notes),
    social: json(r.social) as ContactEntity["social"],
    notificationPreferences: json(r.notification_preferences) as ContactEntity["notificationPreferences"],
    communicationPreferences: r.communication_preferences as string[],
    communicationPreferencesLastConfirmed: text(r.communication_preferences_last_confirmed),
    dateProfileLastUpdated: text(r.date_profile_last_updated),
    imageUrl: text(r.image_url),
    userIds: r.user_ids as string[],
    portalDelegates: r.portal_delegates as string[],
    spouseId: text(r.spouse_id),
    mergedIds: r.merged_ids as string[],
    matchKeys: (r.match_keys as string[] | undefined) ?? [],
    customFields: json(r.custom_fields) as ContactEntity["customFields"],
    externalId: text(r.external_id),
    originService: text(r.origin_service),
    locked: r.locked as boolean,
    integration: r.integration as boolean,
    version: Number(r.version),
    createdAt: timestamp(r.created_at),
    createdBy: r.created_by as string,
    updatedAt: timestamp(r.updated_at),
    updatedBy: r.updated_by as string,
    importId: text(r.import_id),
    importRecordNumber: r.import_record_number === null ? null : Number(r.import_record_number),
    importSourceFile: text(r.import_source_file),
    loadedAt: r.loaded_at === null ? null : timestamp(r.loaded_at),
    lastBulkImport: (json(r.last_bulk_import) as ContactEntity["lastBulkImport"] | undefined) ?? null,
  };
  const complete: EveryProperty<typeof record, ContactEntity> = record;
  return complete;
}

/** `Mapped` when it sets every (string-named) property of `Entity`; `never` otherwise. */
type EveryProperty<Mapped, Entity> =
  Exclude<Extract<keyof Entity, string>, keyof Mapped> extends never ? Mapped : never;
