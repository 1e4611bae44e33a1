import { z } from "zod";

/** The label of an email, phone or address. */
export const ContactPointLabel = z.enum([
  "home",
  "work",
  "mobile",
  "work_mobile",
  "school",
  "fax",
  "seasonal",
  "alternate",
  "other",
]);
export type ContactPointLabel = z.infer<typeof ContactPointLabel>;

/** A server-generated identifier. */
export const Id = z.uuid();
export type Id = z.infer<typeof Id>;

/** A tenant id: a lower-case slug. */
export const TenantId = z
  .string()
  .min(2)
  .max(63)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "lower-case letters, digits and inner dashes");
export type TenantId = z.infer<typeof TenantId>;

/** Trimmed text with a length limit; blank becomes null. */
export function optionalText(max: number) {
  return z
    .string()
    .trim()
    .max(max)
    .nullish()
    .transform((v) => (v === undefined || v === null || v === "" ? null : v));
}

/**
 * A lookup by one of several identities (`{ id }` or `{ type, key }`): exactly one of `forms` is
 * given, and all of its fields. None given is `required` on the first form's first field; a second
 * form is `invalid` on its first field; a form given in part is `required` on each missing field.
 */
export function exactlyOneIdentity(forms: readonly (readonly string[])[]) {
  const names = forms.map((f) => f.join(" + ")).join(" or ");
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const given = forms.filter((form) => form.some((key) => value[key] !== undefined));
    const issue = (key: string, reason: "required" | "invalid", message: string) =>
      ctx.addIssue({ code: "custom", path: [key], message, params: { reason } });
    const [first, second] = given;
    if (!first) return issue(forms[0]?.[0] ?? "id", "required", `give ${names}`);
    if (second) return issue(second[0] ?? "id", "invalid", `give ${names}, not both`);
    for (const key of first)
      if (value[key] === undefined) issue(key, "required", `${first.join(" + ")} go together`);
  };
}

/** A cursor-paged list request: `limit` 1..1000 (default 50) and an opaque cursor. */
export const PageInput = z.object({
  cursor: z.string().min(1).max(512).nullish(),
  limit: z.number().int().min(1).max(1000).default(50),
});
export type PageInput = z.infer<typeof PageInput>;

/** A page of results; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Audit fields every stored record carries. */
export const Audit = {
  version: z.number().int().min(1),
  createdAt: z.iso.datetime({ offset: true }),
  createdBy: z.string(),
  updatedAt: z.iso.datetime({ offset: true }),
  updatedBy: z.string(),
};
