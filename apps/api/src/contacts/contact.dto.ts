import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import { projectContact } from "@contacts/domain/contact";
import type { Contact, ContactData, ContactField } from "@contacts/domain/contact";
import { isServerManagedKey } from "@contacts/domain/errors";
import { activeMaskingRules, applyMasking, maskLast4 } from "@contacts/domain/masking";

import type { Principal } from "../auth/principal.js";

/**
 * How contacts are shown to one caller: the one output function every way out uses (get, list,
 * search, history, change feed, export). It decrypts the tax ID, applies the masking rules for the
 * caller, projects the requested fields, and notes each contact whose tax ID it showed unmasked so
 * the request records the reveal (who, when, which contact) when it commits.
 */
export class ContactViewer {
  /** Contacts whose tax ID this request returned unmasked. */
  readonly revealed = new Set<string>();
  private readonly taxIdMasked: boolean;

  constructor(
    readonly principal: Principal,
    private readonly vault: TaxIdVault,
  ) {
    this.taxIdMasked = activeMaskingRules(principal).some((rule) => rule.field === "taxId");
  }

  /** The plaintext tax ID of a row (for the service's own checks; never returned as is). */
  taxIdOf(row: ContactEntity): string | null {
    if (!row.taxIdCiphertext) return row.taxIdLegacy ?? null;
    return this.vault.decrypt(row.taxIdCiphertext, { tenantId: row.tenantId, contactId: row.id });
  }

  /**
   * Notes that this request told the caller something about a contact's tax ID without showing it
   * (a match on a tax-ID filter): recorded like a reveal.
   */
  noteTaxIdDisclosed(contactId: string): void {
    this.revealed.add(contactId);
  }

  /** The contact as this caller may see it, limited to `fields` when given. */
  show(row: ContactEntity, fields?: readonly ContactField[]): Partial<Contact> & Pick<Contact, "id"> {
    const doc = projectContact(applyMasking(contactDocument(row, this.taxIdOf(row)), this.principal), fields);
    if (!this.taxIdMasked && typeof doc.taxId === "string") this.revealed.add(row.id);
    return doc;
  }

  /** The whole contact as this caller may see it. */
  showAll(row: ContactEntity): Contact {
    return this.show(row) as Contact;
  }

  /**
   * The whole contact with its tax ID masked whoever is asking, whatever the tenant's setting: what
   * change events store and diff (they outlive the request and are read by other callers).
   */
  eventDocument(row: ContactEntity): Contact {
    const taxId = this.taxIdOf(row);
    return contactDocument(row, taxId === null ? null : maskLast4(taxId));
  }

  /**
   * A contact that is not stored (a merge preview): the row's server fields with `data` as its
   * editable fields, shown as this caller may see it.
   */
  showPreview(row: ContactEntity, data: ContactData, mergedIds: readonly string[]): Contact {
    const { taxId, ...fields } = data;
    const doc = contactDocument({ ...row, ...fields, mergedIds: [...mergedIds] }, taxId);
    const shown = applyMasking(doc, this.principal);
    if (!this.taxIdMasked && typeof shown.taxId === "string") this.revealed.add(row.id);
    return shown;
  }

  /** The editable fields of a row with the tax ID in clear: for the service's merge, never returned. */
  dataOf(row: ContactEntity): ContactData {
    const doc = contactDocument(row, this.taxIdOf(row));
    const data = Object.fromEntries(
      Object.entries(doc).filter(([key]) => !isServerManagedKey(key)),
    ) as unknown as ContactData;
    return data;
  }
}

/**
 * Every public field chosen explicitly from the row (nothing internal such as tenant_id or the
 * ciphertext leaks), with the tax ID in clear: only ContactViewer calls it, and masks it.
 */
function contactDocument(row: ContactEntity, taxId: string | null): Contact {
  const doc: Contact = {
    id: row.id,
    number: row.number,
    subtype: row.subtype,
    prefix: row.prefix ?? null,
    firstName: row.firstName ?? null,
    middleName: row.middleName ?? null,
    lastName: row.lastName ?? null,
    suffix: row.suffix ?? null,
    nickname: row.nickname ?? null,
    maidenName: row.maidenName ?? null,
    credentials: row.credentials ?? null,
    jobTitle: row.jobTitle ?? null,
    companyName: row.companyName ?? null,
    username: row.username ?? null,
    group: row.group ?? null,
    accountId: row.accountId ?? null,
    roles: row.roles,
    emails: row.emails,
    phones: row.phones,
    addresses: row.addresses,
    preferredPhoneLabel: row.preferredPhoneLabel ?? null,
    preferredAddressLabel: row.preferredAddressLabel ?? null,
    taxId,
    gender: row.gender ?? null,
    pronouns: row.pronouns ?? null,
    dateOfBirth: row.dateOfBirth ?? null,
    dateOfDeath: row.dateOfDeath ?? null,
    status: row.status,
    notes: row.notes ?? null,
    social: row.social,
    notificationPreferences: row.notificationPreferences,
    userIds: row.userIds,
    portalDelegates: row.portalDelegates,
    spouseId: row.spouseId ?? null,
    customFields: row.customFields,
    externalId: row.externalId ?? null,
    originService: row.originService ?? null,
    locked: row.locked,
    integration: row.integration,
    mergedIds: row.mergedIds,
    provenance:
      row.importId && row.importRecordNumber != null && row.importSourceFile && row.loadedAt
        ? {
            importId: row.importId,
            recordNumber: row.importRecordNumber,
            sourceFile: row.importSourceFile,
            loadedAt: row.loadedAt.toISOString(),
          }
        : null,
    lastBulkImport: row.lastBulkImport ?? null,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
  };
  return doc;
}
