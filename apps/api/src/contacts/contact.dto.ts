import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { Contact } from "@contacts/domain/contact";
import { applyMasking } from "@contacts/domain/masking";

import type { Principal } from "../auth/principal.js";

/**
 * The one way a contact leaves the service: every public field chosen explicitly from the row
 * (nothing internal such as tenant_id leaks), then the masking rules applied for the caller.
 */
export function toContactDto(row: ContactEntity, viewer: Principal): Contact {
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
    taxId: row.taxId ?? null,
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
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
  };
  return applyMasking(doc, viewer);
}
