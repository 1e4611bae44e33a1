import { hash } from "node:crypto";

/**
 * The keys an import has seen (external ids, emails), as 64-bit fingerprints in an open-addressing
 * table outside the JavaScript heap: 16 bytes per key at most, where a Set of strings costs about
 * 60, so the parse thread's memory stays small whatever the file size (1,000,000 keys: 16 MB).
 *
 * Two different keys share a fingerprint with probability about n² / 2^65 (3e-8 for a million
 * keys); the later record would then be reported as a duplicate, never loaded over the first.
 */
export class FingerprintSet {
  private table = new BigUint64Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds the key; true when it was already there. */
  add(key: string): boolean {
    const digest = Buffer.from(hash("sha256", key, "buffer"));
    const fingerprint = digest.readBigUInt64LE(0) || 1n; // 0 marks an empty slot
    if (this.insert(this.table, fingerprint)) return true;
    this.count++;
    if (this.count * 2 > this.table.length) this.grow();
    return false;
  }

  /** Puts the fingerprint in `table`; true when it was already there. */
  private insert(table: BigUint64Array, fingerprint: bigint): boolean {
    const mask = table.length - 1;
    for (let i = Number(fingerprint & BigInt(mask)); ; i = (i + 1) & mask) {
      const slot = table[i];
      if (slot === fingerprint) return true;
      if (slot === 0n) {
        table[i] = fingerprint;
        return false;
      }
    }
  }

  private grow(): void {
    const next = new BigUint64Array(this.table.length * 2);
    for (const fingerprint of this.table) if (fingerprint !== 0n) this.insert(next, fingerprint);
    this.table = next;
  }
}
