/**
 * How text is split into search words, in TypeScript, the way `contact_words(lower(text))`
 * (packages/db/src/index-maintenance.ts) splits a contact's searchable text in the database, so a term typed in a
 * search is a word the dictionary can hold. The parity test (terms.db.test.ts) runs both sides on
 * the same inputs against PostgreSQL.
 *
 * The database's `lower` and `[[:space:][:punct:]]` follow its character type (a UTF-8 locale of
 * glibc: C.UTF-8, en_US.UTF-8): a separator is a space, or any character that is neither a letter
 * nor a digit nor a mark that belongs to a letter (Unicode's Alphabetic: vowel signs, the Greek iota subscript). That is punctuation, symbols (emoji included) and combining
 * accents (a decomposed "é" splits a word, a precomposed one does not) well beyond ASCII;
 * characters newer than the server's Unicode tables are the only known difference.
 */
const NOT_A_LETTER = /[\s\p{P}\p{S}\p{M}\p{No}\p{Cf}\p{Co}]/u;
const ALPHABETIC = /\p{Alphabetic}/u;
const isSeparator = (ch: string): boolean => NOT_A_LETTER.test(ch) && !ALPHABETIC.test(ch);

/** `lower(text)` as the database computes it: code point by code point (no final-sigma rule). */
function lower(text: string): string {
  return Array.from(text, (ch) => (ch === "\u0130" ? "i" : ch.toLowerCase())).join("");
}

/** The tokens of `text` that count as words, in the order they appear (repeats kept). */
function tokens(text: string): string[] {
  const out: string[] = [];
  let word: string[] = [];
  const flush = () => {
    if (word.length >= 2 && !word.every((ch) => ch >= "0" && ch <= "9")) out.push(word.join(""));
    word = [];
  };
  for (const ch of lower(text)) {
    if (isSeparator(ch)) flush();
    else word.push(ch);
  }
  flush();
  return out;
}

/** The distinct words of `text`, sorted by code unit: `contact_words(lower(text))` as a set. */
export function searchWords(text: string): string[] {
  return [...new Set(tokens(text))].sort();
}

/** Most terms of one free-text search. */
export const MAX_FREE_TEXT_TERMS = 5;

/** The terms of free text (its words, in the order typed, each once), at most `MAX_FREE_TEXT_TERMS`. */
export function freeTextTerms(q: string): string[] {
  return [...new Set(tokens(q))].slice(0, MAX_FREE_TEXT_TERMS);
}

/** The term with two neighbouring characters swapped, each way: the commonest typo. */
export function transpositions(term: string): string[] {
  const chars = Array.from(term);
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) {
    if (chars[i] === chars[i + 1]) continue;
    const swapped = [...chars];
    [swapped[i], swapped[i + 1]] = [chars[i + 1] ?? "", chars[i] ?? ""];
    out.push(swapped.join(""));
  }
  return out;
}
