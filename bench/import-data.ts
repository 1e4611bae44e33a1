import fs from "node:fs";
import { once } from "node:events";

import { CSV_HEADERS } from "@contacts/domain/csv-layout";

import { SEED_VALUES } from "./seed.js";

/**
 * A realistic contacts CSV for the import benchmark, in the export layout (so the product reads it
 * with no mapping): names from the seed's lists, several phone formats (E.164, national with
 * punctuation, with an extension, with spaces), quoted values with commas, quotes and line breaks
 * (company names and notes), about one bad row in a hundred (a broken email, an unknown role, an
 * unparseable date, a missing last name, a wrong column count), unique external ids.
 */
export interface GeneratedCsv {
  path: string;
  /**
   * The same records without those of a wrong column count, for `COPY` (which stops at the first
   * such record instead of reporting it).
   */
  copyPath: string;
  copyRecords: number;
  records: number;
  /** Records made bad on purpose (each rejected by the import). */
  bad: number;
  bytes: number;
}

/** A deterministic generator (mulberry32), so every run imports the same file. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A CSV field: quoted when it holds a delimiter, a quote or a line break (RFC 4180). */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const BAD_KINDS = ["email", "role", "date", "lastName", "columns"] as const;

export async function generateContactsCsv(path: string, records: number, seed = 42): Promise<GeneratedCsv> {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const out = fs.createWriteStream(path);
  const copyPath = `${path}.copy.csv`;
  const copyOut = fs.createWriteStream(copyPath);
  let bad = 0;
  let bytes = 0;
  let copyRecords = 0;
  const write = async (line: string, forCopy = true): Promise<void> => {
    bytes += Buffer.byteLength(line);
    const ok = out.write(line);
    const copyOk = forCopy ? copyOut.write(line) : true;
    // Listen to both before waiting on either: a drain missed while waiting on the other never comes.
    const drains = [...(ok ? [] : [once(out, "drain")]), ...(copyOk ? [] : [once(copyOut, "drain")])];
    await Promise.all(drains);
  };
  await write(`${CSV_HEADERS.map(field).join(",")}\r\n`);
  for (let n = 1; n <= records; n++) {
    const company = rnd() < 0.05;
    const first = company ? "" : pick(SEED_VALUES.firstNames);
    const last = company ? "" : pick(SEED_VALUES.lastNames);
    const place = pick(SEED_VALUES.cities);
    const companyName = company
      ? `${pick(SEED_VALUES.brands)} ${pick(SEED_VALUES.sectors)}, ${pick(SEED_VALUES.companySuffixes)}`
      : rnd() < 0.3
        ? `${pick(SEED_VALUES.brands)} ${pick(SEED_VALUES.sectors)} ${pick(SEED_VALUES.companySuffixes)}`
        : "";
    const local = company ? `info.${String(n)}` : `${first}.${last}.${String(n)}`.toLowerCase();
    let email = `${local}@${pick(SEED_VALUES.emailDomains)}`;
    const digits = String(2_000_000 + Math.floor(rnd() * 7_000_000));
    const area = String(200 + Math.floor(rnd() * 700));
    const phoneFormats = [
      `+1${area}${digits}`,
      `(${area}) ${digits.slice(0, 3)}-${digits.slice(3)}`,
      `+1 ${area} ${digits.slice(0, 3)} ${digits.slice(3)}`,
      `${area}.${digits.slice(0, 3)}.${digits.slice(3)} ext. ${String(n % 900)}`,
    ];
    let roles = pick(["PRIMARY", "BILLING", "TECHNICAL;PRIMARY", "ADMINISTRATIVE", ""]);
    const year = 1940 + Math.floor(rnd() * 60);
    let dateOfBirth = rnd() < 0.3 ? `${String(year)}-0${String(1 + (n % 9))}-1${String(n % 10)}` : "";
    let lastName = last;
    const notes = rnd() < 0.1 ? `Met at "${pick(SEED_VALUES.cities).city}" fair,\nprefers email` : "";
    let columnsOff = false;
    if (rnd() < 0.01) {
      bad++;
      const kind = pick(BAD_KINDS);
      if (kind === "email") email = `${local}@@broken`;
      else if (kind === "role") roles = "OWNER";
      else if (kind === "date") dateOfBirth = "31/02/1980";
      else if (kind === "lastName" && !company) lastName = "";
      else if (kind === "columns") columnsOff = true;
      else email = `${local}@@broken`; // a company has no last name to drop
    }
    const values: Record<string, string> = {
      "External ID": `ext-${String(n)}`,
      Type: company ? "company" : "person",
      "First Name": first,
      "Last Name": lastName,
      Company: companyName,
      "Job Title": company ? "" : pick(SEED_VALUES.jobTitles),
      Email: email,
      Phone: pick(phoneFormats),
      Address: `${String(1 + (n % 999))} ${pick(SEED_VALUES.streets)}`,
      City: place.city,
      State: place.state,
      "Postal Code": String(10_000 + (n % 89_999)),
      Country: place.country,
      Roles: roles,
      Status: "active",
      "Date of Birth": dateOfBirth,
      Notes: notes,
    };
    const cells = CSV_HEADERS.map((h) => field(values[h] ?? ""));
    await write(`${(columnsOff ? cells.slice(0, -3) : cells).join(",")}\r\n`, !columnsOff);
    if (!columnsOff) copyRecords++;
  }
  out.end();
  copyOut.end();
  await Promise.all([once(out, "finish"), once(copyOut, "finish")]);
  return { path, copyPath, copyRecords, records, bad, bytes };
}
