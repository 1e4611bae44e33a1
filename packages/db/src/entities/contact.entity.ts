import { defineEntity, p } from "@mikro-orm/core";
import type { InferEntity } from "@mikro-orm/core";
import type {
  Address,
  ContactData,
  ContactStatus,
  ContactSubtype,
  CustomFields,
  Email,
  NotificationPreferences,
  Phone,
  Provenance,
  SocialLinks,
} from "@contacts/domain/contact";
import type { ContactPointLabel } from "@contacts/domain/common";

/**
 * A contact row. Scalars are columns (they are filtered and sorted on); lists and nested groups are
 * JSONB documents validated by the domain schema before they get here.
 */
export const ContactEntity = defineEntity({
  name: "Contact",
  tableName: "contacts",
  properties: {
    tenantId: p.string().primary(),
    id: p.uuid().primary(),
    number: p.bigint("number"),
    subtype: p.string().$type<ContactSubtype>(),
    prefix: p.string().nullable(),
    salutation: p.string().nullable(),
    firstName: p.string().nullable(),
    middleName: p.string().nullable(),
    lastName: p.string().nullable(),
    suffix: p.string().nullable(),
    nickname: p.string().nullable(),
    maidenName: p.string().nullable(),
    credentials: p.string().nullable(),
    jobTitle: p.string().nullable(),
    companyName: p.string().nullable(),
    username: p.string().nullable(),
    group: p.string().nullable().fieldName("contact_group"),
    accountId: p.uuid().nullable(),
    linkWorkAddressToAccount: p.boolean().default(false),
    linkWorkPhoneToAccount: p.boolean().default(false),
    roles: p.array(),
    emails: p.json<Email[]>(),
    phones: p.json<Phone[]>(),
    addresses: p.json<Address[]>(),
    preferredPhoneLabel: p.string().$type<ContactPointLabel>().nullable(),
    preferredAddressLabel: p.string().$type<ContactPointLabel>().nullable(),
    /** The tax ID, AES-256-GCM encrypted (see crypto/tax-id-vault.ts); never stored in clear. */
    taxIdCiphertext: p.text().nullable(),
    /** Which key encrypted it, so rotation finds rows still on an old key. */
    taxIdKeyId: p.string().nullable(),
    /** Per-tenant HMAC of the normalised tax ID: equality search without decrypting. */
    taxIdIndex: p.string().nullable(),
    /**
     * Plaintext from before tax IDs were encrypted: read only when there is no ciphertext, cleared on
     * every tax-ID write and by `tax-ids rotate`.
     */
    taxIdLegacy: p.string().nullable().fieldName("tax_id"),
    gender: p.string().nullable(),
    pronouns: p.string().nullable(),
    dateOfBirth: p.string().columnType("date").nullable(),
    dateOfDeath: p.string().columnType("date").nullable(),
    status: p.string().$type<ContactStatus>(),
    notes: p.text().nullable(),
    social: p.json<SocialLinks>(),
    notificationPreferences: p.json<NotificationPreferences>(),
    communicationPreferences: p.array().default([]),
    /** ISO 8601 text in UTC (the domain normalizes it), so it reads back as written. */
    communicationPreferencesLastConfirmed: p.string().nullable(),
    dateProfileLastUpdated: p.string().nullable(),
    imageUrl: p.text().nullable(),
    userIds: p.array(),
    portalDelegates: p.array().columnType("uuid[]"),
    spouseId: p.uuid().nullable(),
    mergedIds: p.array().columnType("uuid[]"),
    /** Duplicate-detection keys (`e:` email, `p:` phone, `n:` phonetic name at a postal code). */
    matchKeys: p.array().default([]),
    customFields: p.json<CustomFields>(),
    externalId: p.string().nullable(),
    originService: p.string().nullable(),
    locked: p.boolean(),
    integration: p.boolean(),
    version: p.integer().version(),
    createdAt: p.datetime(),
    createdBy: p.string(),
    updatedAt: p.datetime(),
    updatedBy: p.string(),
    importId: p.uuid().nullable(),
    importRecordNumber: p.integer().nullable(),
    importSourceFile: p.string().nullable(),
    loadedAt: p.datetime().nullable(),
    lastBulkImport: p.json<Provenance>().nullable(),
  },
  primaryKeys: ["tenantId", "id"],
});
export type ContactEntity = InferEntity<typeof ContactEntity>;

/**
 * Compile-time check: every field of the domain's normalized contact has a property of the same
 * type on the entity, so a validated input can be assigned to a row without a hand-written twin.
 * The tax ID is the exception: it is stored encrypted, by the contact service.
 */
type EntityAccepts<Data, Entity> = {
  [K in keyof Data]-?: K extends keyof Entity ? (Data[K] extends Entity[K] ? true : K) : K;
}[keyof Data];
export type ContactEntityFitsDomain =
  EntityAccepts<Omit<ContactData, "taxId">, ContactEntity> extends true ? true : never;
export const contactEntityFitsDomain: ContactEntityFitsDomain = true;
