import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";

import { INDEX_MAINTENANCE_FUNCTIONS, INDEX_MAINTENANCE_TRIGGERS } from "@contacts/db/index-maintenance";
import { freeTextTerms, searchWords } from "./terms.js";

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client.end();
  await db.drop();
});

/** Texts where splitting could go wrong, each run through both sides. */
const TRICKY: readonly string[] = [
  "Ada Lovelace",
  "  leading   and\ttrailing\nspaces  ",
  "José Müller-Lüdenscheidt", // accents; a hyphen splits
  "ÉLODIE ÅSTRÖM Øre ÆSIR", // upper-case letters outside ASCII
  "Straße GROSS", // ß stays one letter
  "O'Brien d'Arcy O’Neill", // ASCII apostrophe splits; the typographic one is a letter to both
  "Jean-Luc Picard–Smith — Dr.", // hyphen, en dash, em dash
  "R2-D2 C3PO 3M 007 1234 12ab ab12", // digits: digits-only tokens drop, mixed stay
  "ada.lovelace+news@example.co.uk", // an email: dots, plus and at split
  "x y z a1 Ü", // single characters drop
  "Zoë_Ünal/Ørsted\\back[slash]{brace}|pipe~tilde`tick^caret", // every ASCII punctuation kind
  "田中 太郎 김민준 Владимир Путин Ελένη", // other scripts, upper and lower case
  "محمد علي שלום", // right-to-left scripts
  "İstanbul ıĞdır", // Turkish dotted and dotless i
  "ΟΔΥΣΣΕΥΣ Σοφία", // a final capital sigma lowers as a plain sigma in the database
  "नमस्ते राज्य தமிழ்", // Indic scripts: vowel signs and viramas
  "naïve café crème brûlée", // precomposed accents
  "cafe\u0301 nai\u0308ve", // combining accents
  "emoji 😀 😀😀 a😀 🙂x", // characters outside the BMP
  "non\u00a0breaking\u2003em\u2009thin", // spaces outside ASCII
  "«guillemets» ¿qué? ¡sí!", // punctuation outside ASCII
  "",
  "--- ... !!!",
];

/**
 * Characters that Node's Unicode tables (newer) and glibc's class differently: combining letters
 * that became Alphabetic, and marks added in recent versions. Rare in names and emails.
 */
const UNICODE_VERSION_GAPS: readonly [number, number][] = [
  [0x0363, 0x036f],
  [0x0c04, 0x0c04],
  [0x0ece, 0x0ece],
  [0x0f82, 0x0f83],
  [0x1acf, 0x1aff],
];

describe("term splitting", () => {
  it("splits every tricky text into the same words as contact_words(lower(text)) in PostgreSQL", async () => {
    const mismatches: { text: string; typescript: string[]; postgres: string[] }[] = [];
    for (const text of TRICKY) {
      const { rows } = await client.query<{ words: string[] }>(
        "select contact_words(lower($1::text)) as words",
        [text],
      );
      const postgres = [...(rows[0]?.words ?? [])].sort();
      const typescript = searchWords(text);
      if (JSON.stringify(postgres) !== JSON.stringify(typescript))
        mismatches.push({ text, typescript, postgres });
    }
    expect(mismatches).toEqual([]);
  });

  it("treats each character of the Latin, Greek, Cyrillic, Hebrew, Arabic, Indic, punctuation and CJK punctuation blocks as PostgreSQL does", async () => {
    const ranges: [number, number][] = [
      [0x0001, 0x1aff],
      [0x2000, 0x206f],
      [0x3000, 0x303f],
      [0xff00, 0xffef],
    ];
    const texts = ranges.flatMap(([low, high]) =>
      Array.from({ length: high - low + 1 }, (_, i) => `ab${String.fromCodePoint(low + i)}cd`),
    );
    const { rows } = await client.query<{ text: string; words: string[] }>(
      "select t as text, contact_words(lower(t)) as words from unnest($1::text[]) t",
      [texts],
    );
    const mismatches = rows
      .filter((r) => JSON.stringify([...r.words].sort()) !== JSON.stringify(searchWords(r.text)))
      .map((r) => r.text.codePointAt(2) ?? 0);
    expect(rows).toHaveLength(texts.length);
    expect(
      mismatches.filter((c) => !UNICODE_VERSION_GAPS.some(([low, high]) => c >= low && c <= high)),
    ).toEqual([]);
  });

  it("takes the terms of free text in the order typed, each once, at most five", () => {
    expect(freeTextTerms("Smith ada SMITH o'brien 42 x")).toEqual(["smith", "ada", "brien"]);
    expect(freeTextTerms("a1 b2 c3 d4 e5 f6 g7")).toEqual(["a1", "b2", "c3", "d4", "e5"]);
    expect(freeTextTerms("- 7 !")).toEqual([]);
  });
});

describe("index maintenance", () => {
  it("leaves every function of index-maintenance.ts in the database exactly as that file defines it", async () => {
    for (const { name, definition } of INDEX_MAINTENANCE_FUNCTIONS) {
      const { rows } = await client.query<{ source: string }>(
        "select p.prosrc as source from pg_proc p where p.oid = $1::regprocedure",
        [name.replace(/^function /, "")],
      );
      const body = /\$fn\$([\s\S]*)\$fn\$/.exec(definition)?.[1];
      expect(body, name).toBeDefined();
      expect(rows[0]?.source, name).toBe(body);
    }
  });

  it("has every trigger of index-maintenance.ts on its table, calling the function it names", async () => {
    for (const { name, definition } of INDEX_MAINTENANCE_TRIGGERS) {
      const [, trigger, table] = /^trigger (\w+) on (\w+)$/.exec(name) ?? [];
      const { rows } = await client.query<{ fn: string }>(
        `select t.tgfoid::regproc::text as fn from pg_trigger t
          where t.tgname = $1 and t.tgrelid = $2::regclass and t.tgenabled = 'O'`,
        [trigger, table],
      );
      expect(
        rows.map((r) => `execute function ${r.fn}()`),
        name,
      ).toEqual([/execute function \w+\(\)/.exec(definition)?.[0]]);
    }
  });
});
