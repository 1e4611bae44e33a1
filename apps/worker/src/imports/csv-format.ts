import { CSV_PARSE_OPTIONS } from "@contacts/domain/import-job";
import type { Options } from "csv-parse";

export { sniffDelimiter } from "@contacts/domain/import-job";

/**
 * How csv-parse reads an import: the domain's options (RFC 4180 quotes, LF or CRLF, a leading BOM
 * dropped, blank lines skipped, a quote inside an unquoted field kept, records of any length: a
 * wrong column count is a per-record error) with the file's delimiter and a cap on one record's
 * size, so a runaway quote fails the file instead of filling memory.
 */
export function csvParseOptions(delimiter: string, maxRecordChars: number): Options {
  return { ...CSV_PARSE_OPTIONS, delimiter, max_record_size: maxRecordChars };
}
