import { z } from "zod";

import { Id } from "./common.js";
import type { Audit } from "./common.js";
import { isValidEmail } from "./email.js";
import { ErrorReason } from "./errors.js";

export const AccountInput = z.strictObject({
  /** The kind of account, e.g. `CLOUD`. */
  type: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .regex(/^[A-Z][A-Z0-9_]*$/, "upper-case letters, digits and underscores"),
  /** The external account number, unique per type within a tenant. */
  key: z.string().trim().min(1).max(100),
  name: z.string().trim().min(1).max(255),
  parentId: Id.nullish().transform((v) => v ?? null),
});
export type AccountInput = z.input<typeof AccountInput>;
export type Account = z.output<typeof AccountInput> & { id: string } & {
  [K in keyof typeof Audit]: z.infer<(typeof Audit)[K]>;
};

export const ChannelLabel = z.enum(["general", "service_desk", "fax", "service_desk_fax"]);
export type ChannelLabel = z.infer<typeof ChannelLabel>;

const channelValue = z.string().trim().min(1).max(255).nullish();

/** An account's contact channel: exactly one of telephone, email, website; fax labels need a telephone. */
export const ChannelInput = z
  .strictObject({
    label: ChannelLabel.default("general"),
    telephone: channelValue,
    email: channelValue.refine((v) => v == null || isValidEmail(v), { message: "not a valid email address" }),
    website: channelValue,
    integration: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    const set = (["telephone", "email", "website"] as const).filter((k) => c[k] != null);
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
  });
export type ChannelInput = z.input<typeof ChannelInput>;
export type Channel = z.output<typeof ChannelInput> & { id: string };
