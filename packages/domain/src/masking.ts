import type { Permission } from "./permissions.js";

/** How a masked field is shown. `last4`: every character but separators and the last four digits becomes `*`. */
export type MaskStrategy = "last4";

/** One masking rule: which field, how it is masked, which permission unmasks it. */
export interface MaskingRule {
  field: string;
  strategy: MaskStrategy;
  unmaskPermission: Permission;
  /** The tenant setting that turns the rule off for the whole tenant. */
  tenantSetting: "taxIdAlwaysUnmasked";
}

/** The masking rules, as data. The one output function applies every rule listed here. */
export const MASKING_RULES: readonly MaskingRule[] = [
  {
    field: "taxId",
    strategy: "last4",
    unmaskPermission: "contacts:unmask-tax-id",
    tenantSetting: "taxIdAlwaysUnmasked",
  },
];

const SEPARATOR = /[\s\-./]/;

/**
 * Masks all but the last four alphanumerics, keeping separators: `123-45-6789` → `***-**-6789`.
 * A short value always keeps at least four characters hidden (`12345` → `****5`, `1234` → `****`),
 * so masking never shows a whole value.
 */
export function maskLast4(value: string): string {
  const chars = Array.from(value); // code points: a surrogate pair is masked as one character
  const significant = chars.filter((ch) => !SEPARATOR.test(ch)).length;
  let keep = Math.min(4, Math.max(0, significant - 4));
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i] ?? "";
    if (SEPARATOR.test(ch)) continue;
    if (keep > 0) keep--;
    else chars[i] = "*";
  }
  return chars.join("");
}

const MASKERS: Record<MaskStrategy, (value: string) => string> = { last4: maskLast4 };

/** Applies a masking strategy to one value. */
export function maskValue(value: string, strategy: MaskStrategy): string {
  return MASKERS[strategy](value);
}

/** True when a value carries mask characters, i.e. it came from a masked read. */
export function isMaskedValue(value: string): boolean {
  return value.includes("*");
}

/** Who is reading: the permissions they hold and the tenant's settings. */
export interface MaskingViewer {
  permissions: ReadonlySet<string>;
  tenantSettings: { taxIdAlwaysUnmasked: boolean };
}

/** The rules that apply to this viewer (those they may not see through). */
export function activeMaskingRules(viewer: MaskingViewer): MaskingRule[] {
  return MASKING_RULES.filter(
    (rule) => !viewer.permissions.has(rule.unmaskPermission) && !viewer.tenantSettings[rule.tenantSetting],
  );
}

/** Returns a copy of `doc` with every masking rule applied for `viewer`. */
export function applyMasking<T extends object>(doc: T, viewer: MaskingViewer): T {
  const rules = activeMaskingRules(viewer);
  if (rules.length === 0) return doc;
  const copy = { ...doc } as Record<string, unknown>;
  for (const rule of rules) {
    const value = copy[rule.field];
    if (typeof value === "string") copy[rule.field] = maskValue(value, rule.strategy);
  }
  return copy as T;
}
