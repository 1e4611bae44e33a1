import { UnderscoreNamingStrategy } from "@mikro-orm/core";
import { ContactEntity } from "@contacts/db/entities/contact.entity";

/**
 * The contacts table's column map, derived from the entity's metadata: one definition (the entity)
 * gives the columns a page reads, the row mapping, the import's staging, insert and compare lists and
 * the event document. A new stored field is declared on the entity (and in the domain schema, a
 * migration and the CSV layout); nothing here lists it.
 */

/** A (string-named) property of the contact entity. */
export type ContactProperty = Extract<keyof ContactEntity, string>;

/** How a column's value travels between PostgreSQL, the driver and the entity. */
export type ColumnKind =
  "text" | "uuid" | "integer" | "bigint" | "boolean" | "date" | "timestamp" | "json" | "text[]" | "uuid[]";

export interface ContactColumn {
  readonly property: ContactProperty;
  /** The column's name in `contacts`. */
  readonly column: string;
  readonly kind: ColumnKind;
  /** The column's type as a staging table or a cast declares it. */
  readonly sqlType: string;
  readonly nullable: boolean;
}

interface PropertyOptions {
  type?: unknown;
  fieldName?: string;
  columnType?: string;
  nullable?: boolean;
}

const SQL_TYPE: Record<ColumnKind, string> = {
  text: "text",
  uuid: "uuid",
  integer: "integer",
  bigint: "bigint",
  boolean: "boolean",
  date: "date",
  timestamp: "timestamptz",
  json: "jsonb",
  "text[]": "text[]",
  "uuid[]": "uuid[]",
};

/** The MikroORM type of a property, by its class name (`p.string()` is `StringType`, and so on). */
const KIND_OF_TYPE: Record<string, ColumnKind> = {
  StringType: "text",
  TextType: "text",
  UuidType: "uuid",
  IntegerType: "integer",
  BigIntType: "bigint",
  BooleanType: "boolean",
  DateTimeType: "timestamp",
  JsonType: "json",
  ArrayType: "text[]",
};

function typeName(type: unknown): string {
  if (typeof type === "function") return type.name;
  if (type && typeof type === "object") return type.constructor.name;
  return String(type);
}

function kindOf(property: string, options: PropertyOptions): ColumnKind {
  if (options.columnType === "date") return "date";
  if (options.columnType === "uuid[]") return "uuid[]";
  const kind = KIND_OF_TYPE[typeName(options.type)];
  if (!kind) {
    throw new Error(
      `contacts column map: property ${property} has type ${typeName(options.type)}, which it does not map`,
    );
  }
  return kind;
}

const naming = new UnderscoreNamingStrategy();

/** Every property of the entity, in declaration order. */
export const CONTACT_COLUMNS: readonly ContactColumn[] = Object.entries(
  ContactEntity.meta.properties as Record<string, PropertyOptions>,
).map(([property, options]) => {
  const kind = kindOf(property, options);
  return {
    property: property as ContactProperty,
    column: options.fieldName ?? naming.propertyToColumnName(property),
    kind,
    sqlType: SQL_TYPE[kind],
    nullable: options.nullable === true,
  };
});

const BY_PROPERTY = new Map<string, ContactColumn>(CONTACT_COLUMNS.map((c) => [c.property, c]));

/** The column of an entity property (throws for a name the entity does not have). */
export function columnOf(property: string): ContactColumn {
  const column = BY_PROPERTY.get(property);
  if (!column) throw new Error(`contacts column map: the entity has no property ${property}`);
  return column;
}

/** Properties a page of contacts does not read (nothing showing a contact uses them). */
const NOT_ON_PAGES: ReadonlySet<ContactProperty> = new Set<ContactProperty>(["matchKeys"]);

/**
 * The columns a page of contacts reads: every mapped column but the match keys. The derived search
 * columns (word, place and email keys, sort keys, source hash) are not entity properties, so the driver
 * never parses them for a page.
 */
export const PAGE_COLUMN_NAMES: readonly string[] = CONTACT_COLUMNS.filter(
  (c) => !NOT_ON_PAGES.has(c.property),
).map((c) => c.column);
export const PAGE_COLUMNS = PAGE_COLUMN_NAMES.map((column) => `c.${column}`).join(", ");

/** A `date` column: the driver may give `YYYY-MM-DD` or a Date at local midnight. */
function day(v: unknown): string | null {
  if (!(v instanceof Date)) return v as string;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${String(v.getFullYear())}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
}

/**
 * A value as the driver returns it, as the entity holds it. A column a query did not select reads as
 * null, or as an empty list for a list column.
 */
export function fromDriver(kind: ColumnKind, v: unknown): unknown {
  if (v === null || v === undefined) return kind === "text[]" || kind === "uuid[]" ? [] : null;
  switch (kind) {
    case "integer":
    case "bigint":
      return Number(v);
    case "date":
      return day(v);
    case "timestamp":
      return v instanceof Date ? v : new Date(v as string);
    case "json":
      return typeof v === "string" ? JSON.parse(v) : v;
    default:
      return v;
  }
}

/** A value of the entity in PostgreSQL's COPY text form for its column (before COPY escaping). */
export function toCopyText(kind: ColumnKind, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case "boolean":
      return v === true ? "t" : "f";
    case "json":
      return JSON.stringify(v);
    case "text[]":
    case "uuid[]":
      return arrayLiteral(v as readonly string[]);
    case "timestamp":
      return v instanceof Date ? v.toISOString() : (v as string);
    default:
      return typeof v === "number" ? String(v) : (v as string);
  }
}

/** A text array literal (`{"a","b"}`) for a text[] or uuid[] value. */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(",")}}`;
}
