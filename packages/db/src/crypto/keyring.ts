import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** AES-256 and the HMAC-SHA256 index both use 32-byte keys. */
const KEY_BYTES = 32;

/** Key ids appear in every ciphertext, so they are short and need no escaping. */
export const TAX_ID_KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** Standard or url-safe base64, optionally padded; anything else is refused rather than skipped. */
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Development key ids: `dev-1`, `dev-2`, … */
const DEV_KEY_ID_PATTERN = /^dev-(\d+)$/;

/** The development keyring file, inside the data directory (git-ignored). */
export const KEYRING_FILE_NAME = "tax-id-keys.json";

/** The parts of a keyring; `keys` maps key id to a 32-byte data key. */
export interface TaxIdKeyringParts {
  currentKeyId: string;
  keys: Record<string, Buffer>;
  indexKey: Buffer;
}

/**
 * The keys that protect tax IDs: data keys by id (the current one encrypts, all of them decrypt,
 * so values written before a rotation stay readable) and the master key of the blind index.
 * Secrets live in private fields and are left out of JSON and `util.inspect`, so logging a
 * keyring never leaks them.
 */
export class TaxIdKeyring {
  readonly currentKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #indexKey: Buffer;

  private constructor(currentKeyId: string, keys: ReadonlyMap<string, Buffer>, indexKey: Buffer) {
    this.currentKeyId = currentKeyId;
    this.#keys = keys;
    this.#indexKey = indexKey;
  }

  /** Builds a keyring, checking ids and key lengths; the buffers are copied. */
  static fromParts(parts: TaxIdKeyringParts): TaxIdKeyring {
    const keys = new Map<string, Buffer>();
    for (const [keyId, key] of Object.entries(parts.keys)) {
      if (!TAX_ID_KEY_ID_PATTERN.test(keyId))
        throw new Error("tax ID key ids must match [A-Za-z0-9_-]{1,32}");
      if (key.length !== KEY_BYTES) throw new Error(`tax ID key ${keyId} must be ${KEY_BYTES} bytes`);
      keys.set(keyId, Buffer.from(key));
    }
    if (!keys.has(parts.currentKeyId)) throw new Error("the current tax ID key id is not one of the keys");
    if (parts.indexKey.length !== KEY_BYTES)
      throw new Error(`the tax ID index key must be ${KEY_BYTES} bytes`);
    return new TaxIdKeyring(parts.currentKeyId, keys, Buffer.from(parts.indexKey));
  }

