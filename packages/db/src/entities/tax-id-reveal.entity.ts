import { defineEntity, p } from "@mikro-orm/core";
import type { InferEntity } from "@mikro-orm/core";

/**
 * One unmasked read of a contact's tax ID: who saw it, when, through which procedure. Append-only
 * (the application role may insert and read, never change or delete), kept after the contact goes.
 */
export const TaxIdRevealEntity = defineEntity({
  name: "TaxIdReveal",
  tableName: "tax_id_reveals",
  properties: {
    tenantId: p.string().primary(),
    id: p.uuid().primary(),
    contactId: p.uuid(),
    revealedBy: p.string(),
    revealedAt: p.datetime(),
    requestId: p.string().nullable(),
    via: p.string(),
  },
  primaryKeys: ["tenantId", "id"],
});
export type TaxIdRevealEntity = InferEntity<typeof TaxIdRevealEntity>;
