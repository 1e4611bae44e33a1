import fs from "node:fs";

import { createLocalJWKSet, errors as joseErrors, jwtVerify } from "jose";
import type { JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { Permission } from "@contacts/domain/permissions";
import { TenantId } from "@contacts/domain/common";

import type { Credential } from "./principal.js";

export interface JwtConfig {
  /** HS256 shared secret (at least 32 bytes). */
  secret?: string | undefined;
  /** Path of a JSON Web Key Set file with the issuers' public keys (RS256, ES256, EdDSA, ...). */
  jwksFile?: string | undefined;
  /** Required `iss`, when set. */
  issuer?: string | undefined;
  /** Required `aud`. */
  audience: string;
}

/** Permissions a token may carry; unknown names are ignored, not fatal (catalogues grow). */
const Permissions = z
  .array(z.string())
  .default([])
  .transform((names) => names.filter((n): n is Permission => Permission.safeParse(n).success));

/** Claims of a service-to-service token: its tenants (`*` for all), permissions, subject. */
const ServiceClaims = z.object({
  kind: z.literal("service"),
  exp: z.number(),
  sub: z.string().min(1).max(200),
  tenants: z.union([z.literal("*"), z.array(TenantId).min(1).max(1000)]),
  permissions: Permissions,
});

/** Claims of a portal user's ID token: the user (subject) and the one tenant it belongs to. */
const UserClaims = z.object({
  kind: z.literal("user"),
  exp: z.number(),
  sub: z.string().min(1).max(200),
  tenant: TenantId,
  permissions: Permissions,
});

const Claims = z.discriminatedUnion("kind", [ServiceClaims, UserClaims]);
type Claims = z.infer<typeof Claims>;

const HMAC_ALGORITHMS = ["HS256"];
const PUBLIC_KEY_ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];

/** Verifies service and user tokens with jose: signature, `exp`/`nbf`, issuer, audience, then claims. */
export class JwtVerifier {
  private constructor(
    private readonly key: Uint8Array | JWTVerifyGetKey,
    private readonly algorithms: string[],
    private readonly config: JwtConfig,
  ) {}

  /** A verifier for the configuration, or null when neither a secret nor a JWKS file is configured. */
  static fromConfig(config: JwtConfig): JwtVerifier | null {
    if (config.secret) {
      const secret = new TextEncoder().encode(config.secret);
      if (secret.length < 32) throw new Error("AUTH_JWT_SECRET must be at least 32 bytes");
      return new JwtVerifier(secret, HMAC_ALGORITHMS, config);
    }
    if (config.jwksFile) {
      const jwks = JSON.parse(fs.readFileSync(config.jwksFile, "utf8")) as Parameters<
        typeof createLocalJWKSet
      >[0];
      return new JwtVerifier(createLocalJWKSet(jwks), PUBLIC_KEY_ALGORITHMS, config);
    }
    return null;
  }

  /** The token's claims, or null when it is not a valid token for this service. */
  async verify(token: string): Promise<Claims | null> {
    try {
      const verifyOptions = {
        algorithms: this.algorithms,
        audience: this.config.audience,
        requiredClaims: ["exp", "sub"],
        ...(this.config.issuer ? { issuer: this.config.issuer } : {}),
      };
      const { payload } =
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, verifyOptions)
          : await jwtVerify(token, this.key, verifyOptions);
      const claims = Claims.safeParse(payload);
      return claims.success ? claims.data : null;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return null;
      throw error;
    }
  }

  /** The platform credential a token proves (`kind: "service"`, `tenants: "*"`), or null. */
  async platformCredential(token: string): Promise<PlatformCredential | null> {
    const claims = await this.verify(token);
    if (claims?.kind !== "service" || claims.tenants !== "*") return null;
    return { subject: `service:${claims.sub}`, permissions: new Set(claims.permissions) };
  }

  /**
   * The credential a token proves for the tenant asked for (`X-Tenant-Id`, needed only when a
   * service token covers several tenants), or null.
   */
  async credential(
    token: string,
    requestedTenant: string | null,
  ): Promise<{ credential: Credential; expiresAt: Date } | null> {
    const claims = await this.verify(token);
    if (!claims) return null;
    const credential = this.credentialOf(claims, requestedTenant);
    return credential ? { credential, expiresAt: new Date(claims.exp * 1000) } : null;
  }

  private credentialOf(claims: Claims, requestedTenant: string | null): Credential | null {
    const permissions = new Set(claims.permissions);
    if (claims.kind === "user") {
      if (requestedTenant && requestedTenant !== claims.tenant) return null;
      const userId = claims.sub;
      return {
        kind: "user",
        tenantId: claims.tenant,
        subject: `user:${userId}`,
        userId,
        platform: false,
        permissions,
      };
    }
    const platform = claims.tenants === "*";
    const tenantId =
      requestedTenant ??
      (Array.isArray(claims.tenants) && claims.tenants.length === 1 ? claims.tenants[0] : null);
    if (!tenantId) return null;
    if (!platform && !claims.tenants.includes(tenantId)) return null;
    return {
      kind: "service",
      tenantId,
      subject: `service:${claims.sub}`,
      userId: null,
      platform,
      permissions,
    };
  }
}

/** What a platform token (a service token for every tenant) proves: no tenant is bound. */
export interface PlatformCredential {
  subject: string;
  permissions: ReadonlySet<Permission>;
}

/** True for something shaped like a compact JWS (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}
