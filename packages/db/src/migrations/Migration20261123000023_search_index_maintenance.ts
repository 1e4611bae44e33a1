import { Migration } from "@mikro-orm/migrations";
// The search index's functions and triggers are defined once, in packages/db/src/index-maintenance.ts.
// The contacts package's search (terms.ts, the parity tests) reads the same module.
import { recreateIndexMaintenanceSql } from "../index-maintenance.js";

/**
 * The search index's functions and triggers (word splitting, place and posting keys, the word
 * dictionary and the postings), recreated from the one module that defines them. Their
 * definitions are those migrations 3, 4, 10, 13 and 14 left, so this changes nothing in a database
 * that ran those; from here on a change to one is made in that module and applied by a migration
 * that recreates them the same way.
 */
export class Migration20261123000023SearchIndexMaintenance extends Migration {
  override up(): void {
    this.addSql(recreateIndexMaintenanceSql());
  }

  override down(): void {
    // Nothing to undo: the definitions are the ones the earlier migrations created.
  }
}
