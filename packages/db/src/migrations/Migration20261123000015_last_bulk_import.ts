import { Migration } from "@mikro-orm/migrations";

/**
 * The rolodex keeps two bulk-load facts apart: the load that created a record (its provenance:
 * import_id, import_record_number, import_source_file, loaded_at, written once) and the last bulk
 * operation that wrote it. An upsert used to overwrite the first with the second; it now writes
 * only `last_bulk_import` ({ importId, recordNumber, sourceFile, loadedAt }).
 */
export class Migration20261123000015LastBulkImport extends Migration {
  override up(): void {
    this.addSql(`alter table contacts add column last_bulk_import jsonb;`);
    // Contacts an import has written so far: the provenance is all that is known of their last load.
    this.addSql(`
      update contacts set last_bulk_import = jsonb_build_object(
          'importId', import_id, 'recordNumber', import_record_number, 'sourceFile', import_source_file,
          'loadedAt', to_char(loaded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
       where import_id is not null;`);
  }

  override down(): void {
    this.addSql(`alter table contacts drop column last_bulk_import;`);
  }
}
