import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { SqlReader } from "@contacts/db/tenant-reads";
import { ContactsError } from "@contacts/domain/errors";
import type { ContactDescendantsInput, ContactListInput, ContactSearchInput } from "@contacts/domain/search";
import { contactFromRow, PAGE_COLUMNS } from "@contacts/contacts/contact-row";
import type { ContactRow } from "@contacts/contacts/contact-row";
import { descendantsSql, listSql, numberCursor } from "@contacts/contacts/search/list-sql";
import { planContactSearch } from "@contacts/contacts/search/search";
import { searchCursor } from "@contacts/contacts/search/search-sql";
import type { Sql } from "@contacts/contacts/search/sql";

import type { ContactViewer } from "./contact.dto.js";

export interface ContactPage {
  rows: ContactEntity[];
  nextCursor: string | null;
}

/** A contact row with its account's name and its roles' names (`NAMED_COLUMNS`). */
type NamedContactRow = ContactRow & {
  account_name_: string | null;
  role_names_: Record<string, string> | null;
};

/** The names `show` needs, read in the contact's own statement (see ContactViewer.setNames). */
const NAMED_COLUMNS = `${PAGE_COLUMNS},
  (select a.name from accounts a where a.tenant_id = c.tenant_id and a.id = c.account_id) as account_name_,
  (select jsonb_object_agg(r.code, coalesce(nullif(r.description, ''), r.code))
     from roles r where r.tenant_id = c.tenant_id and r.code = any(c.roles)) as role_names_`;

/**
 * The contact reads of one caller in one tenant (get, search, list, descendants), on any SqlReader:
 * the request's transaction, or the pool straight (the read procedures, trpc/init.ts), where each
 * statement is one round trip with the tenant bound. Queries still name the tenant (row-level
 * security is the second line, not the only one). Rows come back as entities mapped by the column
 * map, with their account and role names loaded for the viewer.
 */
export class ContactReads {
  private readonly tenantId: string;

  constructor(
    private readonly reader: SqlReader,
    private readonly viewer: ContactViewer,
    private readonly vault: TaxIdVault,
  ) {
    this.tenantId = viewer.principal.tenantId;
  }

  /** The contact with this id, for reading only (writes lock it through ContactService.get). */
  read(id: string): Promise<ContactEntity> {
    return this.readOne("c.id = ?", id, "id");
  }

  /** `contacts.get`: by id or by external id (the input's refinement lets exactly one through). */
  lookup(input: { id?: string | undefined; externalId?: string | undefined }): Promise<ContactEntity> {
    if (input.externalId !== undefined)
      return this.readOne("c.external_id = ?", input.externalId, "externalId");
    if (input.id !== undefined) return this.read(input.id);
    throw ContactsError.notFound("id");
  }

  /**
   * The one contact of the tenant where `condition` (a fixed SQL text) holds for `value`, or a 404 on
   * `field`: one statement, names included.
   */
  private async readOne(
    condition: "c.id = ?" | "c.external_id = ?",
    value: string,
    field: string,
  ): Promise<ContactEntity> {
    const [row] = await this.reader.execute<NamedContactRow[]>(
      `select ${NAMED_COLUMNS} from contacts c where c.tenant_id = ? and ${condition}`,
      [this.tenantId, value],
    );
    if (!row) throw ContactsError.notFound(field);
    const contact = contactFromRow(row);
    this.viewer.setNames(contact, row.account_name_, row.role_names_ ?? {});
    return contact;
  }

  /** One page of contacts matching every given filter (the planner: packages/contacts/src/search). */
  async search(input: ContactSearchInput): Promise<ContactPage> {
    const taxIdIndex = input.taxId ? this.vault.blindIndex(input.taxId, this.tenantId) : null;
    const { query } = await planContactSearch(this.tenantId, input, taxIdIndex, (q) =>
      this.reader.execute(q.sql, q.values),
    );
    const page = await this.page(query, input.limit, (last) => searchCursor(this.tenantId, input, last));
    // A match on the tax-ID filter tells the caller each contact's tax ID: recorded as a reveal.
    if (input.taxId) for (const row of page.rows) this.viewer.noteTaxIdDisclosed(row.id);
    return page;
  }

  /** One page of an account's contacts (404 when the account is not the tenant's). */
  async list(input: ContactListInput): Promise<ContactPage> {
    const query = listSql(this.tenantId, input); // a bad cursor is a 400 before anything is looked up
    if (input.account) {
      await this.requireAccount(
        "a.type = ? and a.key = ?",
        [input.account.type, input.account.key],
        "account.key",
      );
    } else if (input.accountId !== undefined) {
      await this.requireAccount("a.id = ?", [input.accountId], "accountId");
    }
    return this.page(query, input.limit, numberCursor(this.tenantId, "list"));
  }

  /** One page of the contacts of an account and all its descendant accounts. */
  async descendants(input: ContactDescendantsInput): Promise<ContactPage> {
    const query = descendantsSql(this.tenantId, input);
    await this.requireAccount("a.id = ?", [input.accountId], "accountId");
    return this.page(query, input.limit, numberCursor(this.tenantId, "descendants"));
  }

  private async requireAccount(
    condition: "a.id = ?" | "a.type = ? and a.key = ?",
    values: string[],
    field: string,
  ): Promise<void> {
    const found = await this.reader.execute<unknown[]>(
      `select 1 from accounts a where a.tenant_id = ? and ${condition}`,
      [this.tenantId, ...values],
    );
    if (!found.length) throw ContactsError.notFound(field);
  }

  /** Runs a paged query (it asks for one row more than the page) and maps the rows to entities. */
  private async page(
    query: Sql,
    limit: number,
    cursorAfter: (last: ContactRow) => string,
  ): Promise<ContactPage> {
    const found = await this.reader.execute<ContactRow[]>(query.sql, query.values);
    const page = found.slice(0, limit);
    const last = page.at(-1);
    const rows = page.map(contactFromRow);
    await this.viewer.loadNames(this.reader, rows);
    return {
      rows,
      nextCursor: found.length > limit && last ? cursorAfter(last) : null,
    };
  }
}
