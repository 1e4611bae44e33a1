/** A value in PostgreSQL's COPY text format: `\N` for null, backslash escapes for the rest. */
export function copyValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "\\N";
  return String(value).replace(
    /[\\\n\r\t]/g,
    (ch) => ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[ch] ?? ch,
  );
}

/** A text array literal (`{"a","b"}`) for a COPY column of type text[]. */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(",")}}`;
}

/** One COPY text line from column values. */
export function copyLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(copyValue).join("\t")}\n`;
}
