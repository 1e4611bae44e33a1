import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { format, inspect } from "node:util";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  KEYRING_FILE_NAME,
  TaxIdKeyring,
  addKeyToKeyringFile,
  generateKeyringForTests,
  loadTaxIdKeyring,
} from "./keyring.js";

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const indexKey = randomBytes(32);

/** A valid production environment; tests override single variables. */
function validEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    TAX_ID_KEYS: `k1:${key1.toString("base64")},k2:${key2.toString("base64url")}`,
    TAX_ID_INDEX_KEY: indexKey.toString("base64"),
    ...overrides,
  };
}

/** The message `action` throws; fails the test when it does not throw. */
function errorMessage(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
}

/** Every text form a key could leak in. */
function keyForms(key: Buffer): string[] {
  return [key.toString("base64"), key.toString("base64url"), key.toString("hex")];
}

let dataDir: string;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-tax-id-keys-"));
});

afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("loadTaxIdKeyring from the environment", () => {
  it("loads a valid configuration, the last key current by default", () => {
    const { keyring, source } = loadTaxIdKeyring({ env: validEnv(), dataDir });
    expect(source).toBe("env");
    expect(keyring.currentKeyId).toBe("k2");
    expect(keyring.keyIds).toEqual(["k1", "k2"]);
    expect(keyring.key("k1")?.equals(key1)).toBe(true);
    expect(keyring.key("k2")?.equals(key2)).toBe(true);
    expect(keyring.key("k3")).toBeUndefined();
    expect(keyring.indexKey.equals(indexKey)).toBe(true);
    // Nothing is written in production mode.
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it("uses TAX_ID_CURRENT_KEY and tolerates spaces and a trailing comma", () => {
    const env = validEnv({
      TAX_ID_KEYS: ` k1 : ${key1.toString("base64")} , k2:${key2.toString("base64")}, `,
      TAX_ID_CURRENT_KEY: "k1",
    });
    const { keyring } = loadTaxIdKeyring({ env, dataDir });
    expect(keyring.currentKeyId).toBe("k1");
    expect(keyring.keyIds).toEqual(["k1", "k2"]);
  });

  const shortKey = randomBytes(16);
  const invalid: [string, NodeJS.ProcessEnv, string, Buffer[]][] = [
    ["an entry without a colon", { TAX_ID_KEYS: key1.toString("base64") }, "TAX_ID_KEYS", [key1]],
    ["an invalid key id", { TAX_ID_KEYS: `bad id!:${key1.toString("base64")}` }, "TAX_ID_KEYS", [key1]],
    [
      "a repeated key id",
      { TAX_ID_KEYS: `k1:${key1.toString("base64")},k1:${key2.toString("base64")}` },
      "TAX_ID_KEYS",
      [key1, key2],
    ],
    ["a key that is not base64", { TAX_ID_KEYS: `k1:${key1.toString("hex")}!` }, "TAX_ID_KEYS", [key1]],
    [
      "a key of the wrong length",
      { TAX_ID_KEYS: `k1:${shortKey.toString("base64")}` },
      "TAX_ID_KEYS",
      [shortKey],
    ],
    ["no keys at all", { TAX_ID_KEYS: " , " }, "TAX_ID_KEYS", []],
    ["an unknown current key", { TAX_ID_CURRENT_KEY: "k9" }, "TAX_ID_CURRENT_KEY", [key1, key2]],
    ["a missing index key", { TAX_ID_INDEX_KEY: "" }, "TAX_ID_INDEX_KEY", [key1, key2]],
    [
      "an index key of the wrong length",
      { TAX_ID_INDEX_KEY: shortKey.toString("base64") },
      "TAX_ID_INDEX_KEY",
      [shortKey],
    ],
    [
      "an index key that is not base64",
      { TAX_ID_INDEX_KEY: `${indexKey.toString("base64")}*` },
      "TAX_ID_INDEX_KEY",
      [indexKey],
    ],
  ];

  for (const [problem, overrides, variable, secrets] of invalid) {
    it(`refuses ${problem}, naming ${variable} and not the key`, () => {
      const message = errorMessage(() => loadTaxIdKeyring({ env: validEnv(overrides), dataDir }));
      expect(message).toContain(variable);
      for (const secret of [...secrets, key1, key2, indexKey].flatMap(keyForms))
        expect(message).not.toContain(secret);
    });
  }

  it("refuses TAX_ID_INDEX_KEY or TAX_ID_CURRENT_KEY without TAX_ID_KEYS", () => {
    for (const variable of ["TAX_ID_INDEX_KEY", "TAX_ID_CURRENT_KEY"]) {
      const env = { [variable]: "k1" };
      expect(errorMessage(() => loadTaxIdKeyring({ env, dataDir }))).toBe(
        `${variable} is set but TAX_ID_KEYS is not`,
      );
    }
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe("loadTaxIdKeyring from the development file", () => {
  it("creates the file once with mode 0600, in a directory it creates", () => {
    const dir = path.join(dataDir, "nested", "data");
    const { keyring, source } = loadTaxIdKeyring({ env: { TAX_ID_KEYS: "" }, dataDir: dir });
    expect(source).toBe("file");
    expect(keyring.currentKeyId).toBe("dev-1");
    expect(keyring.keyIds).toEqual(["dev-1"]);
    const file = path.join(dir, KEYRING_FILE_NAME);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // No temporary file is left behind.
    expect(fs.readdirSync(dir)).toEqual([KEYRING_FILE_NAME]);
    const content = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    expect(content).toEqual({
      currentKeyId: "dev-1",
      keys: { "dev-1": keyring.key("dev-1")?.toString("base64") },
      indexKey: keyring.indexKey.toString("base64"),
    });
  });

  it("returns the same keys on a second load", () => {
    const first = loadTaxIdKeyring({ env: {}, dataDir }).keyring;
    const mtime = fs.statSync(path.join(dataDir, KEYRING_FILE_NAME)).mtimeMs;
    const second = loadTaxIdKeyring({ env: {}, dataDir }).keyring;
    expect(second.currentKeyId).toBe(first.currentKeyId);
    expect(second.key("dev-1")?.equals(first.key("dev-1") ?? Buffer.alloc(0))).toBe(true);
    expect(second.indexKey.equals(first.indexKey)).toBe(true);
    expect(fs.statSync(path.join(dataDir, KEYRING_FILE_NAME)).mtimeMs).toBe(mtime);
  });

  it("refuses an invalid file without echoing its content", () => {
    const file = path.join(dataDir, KEYRING_FILE_NAME);
    const secret = randomBytes(16).toString("base64");
    fs.writeFileSync(file, `{"currentKeyId":"dev-1","keys":{"dev-1":"${secret}"`);
    const notJson = errorMessage(() => loadTaxIdKeyring({ env: {}, dataDir }));
    expect(notJson).toBe(`${file} is not valid JSON`);
    fs.writeFileSync(
      file,
      JSON.stringify({ currentKeyId: "dev-1", keys: { "dev-1": secret }, indexKey: secret }),
    );
    const shortKey = errorMessage(() => loadTaxIdKeyring({ env: {}, dataDir }));
    expect(shortKey).toContain("keys.dev-1 must decode to 32 bytes");
    expect(shortKey).not.toContain(secret);
  });

  it("adds a key: dev-2 becomes current and dev-1 is kept", () => {
    const before = loadTaxIdKeyring({ env: {}, dataDir }).keyring;
    expect(addKeyToKeyringFile(dataDir)).toBe("dev-2");
    const after = loadTaxIdKeyring({ env: {}, dataDir }).keyring;
    expect(after.currentKeyId).toBe("dev-2");
    expect(after.keyIds).toEqual(["dev-1", "dev-2"]);
    expect(after.key("dev-1")?.equals(before.key("dev-1") ?? Buffer.alloc(0))).toBe(true);
    expect(after.key("dev-2")?.equals(before.key("dev-1") ?? Buffer.alloc(0))).toBe(false);
    expect(after.indexKey.equals(before.indexKey)).toBe(true);
    expect(fs.statSync(path.join(dataDir, KEYRING_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual([KEYRING_FILE_NAME]);
    expect(addKeyToKeyringFile(dataDir)).toBe("dev-3");
  });

  it("refuses to add a key when there is no file", () => {
    expect(() => addKeyToKeyringFile(dataDir)).toThrow("does not exist");
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe("TaxIdKeyring", () => {
  it("shows no key material in toJSON or inspect", () => {
    const keyring = TaxIdKeyring.fromParts({ currentKeyId: "k2", keys: { k1: key1, k2: key2 }, indexKey });
    expect(keyring.toJSON()).toEqual({ currentKeyId: "k2", keyIds: ["k1", "k2"] });
    const printed = [
      JSON.stringify(keyring),
      inspect(keyring, { showHidden: true, depth: null }),
      format("%s %o", keyring, keyring),
    ];
    expect(printed[0]).toBe('{"currentKeyId":"k2","keyIds":["k1","k2"]}');
    for (const text of printed) {
      for (const secret of [key1, key2, indexKey].flatMap(keyForms)) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/Buffer|<Buffer/);
    }
  });

  it("validates its parts without echoing keys", () => {
    expect(() =>
      TaxIdKeyring.fromParts({ currentKeyId: "k1", keys: { k1: randomBytes(16) }, indexKey }),
    ).toThrow("tax ID key k1 must be 32 bytes");
    expect(() => TaxIdKeyring.fromParts({ currentKeyId: "k1", keys: { "k/1": key1 }, indexKey })).toThrow(
      "key ids must match",
    );
    expect(() => TaxIdKeyring.fromParts({ currentKeyId: "k2", keys: { k1: key1 }, indexKey })).toThrow(
      "not one of the keys",
    );
    expect(() =>
      TaxIdKeyring.fromParts({ currentKeyId: "k1", keys: { k1: key1 }, indexKey: randomBytes(31) }),
    ).toThrow("index key must be 32 bytes");
  });

  it("copies the buffers it is given", () => {
    const key = Buffer.from(key1);
    const keyring = TaxIdKeyring.fromParts({ currentKeyId: "k1", keys: { k1: key }, indexKey });
    key.fill(0);
    expect(keyring.key("k1")?.equals(key1)).toBe(true);
  });

  it("generates random test keyrings", () => {
    const a = generateKeyringForTests();
    const b = generateKeyringForTests();
    expect(a.currentKeyId).toBe("test-1");
    expect(a.key("test-1")?.length).toBe(32);
    expect(a.key("test-1")?.equals(b.key("test-1") ?? Buffer.alloc(0))).toBe(false);
    expect(a.indexKey.equals(b.indexKey)).toBe(false);
  });
});
