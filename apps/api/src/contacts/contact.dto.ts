import { contactData, contactDocument } from "@contacts/contacts/document";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { SqlReader } from "@contacts/db/tenant-reads";
import { computeContactFields, projectContact } from "@contacts/domain/contact";
import type { Contact, ContactData, ContactField, StoredContact } from "@contacts/domain/contact";
import { activeMaskingRules, applyMasking, maskLast4 } from "@contacts/domain/masking";

import type { Principal } from "../auth/principal.js";
import { arrayLiteral } from "@contacts/contacts/search/sql";

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
  /** Account and role names for the computed `accountName` and `roleNames` (see `loadNames`). */
  private readonly accountNames = new Map<string, string>();
  private readonly roleNames = new Map<string, string>();

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

  /**
   * Reads the names of the rows' account and roles (one query, in the caller's transaction), which
   * `show` puts in `accountName` and `roleNames`. The contact service calls it on every row it hands
   * out; each call reads them again, so a rename shows in the next answer.
   */
  async loadNames(reader: SqlReader, rows: readonly ContactEntity[]): Promise<void> {
    const accounts = [...new Set(rows.flatMap((r) => (r.accountId ? [r.accountId] : [])))];
    const roles = [...new Set(rows.flatMap((r) => r.roles))];
    if (!accounts.length && !roles.length) return;
    const tenantId = this.principal.tenantId;
    const found = await reader.execute<{ kind: "a" | "r"; key: string; name: string }[]>(
      `select 'a' as kind, id::text as key, name from accounts where tenant_id = ? and id = any(?::uuid[])
       union all
       select 'r', code, coalesce(nullif(description, ''), code) from roles where tenant_id = ? and code = any(?::text[])`,
      [tenantId, arrayLiteral(accounts), tenantId, arrayLiteral(roles)],
    );
    for (const id of accounts) this.accountNames.delete(id);
    for (const code of roles) this.roleNames.delete(code);
    for (const { kind, key, name } of found)
      (kind === "a" ? this.accountNames : this.roleNames).set(key, name);
  }

  /**
   * The names of one row's account and roles, read in the row's own statement (ContactReads): what
   * `loadNames` would have read for it (a role missing from `roleNames` is shown by its code).
   */
  setNames(row: ContactEntity, accountName: string | null, roleNames: Record<string, string>): void {
    if (row.accountId) {
      if (accountName === null) this.accountNames.delete(row.accountId);
      else this.accountNames.set(row.accountId, accountName);
    }
    for (const code of row.roles) {
      const name = roleNames[code];
      if (name === undefined) this.roleNames.delete(code);
      else this.roleNames.set(code, name);
    }
  }

  /** The computed fields of a stored document (names as last loaded; a role not in the catalogue by its code). */
  private withComputed(doc: StoredContact): Contact {
    return {
      ...doc,
      ...computeContactFields(doc, {
        accountName: doc.accountId ? (this.accountNames.get(doc.accountId) ?? null) : null,
        roleNames: doc.roles.map((code) => this.roleNames.get(code) ?? code),
      }),
    };
  }

  /** The contact as this caller may see it, limited to `fields` when given. */
  show(row: ContactEntity, fields?: readonly ContactField[]): Partial<Contact> & Pick<Contact, "id"> {
    const doc = projectContact(
      applyMasking(this.withComputed(contactDocument(row, this.taxIdOf(row))), this.principal),
      fields,
    );
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
  eventDocument(row: ContactEntity): StoredContact {
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
    const shown = applyMasking(this.withComputed(doc), this.principal);
    if (!this.taxIdMasked && typeof shown.taxId === "string") this.revealed.add(row.id);
    return shown;
  }

  /** The editable fields of a row with the tax ID in clear: for the service's merge, never returned. */
  dataOf(row: ContactEntity): ContactData {
    return contactData(row, this.taxIdOf(row));
  }
}
