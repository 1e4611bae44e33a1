import type { Permission } from "@contacts/domain/permissions";
import type { TenantSettings } from "@contacts/domain/tenant";

/** Who is calling: an authenticated credential bound to one tenant, with its permissions. */
export interface Principal {
  kind: "apiKey";
  tenantId: string;
  /** Stable id of the credential, recorded as created/updated by (`apikey:<uuid>`). */
  subject: string;
  permissions: ReadonlySet<Permission>;
  tenantSettings: TenantSettings;
}
