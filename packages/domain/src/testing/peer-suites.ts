import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository root: the nearest folder above this file holding `turbo.json`. Walking up (rather
 * than a fixed `../../..`) keeps working if this helper or the package moves.
 */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "turbo.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("turbo.json not found above the domain package");
    dir = parent;
  }
  return dir;
}

/**
 * Reads a peer conformance suite from `<repo>/../shared/peer-suites/` at test time. The suites are
 * public test data written by others; they are read in place and never copied into the project.
 * The caller states the record shape the suite's README documents.
 */
export function readPeerSuite(relativePath: string): unknown {
  const file = join(repoRoot(), "..", "shared", "peer-suites", relativePath);
  if (!existsSync(file))
    throw new Error(`peer suite missing: ${file} (shared/ must sit beside the repository)`);
  return JSON.parse(readFileSync(file, "utf8"));
}
