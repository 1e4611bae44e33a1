import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import { CONTACT_COMPUTED_FIELDS, CONTACT_FIELDS } from "@contacts/domain/contact";
import type { ContactData, StoredContact } from "@contacts/domain/contact";
import { isReadOnlyContactKey } from "@contacts/domain/errors";

import { columnOf } from "./columns.js";
import type { ContactColumn } from "./columns.js";

/**
 * The stored contact document (what reads show before masking and computed fields, and what change
 * events carry), derived from the column map: every field of the domain's document is the entity
 * property of the same name, except the two built from several columns. Nothing internal (tenant,
 * ciphertext, key id, blind index, match keys) can leak: only the document's own fields are read.
 */
export type DocumentSource =
  | { readonly from: "column"; readonly column: ContactColumn }
  /** The tax ID, decrypted (then masked) by the caller: never a column. */
  | { readonly from: "taxId" }
  /** The creating bulk load: `import_id`, `import_record_number`, `import_source_file`, `loaded_at`. */
  | { readonly from: "provenance" };

type StoredField = keyof StoredContact;

const computed = new Set<string>(CONTACT_COMPUTED_FIELDS);

/** Each stored field of the document, in output order, with where its value comes from. */
export const DOCUMENT_SOURCES = Object.fromEntries(
  CONTACT_FIELDS.filter((f) => !computed.has(f)).map((field): [string, DocumentSource] => {
    if (field === "taxId") return [field, { from: "taxId" }];
    if (field === "provenance") return [field, { from: "provenance" }];
    return [field, { from: "column", column: columnOf(field) }];
  }),
) as Record<StoredField, DocumentSource>;

const ENTRIES = Object.entries(DOCUMENT_SOURCES) as [StoredField, DocumentSource][];

function provenanceOf(row: ContactEntity): StoredContact["provenance"] {
  return row.importId && row.importRecordNumber != null && row.importSourceFile && row.loadedAt
    ? {
        importId: row.importId,
        recordNumber: row.importRecordNumber,
        sourceFile: row.importSourceFile,
        loadedAt: row.loadedAt.toISOString(),
      }
    : null;
}

/** A value read from the entity as the document holds it: timestamps as ISO 8601, absent as null. */
function documentValue(row: ContactEntity, column: ContactColumn): unknown {
  const value = row[column.property] as unknown;
  if (value instanceof Date) return value.toISOString();
  if (column.property === "phones") {
    // Phones stored before `mask` existed read as having none.
    return (row.phones as { mask?: string | null }[]).map((p) => ({ ...p, mask: p.mask ?? null }));
  }
  return value ?? null;
}

/** The stored document of a row, with the tax ID given (in clear or masked: the caller decides). */
export function contactDocument(row: ContactEntity, taxId: string | null): StoredContact {
  const doc: Record<string, unknown> = {};
  for (const [field, source] of ENTRIES) {
    if (source.from === "taxId") doc[field] = taxId;
    else if (source.from === "provenance") doc[field] = provenanceOf(row);
    else doc[field] = documentValue(row, source.column);
  }
  return doc as StoredContact;
}

/** An ISO 8601 timestamp as JavaScript writes it (`toISOString`), from a timestamptz expression. */
export const isoSql = (expression: string): string =>
  `to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The stored document as SQL `[field, expression]` pairs over the contacts row `alias`, for statements
 * that build events without a round trip (the import's created events); `taxIdSql` is the masked tax ID.
 */
export function documentSql(alias: string, taxIdSql: string): (readonly [string, string])[] {
  return ENTRIES.map(([field, source]): [string, string] => {
    if (source.from === "taxId") return [field, taxIdSql];
    if (source.from === "provenance") {
      return [
        field,
        `case when ${alias}.import_id is null then null else jsonb_build_object('importId', ${alias}.import_id,
           'recordNumber', ${alias}.import_record_number, 'sourceFile', ${alias}.import_source_file,
           'loadedAt', ${isoSql(`${alias}.loaded_at`)}) end`,
      ];
    }
    const column = `${alias}.${source.column.column}`;
    return [field, source.column.kind === "timestamp" ? isoSql(column) : column];
  });
}

/**
 * The editable fields of a row (what a replace sends), with the tax ID given: what a writer starts
 * from when it changes some fields of a stored contact (a merge, an import's upsert).
 */
export function contactData(row: ContactEntity, taxId: string | null): ContactData {
  const doc = contactDocument(row, taxId);
  return Object.fromEntries(
    Object.entries(doc).filter(([key]) => !isReadOnlyContactKey(key)),
  ) as unknown as ContactData;
}