  /** The data key with this id, if the keyring holds it. */
  key(keyId: string): Buffer | undefined {
    return this.#keys.get(keyId);
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** Master key of the blind index; per-tenant keys are derived from it. */
  get indexKey(): Buffer {
    return this.#indexKey;
  }

  toJSON(): { currentKeyId: string; keyIds: string[] } {
    return { currentKeyId: this.currentKeyId, keyIds: this.keyIds };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): { currentKeyId: string; keyIds: string[] } {
    return this.toJSON();
  }
}

/** A keyring with one random key (`test-1`) and a random index key. */
export function generateKeyringForTests(): TaxIdKeyring {
  return TaxIdKeyring.fromParts({
    currentKeyId: "test-1",
    keys: { "test-1": randomBytes(KEY_BYTES) },
    indexKey: randomBytes(KEY_BYTES),
  });
}

/**
 * Loads the tax ID keys: from `TAX_ID_KEYS` / `TAX_ID_CURRENT_KEY` / `TAX_ID_INDEX_KEY` when
 * `TAX_ID_KEYS` is set (production), otherwise from `<dataDir>/tax-id-keys.json`, created with
 * random keys on first use (development). Errors never contain key material.
 */
export function loadTaxIdKeyring(options: { env: NodeJS.ProcessEnv; dataDir: string }): {
  keyring: TaxIdKeyring;
  source: "env" | "file";
} {
  const { env, dataDir } = options;
  if (envValue(env, "TAX_ID_KEYS")) return { keyring: keyringFromEnv(env), source: "env" };
  // Without TAX_ID_KEYS the others would be ignored: a sign of a broken production setup, where
  // silently falling back to development keys would be worse than failing.
  for (const name of ["TAX_ID_CURRENT_KEY", "TAX_ID_INDEX_KEY"]) {
    if (envValue(env, name)) throw new Error(`${name} is set but TAX_ID_KEYS is not`);
  }
  return { keyring: loadOrCreateKeyringFile(dataDir), source: "file" };
}

/**
 * Development keys (generated into the data folder) are for the embedded database. With
 * `NODE_ENV=production` or a `DATABASE_URL` (a server other than the embedded one) and no
 * `TAX_ID_KEYS`, an app refuses to start unless `ALLOW_DEVELOPMENT_TAX_ID_KEYS=1`: production tax IDs
 * would otherwise be encrypted with keys lying next to the data. Returns the refusal (naming
 * variables, never values), or null.
 */
export function developmentKeyringRefusal(env: NodeJS.ProcessEnv): string | null {
  if (envValue(env, "TAX_ID_KEYS") || envValue(env, "ALLOW_DEVELOPMENT_TAX_ID_KEYS") === "1") return null;
  const why =
    envValue(env, "NODE_ENV") === "production"
      ? "NODE_ENV is production"
      : envValue(env, "DATABASE_URL")
        ? "DATABASE_URL names a server other than the embedded one"
        : null;
  if (!why) return null;
  return (
    `TAX_ID_KEYS is not set and ${why}: refusing to encrypt tax IDs with the data folder's development keys. ` +
    "Set TAX_ID_KEYS and TAX_ID_INDEX_KEY, or ALLOW_DEVELOPMENT_TAX_ID_KEYS=1 to use the development keys anyway."
  );
}

/**
 * Development rotation: adds a random key with the next `dev-N` id, makes it current and keeps the
 * old keys (values encrypted under them must stay readable until they are re-encrypted). Running
 * processes keep their loaded keyring until restarted. Not safe against two concurrent rotations.
 * Returns the new key id.
 */
export function addKeyToKeyringFile(dataDir: string): string {
  const file = keyringFilePath(dataDir);
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  const parts = readKeyringFile(file);
  const keyId = nextDevKeyId(Object.keys(parts.keys));
  const rotated = { ...parts, currentKeyId: keyId, keys: { ...parts.keys, [keyId]: randomBytes(KEY_BYTES) } };
  fs.renameSync(writeTempKeyringFile(file, rotated), file);
  return keyId;
}

function keyringFilePath(dataDir: string): string {
  return path.join(dataDir, KEYRING_FILE_NAME);
}

/** An environment variable's trimmed value; empty counts as unset. */
function envValue(env: NodeJS.ProcessEnv, name: string): string | null {
  return env[name]?.trim() || null;
}

function keyringFromEnv(env: NodeJS.ProcessEnv): TaxIdKeyring {
  const keys = parseEnvKeys(envValue(env, "TAX_ID_KEYS") ?? "");
  const keyIds = [...keys.keys()];
  const currentKeyId = envValue(env, "TAX_ID_CURRENT_KEY") ?? keyIds.at(-1);
  // The value is not echoed: a misplaced key could have been pasted there.
  if (currentKeyId === undefined || !keys.has(currentKeyId))
    throw new Error(`TAX_ID_CURRENT_KEY is not one of the key ids in TAX_ID_KEYS (${keyIds.join(", ")})`);
  const indexKeyText = envValue(env, "TAX_ID_INDEX_KEY");
  if (!indexKeyText) throw new Error("TAX_ID_INDEX_KEY is required when TAX_ID_KEYS is set");
  const indexKey = decodeKey(indexKeyText, "TAX_ID_INDEX_KEY");
  return TaxIdKeyring.fromParts({ currentKeyId, keys: Object.fromEntries(keys), indexKey });
}

/** Parses `keyId:base64key,…`; entries are named by position, as an unchecked id may be a key. */
function parseEnvKeys(value: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const entries = value.split(",").map((entry) => entry.trim());
  for (const [index, entry] of entries.entries()) {
    if (!entry) continue;
    const where = `TAX_ID_KEYS entry ${index + 1}`;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Error(`${where} is not of the form keyId:base64key`);
    const keyId = entry.slice(0, colon).trim();
    if (!TAX_ID_KEY_ID_PATTERN.test(keyId))
      throw new Error(`${where} has an invalid key id (expected [A-Za-z0-9_-]{1,32})`);
    if (keys.has(keyId)) throw new Error(`${where} repeats key id ${keyId}`);
    keys.set(keyId, decodeKey(entry.slice(colon + 1).trim(), `${where} (${keyId})`));
  }
  if (keys.size === 0) throw new Error("TAX_ID_KEYS lists no keys");
  return keys;
}

/** Decodes a base64 (standard or url-safe) 32-byte key; `what` names it in errors. */
function decodeKey(text: string, what: string): Buffer {
  if (!BASE64_PATTERN.test(text)) throw new Error(`${what} is not valid base64`);
  const key = Buffer.from(text, "base64");
  if (key.length !== KEY_BYTES)
    throw new Error(`${what} must decode to ${KEY_BYTES} bytes (got ${key.length})`);
  return key;
}

/** Reads the development keyring file, creating it first when it is missing. */
function loadOrCreateKeyringFile(dataDir: string): TaxIdKeyring {
  const file = keyringFilePath(dataDir);
  if (fs.existsSync(file)) return TaxIdKeyring.fromParts(readKeyringFile(file));
  fs.mkdirSync(dataDir, { recursive: true });
  const parts = {
    currentKeyId: "dev-1",
    keys: { "dev-1": randomBytes(KEY_BYTES) },
    indexKey: randomBytes(KEY_BYTES),
  };
  const temp = writeTempKeyringFile(file, parts);
  try {
    // A hard link never replaces an existing file, and the file appears complete or not at all.
    fs.linkSync(temp, file);
    return TaxIdKeyring.fromParts(parts);
  } catch (error) {
    // Another process created it first: use its keys, so both encrypt alike.
    if (isErrnoException(error) && error.code === "EEXIST")
      return TaxIdKeyring.fromParts(readKeyringFile(file));
    throw error;
  } finally {
    fs.unlinkSync(temp);
  }
}

/**
 * Writes the keyring as `{ currentKeyId, keys: { id: base64 }, indexKey: base64 }` next to `file`
 * under a unique name, readable by the owner only, and returns that name.
 */
function writeTempKeyringFile(file: string, parts: TaxIdKeyringParts): string {
  const content = {
    currentKeyId: parts.currentKeyId,
    keys: Object.fromEntries(
      Object.entries(parts.keys).map(([keyId, key]) => [keyId, key.toString("base64")]),
    ),
    indexKey: parts.indexKey.toString("base64"),
  };
  const temp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { flag: "wx", mode: 0o600 });
  return temp;
}

