import type { CsvField } from "@contacts/domain/csv-layout";
import type { ImportLimits } from "@contacts/domain/import-job";

import type { RecordResult } from "./import-record.js";

/** What the parse thread is started with. */
export interface ParseThreadInput {
  appUrl: string;
  tenantId: string;
  importId: string;
  /** Records up to this number are committed: read (for the duplicate rule) but not sent again. */
  checkpoint: number;
  batchRecords: number;
  /** A batch also ends once its records hold this many characters. */
  batchChars: number;
  limits: ImportLimits;
  mapping: Record<string, CsvField | null>;
  defaultAccountId: string | null;
  matchOn: "externalId" | "email";
  mode: "insert" | "upsert";
  /**
   * This thread validates batches `index`, `index + count`, ... (counted from the checkpoint); every
   * thread reads the whole file, so each applies the in-file duplicate rule to every record.
   */
  shard: { index: number; count: number };
}

/** Messages from the parse thread, in file order. */
export type ParseThreadMessage =
  | {
      type: "header";
      headers: string[];
      columns: (CsvField | null)[];
      delimiter: string;
      /** Columns read past: known by an alias of a field another column fills. */
      ignored: { header: string; field: CsvField; kept: string }[];
    }
  | { type: "batch"; records: RecordResult[]; last: number }
  | { type: "failed"; message: string }
  | { type: "end"; total: number };

/** Messages to the parse thread: `more` lets it send one more batch. */
export interface ParseThreadCommand {
  type: "more";
}
