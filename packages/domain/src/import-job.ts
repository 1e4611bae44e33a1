import { z } from "zod";

import { Id } from "./common.js";
import { CSV_FIELDS } from "./csv-layout.js";

/** pg-boss queue of import jobs: the API sends, the worker works. */
export const IMPORT_QUEUE = "contacts-import";

/** The data of an import job (the import row holds everything else). */
export interface ImportJobData {
  tenantId: string;
  importId: string;
}

export const ImportState = z.enum(["queued", "running", "completed", "failed", "cancelled"]);
export type ImportState = z.infer<typeof ImportState>;

/** `insert` creates every record; `upsert` updates the contact a record matches (see `ImportMatchOn`). */
export const ImportMode = z.enum(["insert", "upsert"]);
export type ImportMode = z.infer<typeof ImportMode>;

/** What an upsert matches an existing contact on: its external id or its primary email. */
export const ImportMatchOn = z.enum(["externalId", "email"]);
export type ImportMatchOn = z.infer<typeof ImportMatchOn>;

/** An explicit column mapping: a file header -> the CSV field it fills, or null to ignore the column. */
export const ImportMapping = z.record(z.string().trim().min(1).max(200), z.enum(CSV_FIELDS).nullable());
export type ImportMapping = z.infer<typeof ImportMapping>;

/**
 * The options of an upload. `dryRun` validates and reports without loading; `accountId` is the
 * account of every record that names none.
 */
export const ImportOptions = z.strictObject({
  mode: ImportMode.default("insert"),
  matchOn: ImportMatchOn.default("externalId"),
  dryRun: z.boolean().default(false),
  accountId: Id.nullish().transform((v) => v ?? null),
  fileName: z.string().trim().min(1).max(255).default("upload.csv"),
  mapping: ImportMapping.refine((m) => Object.keys(m).length <= 500, "at most 500 mapped headers").default(
    {},
  ),
});
export type ImportOptions = z.infer<typeof ImportOptions>;
export type ImportOptionsInput = z.input<typeof ImportOptions>;

/** The limits an import runs under, fixed when it is created (stored in `imports.limits`). */
export interface ImportLimits {
  maxFileBytes: number;
  maxFieldBytes: number;
  maxColumns: number;
  maxRecords: number;
}

/**
 * csv-parse options both the worker and the failed-rows report use, so record numbers agree
 * (data records counted from 1, the header not counted, blank lines skipped).
 */
export const CSV_PARSE_OPTIONS = {
  bom: true,
  skip_empty_lines: true,
  relax_column_count: true,
  // A quote inside an unquoted field is a character (`37°36'37.8"N`), as spreadsheets write it.
  relax_quotes: true,
} as const;

const CANDIDATE_DELIMITERS = [",", ";", "\t", "|"] as const;

/**
 * The delimiter of a CSV file, from the start of its text: the candidate (`,` `;` tab `|`) seen most
 * often outside quotes on the first line. Comma when none is seen.
 */
export function sniffDelimiter(start: string): string {
  const counts = new Map<string, number>(CANDIDATE_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of start.replace(/^\uFEFF/, "")) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === "\n" || ch === "\r")) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ",";
  let most = 0;
  for (const [d, n] of counts) {
    if (n > most) [best, most] = [d, n];
  }
  return best;
}