/** Reads and validates the development keyring file; errors name the file and the field. */
function readKeyringFile(file: string): TaxIdKeyringParts {
  const text = fs.readFileSync(file, "utf8");
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error, which here may be a key: not kept.
    throw new Error(`${file} is not valid JSON`);
  }
  if (!isRecord(content)) throw new Error(`${file} must hold a JSON object`);
  const { currentKeyId, keys, indexKey } = content;
  if (!isRecord(keys)) throw new Error(`${file}: "keys" must be an object of key id to base64 key`);
  const decoded = new Map<string, Buffer>();
  for (const [keyId, key] of Object.entries(keys)) {
    if (!TAX_ID_KEY_ID_PATTERN.test(keyId))
      throw new Error(`${file}: a key id is invalid (expected [A-Za-z0-9_-]{1,32})`);
    if (typeof key !== "string") throw new Error(`${file}: keys.${keyId} must be a base64 string`);
    decoded.set(keyId, decodeKey(key, `${file}: keys.${keyId}`));
  }
  if (typeof currentKeyId !== "string" || !decoded.has(currentKeyId))
    throw new Error(`${file}: "currentKeyId" must be one of the ids in "keys"`);
  if (typeof indexKey !== "string") throw new Error(`${file}: "indexKey" must be a base64 string`);
  return {
    currentKeyId,
    keys: Object.fromEntries(decoded),
    indexKey: decodeKey(indexKey, `${file}: indexKey`),
  };
}

/** `dev-(N+1)` for the highest `dev-N` among the ids (`dev-1` when there is none). */
function nextDevKeyId(keyIds: string[]): string {
  let highest = 0;
  for (const keyId of keyIds) {
    const match = DEV_KEY_ID_PATTERN.exec(keyId);
    if (match?.[1]) highest = Math.max(highest, Number(match[1]));
  }
  return `dev-${highest + 1}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}
