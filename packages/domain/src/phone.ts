import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { CountryCode } from "libphonenumber-js/max";

/** A phone number after normalization: what was typed, plus E.164 when it could be parsed. */
export interface NormalizedPhone {
  /** Exactly what the caller typed (trimmed). */
  number: string;
  /** E.164 form (`+14155550100`), or null when the number could not be parsed to a possible number. */
  e164: string | null;
  /** True when the number parsed and is a valid number for its region. */
  valid: boolean;
  /** ISO 3166-1 region the number belongs to, when known. */
  country: string | null;
  extension: string | null;
}

export interface NormalizePhoneOptions {
  /** ISO 3166-1 alpha-2 region used when the number has no `+` prefix. */
  region?: string | null;
  /** Country calling code used when no region applies (non-geographic numbers such as +800). */
  callingCode?: string | null;
}

/**
 * Normalizes a typed phone number with libphonenumber-js. An unparseable number (or one whose length
 * is impossible for its country) is never rejected: it is kept as typed with `e164: null` and
 * `valid: false`, so the caller can fix it later.
 */
export function normalizePhone(typed: string, options: NormalizePhoneOptions = {}): NormalizedPhone {
  const number = typed.trim();
  const region = options.region?.toUpperCase();
  const parsed = parsePhoneNumberFromString(number, {
    ...(region && /^[A-Z]{2}$/.test(region) ? { defaultCountry: region as CountryCode } : {}),
    ...(options.callingCode ? { defaultCallingCode: options.callingCode } : {}),
  });
  // A number of no possible length for its country ("123", a local number without its area code)
  // has no E.164 form: "+1123" would be a made-up number, so it is kept as typed only.
  if (!parsed?.isPossible()) return { number, e164: null, valid: false, country: null, extension: null };
  return {
    number,
    e164: parsed.number,
    valid: parsed.isValid(),
    country: parsed.country ?? null,
    extension: parsed.ext ?? null,
  };
}
