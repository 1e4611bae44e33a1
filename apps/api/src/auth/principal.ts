import type { Permission } from "@contacts/domain/permissions";
import type { TenantSettings } from "@contacts/domain/tenant";

/** The three kinds of caller: a tenant API key, a service token (JWT), a portal user's ID token (JWT). */
export type PrincipalKind = "apiKey" | "service" | "user";

/** Who is calling, in which tenant, with which permissions. Built by the authed base procedure. */
export interface Principal {
  kind: PrincipalKind;
  tenantId: string;
  /** Stable id of the caller, recorded as created/updated by: `apikey:<uuid>`, `service:<sub>`, `user:<sub>`. */
  subject: string;
  /** The portal user id of a user token (what `me.*` links to); null for keys and services. */
  userId: string | null;
  /** A service token valid for every tenant (`tenants: "*"`): may create tenants. */
  platform: boolean;
  permissions: ReadonlySet<Permission>;
  tenantSettings: TenantSettings;
}

/** What a credential proves before its tenant is loaded. */
export type Credential = Omit<Principal, "tenantSettings">;
