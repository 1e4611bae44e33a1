import { z } from "zod";

import { exactlyOneIdentity, Id, optionalText, PageInput } from "./common.js";
import type { Audit } from "./common.js";
import { CONTACT_LIMITS } from "./contact.js";
import { isValidEmail } from "./email.js";
import { ErrorReason } from "./errors.js";

/** The kind of account, e.g. `CLOUD`. */
export const AccountType = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(/^[A-Z][A-Z0-9_]*$/, "upper-case letters, digits and underscores");
export type AccountType = z.infer<typeof AccountType>;

/** The external account number, unique per type within a tenant. */
export const AccountKey = z.string().trim().min(1).max(100);
export type AccountKey = z.infer<typeof AccountKey>;

/** An account named by its external identity (Rackspace `customer_accounts/{accountType}/{accountId}`). */
export const AccountRef = z.strictObject({ type: AccountType, key: AccountKey });
export type AccountRef = z.infer<typeof AccountRef>;
/**
 * The account's (organization's) postal address, the one contacts linked to it take as their work
 * address (`linkWorkAddressToAccount`); the limits of a contact's address.
 */
export const AccountAddress = z.strictObject({
  line1: optionalText(CONTACT_LIMITS.text),
  line2: optionalText(CONTACT_LIMITS.text),
  city: optionalText(CONTACT_LIMITS.name),
  state: optionalText(CONTACT_LIMITS.name),
  postalCode: optionalText(20),
  country: optionalText(CONTACT_LIMITS.name),
});
export type AccountAddress = z.output<typeof AccountAddress>;

export const AccountInput = z.strictObject({
  type: AccountType,
  key: AccountKey,
  name: z.string().trim().min(1).max(255),
  parentId: Id.nullish().transform((v) => v ?? null),
  /** Null (or absent, or holding no line at all): the account has no address. */
  address: AccountAddress.nullish().transform((v) =>
    v && Object.values(v).some((x) => x !== null) ? v : null,
  ),
});
export type AccountInput = z.input<typeof AccountInput>;
export type Account = z.output<typeof AccountInput> & { id: string } & {
  [K in keyof typeof Audit]: z.infer<(typeof Audit)[K]>;
};

/** `accounts.get`: by `{ id }` or by `{ type, key }`, exactly one. */
export const AccountGetInput = z
  .strictObject({ id: Id.optional(), type: AccountType.optional(), key: AccountKey.optional() })
  .superRefine(exactlyOneIdentity([["id"], ["type", "key"]]));
export type AccountGetInput = z.infer<typeof AccountGetInput>;

/**
 * `accounts.list`: one page of the tenant's accounts, oldest first. `parentId` null lists the
 * top-level accounts, an id lists that account's children, absent lists all; `type` keeps one type.
 */
export const AccountListInput = z.strictObject({
  ...PageInput.shape,
  parentId: Id.nullable().optional(),
  type: AccountType.optional(),
});
export type AccountListInput = z.infer<typeof AccountListInput>;

export const ChannelLabel = z.enum(["general", "service_desk", "fax", "service_desk_fax"]);
export type ChannelLabel = z.infer<typeof ChannelLabel>;

const channelValue = z.string().trim().min(1).max(255).nullish();
/** An over-long address is reported as too long only, not also as invalid. */
const emailValue = channelValue.refine((v) => v == null || v.length > 255 || isValidEmail(v), {
  message: "not a valid email address",
});

/** The values a channel holds one of. */
const CHANNEL_VALUES = ["telephone", "email", "website"] as const;
type ChannelValueKey = (typeof CHANNEL_VALUES)[number];

/** Exactly one of telephone, email, website; fax labels need a telephone. */
function checkChannel(
  c: { label: ChannelLabel } & Partial<Record<ChannelValueKey, string | null>>,
  ctx: z.RefinementCtx,
): void {
  const set = CHANNEL_VALUES.filter((k) => c[k] != null);
  if (set.length !== 1) {
    ctx.addIssue({
      code: "custom",
      path: set.length === 0 ? ["telephone"] : [set[1] ?? "telephone"],
      message: "exactly one of telephone, email, website",
      params: { reason: set.length === 0 ? ErrorReason.required : ErrorReason.invalid },
    });
  }
  if ((c.label === "fax" || c.label === "service_desk_fax") && c.telephone == null) {
    ctx.addIssue({
      code: "custom",
      path: ["label"],
      message: "fax labels are only for a telephone",
      params: { reason: ErrorReason.invalid },
    });
  }
}

/** An account's contact channel: exactly one of telephone, email, website; fax labels need a telephone. */
export const ChannelInput = z
  .strictObject({
    /** Required, as the ITSM seed says: there is no default label. */
    label: ChannelLabel,
    telephone: channelValue,
    email: emailValue,
    website: channelValue,
    integration: z.boolean().default(false),
  })
  .superRefine(checkChannel);
export type ChannelInput = z.input<typeof ChannelInput>;
export type Channel = z.output<typeof ChannelInput> & { id: string };

/**
 * A change to a stored channel: the fields given take the new value (null clears a telephone,
 * email or website), the others stay. The merged channel must still be a valid ChannelInput.
 */
export const ChannelPatchInput = z.strictObject({
  label: ChannelLabel.optional(),
  telephone: channelValue,
  email: emailValue,
  website: channelValue,
  integration: z.boolean().optional(),
});
export type ChannelPatchInput = z.infer<typeof ChannelPatchInput>;

/** A stored channel's editable values. */
export interface ChannelValues {
  label: ChannelLabel;
  telephone: string | null;
  email: string | null;
  website: string | null;
  integration: boolean;
}

/** A patched channel, or the issues that keep it from being one (paths relative to the channel). */
export type PatchedChannel =
  { success: true; data: z.output<typeof ChannelInput> } | { success: false; issues: z.core.$ZodIssue[] };

/**
 * Applies a (validated) patch to a stored channel and checks the result against the ChannelInput
 * rules. When the result holds two values, the issue names the one the patch sent, not the stored one.
 */
export function patchChannel(current: ChannelValues, patch: ChannelPatchInput): PatchedChannel {
  const merged: ChannelValues = {
    label: patch.label ?? current.label,
    telephone: patch.telephone === undefined ? current.telephone : patch.telephone,
    email: patch.email === undefined ? current.email : patch.email,
    website: patch.website === undefined ? current.website : patch.website,
    integration: patch.integration ?? current.integration,
  };
  const result = ChannelInput.safeParse(merged);
  if (result.success) return { success: true, data: result.data };
  const sent = CHANNEL_VALUES.find((k) => patch[k] != null);
  const isStoredSecondValue = (issue: z.core.$ZodIssue) =>
    issue.code === "custom" &&
    issue.path.length === 1 &&
    CHANNEL_VALUES.some((k) => k === issue.path[0] && merged[k] != null && patch[k] === undefined);
  return {
    success: false,
    issues: result.error.issues.map((issue) =>
      sent && isStoredSecondValue(issue) ? { ...issue, path: [sent] } : issue,
    ),
  };
}
