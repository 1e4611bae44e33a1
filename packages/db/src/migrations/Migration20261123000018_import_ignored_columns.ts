import { Migration } from "@mikro-orm/migrations";

/**
 * The columns an import read past: `[{ header, field, kept }]` for a column known by an alias of a
 * field another column fills (Outlook's `Title` beside its `Job Title`), written when the worker
 * reads the header, shown on the import.
 */
export class Migration20261123000018ImportIgnoredColumns extends Migration {
  override up(): void {
    this.addSql(`alter table imports add column ignored_columns jsonb not null default '[]';`);
  }

  override down(): void {
    this.addSql(`alter table imports drop column ignored_columns;`);
  }
}
