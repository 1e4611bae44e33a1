import {
  csvContactKey,
  csvFieldOfPath,
  csvHeaderOf,
  csvRecordToContact,
  recordFields,
} from "@contacts/domain/csv-layout";
import type { CsvField, CsvMapping } from "@contacts/domain/csv-layout";
import { ContactInput } from "@contacts/domain/contact";
import type { ContactData } from "@contacts/domain/contact";
import { duplicateKeys, matchKeyList } from "@contacts/domain/duplicates";
import { normalizeEmail } from "@contacts/domain/email";
import { ErrorReason, fieldErrorsFromZod } from "@contacts/domain/errors";
import type { ImportLimits } from "@contacts/domain/import-job";
import { isMaskedValue, maskLast4 } from "@contacts/domain/masking";
import { isUnsafeText } from "@contacts/domain/text";

/** One rejected value of a record: `column` is the header as written in the file (null: the whole record). */
export interface RecordError {
  column: string | null;
  reason: ErrorReason;
  value: string | null;
}

/** A record that passed validation, normalized, with what the merge needs. */
export interface GoodRecord {
  recordNumber: number;
  data: ContactData;
  matchKeys: string[];
  /** The source record's hash, stored on the contact an upsert by external id writes. */
  sourceHash?: string | null;
  /**
   * The masked tax ID the record carried (`***-**-6789`, as an export without the unmask permission
   * writes it): "unchanged" on the contact it matches when it masks that contact's tax ID, an error
   * otherwise. `data.taxId` is null until the writer resolves it.
   */
  maskedTaxId?: string;
}

export interface BadRecord {
  recordNumber: number;
  errors: RecordError[];
}

/**
 * A validated record, a rejected one, or (`same`) one identical to the source record the matched
 * contact was last written from, with the contact unchanged since: nothing to validate or compare.
 */
export type RecordResult =
  ({ ok: true } & GoodRecord) | ({ ok: false } & BadRecord) | { ok: "same"; recordNumber: number };

/**
 * Columns holding personal data: their values are masked (`maskLast4`) in the error report. Names
 * (and the salutation), the image URL, emails, phones, address lines, postal code, tax ID, date of birth and notes; also any column the
 * import does not map (its content is unknown).
 */
export const PERSONAL_FIELDS: ReadonlySet<CsvField> = new Set<CsvField>([
  "prefix",
  "salutation",
  "imageUrl",
  "firstName",
  "middleName",
  "lastName",
  "suffix",
  "nickname",
  "email",
  "email2",
  "phone",
  "phone2",
  "line1",
  "line2",
  "postalCode",
  "taxId",
  "dateOfBirth",
  "notes",
]);

/** An over-long value is reported by its first characters only. */
const REPORTED_CHARS = 200;

/** The contact fields a file's columns fill: an upsert sets these and leaves the others as they are. */
export type ContactKey = keyof ContactData;

/** The contact fields an import sets (those its columns fill, plus `accountId` with a default account). */
export function presentKeys(mapping: CsvMapping, defaultAccountId: string | null): ContactKey[] {
  const keys = new Set<ContactKey>();
  for (const field of mapping.columns) if (field) keys.add(csvContactKey(field));
  if (defaultAccountId) keys.add("accountId");
  return [...keys].sort();
}

/** Reads the records of one file: the header's mapping, the import's limits and options. */
export class RecordValidator {
  private readonly columnOf = new Map<CsvField, number>();

  constructor(
    private readonly headers: readonly string[],
    private readonly mapping: CsvMapping,
    private readonly limits: ImportLimits,
    private readonly defaultAccountId: string | null,
  ) {
    mapping.columns.forEach((field, i) => {
      if (field && !this.columnOf.has(field)) this.columnOf.set(field, i);
    });
  }

  get headerCount(): number {
    return this.headers.length;
  }

