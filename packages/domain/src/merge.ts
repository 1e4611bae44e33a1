import { z } from "zod";

import type { Address, ContactData, Email, Phone } from "./contact.js";
import { normalizeEmail } from "./email.js";

/**
 * Which side wins a field both the target and a source fill with different values: `target` (the
 * default) keeps the target's value and only fills its empty fields from the sources (in the order
 * given); `sources` takes the first source's value instead.
 */
export const MergePreference = z.enum(["target", "sources"]);
export type MergePreference = z.infer<typeof MergePreference>;

/** A field the target and a source both filled with different values (named, never shown). */
export interface MergeConflict {
  field: string;
  sourceId: string;
}

export interface MergeSource {
  id: string;
  data: ContactData;
}

export interface MergeResult {
  data: ContactData;
  conflicts: MergeConflict[];
}

/** Single-valued fields: filled when empty, conflicting when both sides differ. */
const SCALAR_FIELDS = [
  "prefix",
  "salutation",
  "firstName",
  "middleName",
  "lastName",
  "suffix",
  "nickname",
  "maidenName",
  "credentials",
  "jobTitle",
  "companyName",
  "username",
  "group",
  "accountId",
  "preferredPhoneLabel",
  "preferredAddressLabel",
  "taxId",
  "gender",
  "pronouns",
  "dateOfBirth",
  "dateOfDeath",
  "notes",
  "spouseId",
  "externalId",
  "originService",
  "imageUrl",
  "dateProfileLastUpdated",
  "communicationPreferencesLastConfirmed",
] as const satisfies readonly (keyof ContactData)[];

const isEmpty = (value: unknown): boolean => value === null || value === undefined || value === "";

/** The same address whatever its case, spacing or label. */
function addressKey(a: Address): string {
  const norm = (v: string | null): string => (v ?? "").trim().toLowerCase().replace(/\s+/g, " ");
  return JSON.stringify([a.line1, a.line2, a.city, a.state, a.postalCode, a.country].map(norm));
}

/** The same phone: its E.164 form when it has one, otherwise its digits. */
function phoneKey(p: Phone): string {
  return p.e164 ?? p.number.replace(/\D/g, "");
}

/**
 * The union of the target's and the sources' items, the first of equal keys kept; at most one
 * primary (the target's, else the first source's).
 */
function union<T extends { primary: boolean }>(
  lists: readonly (readonly T[])[],
  key: (item: T) => string,
): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  let primary = false;
  for (const list of lists) {
    for (const item of list) {
      const k = key(item);
      if (seen.has(k)) continue;
      seen.add(k);
      const keepPrimary: boolean = item.primary && !primary;
      primary ||= keepPrimary;
      out.push({ ...item, primary: keepPrimary });
    }
  }
  return out;
}

const unique = <T>(lists: readonly (readonly T[])[]): T[] => [...new Set(lists.flat())];

/**
 * Merges source contacts into a target: emails, phones and addresses unioned and de-duplicated by
 * normalized value; roles, user ids, delegates and custom fields unioned; empty fields of the
 * target filled from the sources (or, with `prefer: "sources"`, the sources' values taken). The
 * target keeps its status, lock and integration flags. Links to the target or a source (spouse,
 * delegates) are dropped: those contacts become one. Pure: the caller validates and stores.
 */
export function mergeContacts(
  target: MergeSource,
  sources: readonly MergeSource[],
  prefer: MergePreference = "target",
): MergeResult {
  const merged: ContactData = { ...target.data };
  const conflicts: MergeConflict[] = [];
  const all = [target, ...sources];
  const ids = new Set(all.map((c) => c.id));

  if (merged.spouseId !== null && ids.has(merged.spouseId)) merged.spouseId = null;
  for (const field of SCALAR_FIELDS) {
    for (const source of sources) {
      const theirs = source.data[field];
      if (isEmpty(theirs) || (field === "spouseId" && ids.has(String(theirs)))) continue;
      const ours = merged[field];
      if (isEmpty(ours)) {
        (merged as Record<string, unknown>)[field] = theirs;
      } else if (ours !== theirs) {
        conflicts.push({ field, sourceId: source.id });
        if (prefer === "sources" && ours === target.data[field]) {
          (merged as Record<string, unknown>)[field] = theirs;
        }
      }
    }
  }

  merged.emails = union<Email>(
    all.map((c) => c.data.emails),
    (e) => normalizeEmail(e.address),
  );
  merged.phones = union<Phone>(
    all.map((c) => c.data.phones),
    phoneKey,
  );
  merged.addresses = union<Address>(
    all.map((c) => c.data.addresses),
    addressKey,
  );
  merged.roles = unique(all.map((c) => c.data.roles));
  merged.userIds = unique(all.map((c) => c.data.userIds));
  merged.communicationPreferences = unique(all.map((c) => c.data.communicationPreferences));
  merged.portalDelegates = unique(all.map((c) => c.data.portalDelegates)).filter((id) => !ids.has(id));

  const social = { ...merged.social };
  for (const source of sources) {
    for (const [key, value] of Object.entries(source.data.social) as [keyof typeof social, string | null][]) {
      if (isEmpty(value)) continue;
      if (isEmpty(social[key])) social[key] = value;
      else if (social[key] !== value) {
        conflicts.push({ field: `social.${key}`, sourceId: source.id });
        if (prefer === "sources" && social[key] === target.data.social[key]) social[key] = value;
      }
    }
  }
  merged.social = social;

  // A "do not contact" wish expressed on any of the records holds for the merged one.
  const prefs = { ...merged.notificationPreferences };
  for (const source of sources) {
    for (const [key, value] of Object.entries(source.data.notificationPreferences) as [
      keyof typeof prefs,
      boolean,
    ][]) {
      prefs[key] ||= value;
    }
  }
  merged.notificationPreferences = prefs;

  const custom = { ...merged.customFields };
  for (const source of sources) {
    for (const [key, value] of Object.entries(source.data.customFields)) {
      if (!(key in custom) || isEmpty(custom[key])) custom[key] = value;
      else if (!isEmpty(value) && custom[key] !== value) {
        conflicts.push({ field: `customFields.${key}`, sourceId: source.id });
        if (prefer === "sources" && custom[key] === target.data.customFields[key]) custom[key] = value;
      }
    }
  }
  merged.customFields = custom;

  return { data: merged, conflicts };
}