  /** The header a field's errors name: as written in the file, else the layout's own header. */
  header(field: CsvField): string {
    const i = this.columnOf.get(field);
    return i === undefined ? csvHeaderOf(field) : (this.headers[i] ?? csvHeaderOf(field));
  }

  /** The raw value of a field in a record (before trimming), or null when the file has no such column. */
  raw(values: readonly string[], field: CsvField): string | null {
    const i = this.columnOf.get(field);
    return i === undefined ? null : (values[i] ?? null);
  }

  /** A value as the error report shows it: masked when personal, cut when very long. */
  reported(field: CsvField | null, value: string | null): string | null {
    if (value === null) return null;
    const cut = value.length > REPORTED_CHARS ? value.slice(0, REPORTED_CHARS) : value;
    return field === null || PERSONAL_FIELDS.has(field) ? maskLast4(cut) : cut;
  }

  error(field: CsvField, reason: ErrorReason, values: readonly string[]): RecordError {
    return { column: this.header(field), reason, value: this.reported(field, this.raw(values, field)) };
  }

  /** The key a record's external id is compared by (trimmed, as stored), or null. */
  externalIdKey(values: readonly string[]): string | null {
    return recordFields(values, this.mapping).externalId ?? null;
  }

  /** The key a record's primary email is compared by (normalized), or null. */
  emailKey(values: readonly string[]): string | null {
    const email = recordFields(values, this.mapping).email;
    return email ? normalizeEmail(email) : null;
  }

  /**
   * Validates one record with the domain's `ContactInput` (what the API validates with): column
   * count, field size, then every rule of the schema. References (roles, account) are checked by
   * the caller against the tenant.
   */
  validate(recordNumber: number, values: readonly string[]): RecordResult {
    if (values.length !== this.headers.length) {
      return {
        ok: false,
        recordNumber,
        errors: [
          {
            column: null,
            reason: ErrorReason.invalid,
            value: `${values.length} fields, expected ${this.headers.length}`,
          },
        ],
      };
    }
    const errors: RecordError[] = [];
    values.forEach((value, i) => {
      // PostgreSQL text cannot hold NUL (nor could a lone surrogate be stored): the record is reported.
      if (isUnsafeText(value)) {
        const field = this.mapping.columns[i] ?? null;
        errors.push({
          column: this.headers[i] ?? null,
          reason: ErrorReason.invalid,
          value: this.reported(field, value.replaceAll("\u0000", "\uFFFD")),
        });
      } else if (Buffer.byteLength(value, "utf8") > this.limits.maxFieldBytes) {
        const field = this.mapping.columns[i] ?? null;
        errors.push({
          column: this.headers[i] ?? null,
          reason: ErrorReason.tooLong,
          value: this.reported(field, value),
        });
      }
    });
    if (errors.length) return { ok: false, recordNumber, errors };

    const fields = recordFields(values, this.mapping);
    const maskedTaxId = fields.taxId !== undefined && isMaskedValue(fields.taxId) ? fields.taxId : undefined;
    if (maskedTaxId !== undefined) delete fields.taxId;
    const input = csvRecordToContact(fields, { accountId: this.defaultAccountId });
    const parsed = ContactInput.safeParse(input);
    if (!parsed.success) {
      const seen = new Set<string>();
      for (const e of fieldErrorsFromZod(parsed.error.issues, undefined, { input })) {
        const path = (e.field ?? "").split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s));
        const field = csvFieldOfPath(path);
        const error: RecordError = field
          ? this.error(field, e.reason, values)
          : { column: null, reason: e.reason, value: null };
        const key = `${error.column}|${error.reason}`;
        if (!seen.has(key)) errors.push(error);
        seen.add(key);
      }
      return { ok: false, recordNumber, errors };
    }
    return {
      ok: true,
      recordNumber,
      data: parsed.data,
      matchKeys: matchKeyList(duplicateKeys(parsed.data)),
      ...(maskedTaxId !== undefined ? { maskedTaxId } : {}),
    };
  }
}
