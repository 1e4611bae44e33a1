import fs from "node:fs";

import { createLocalJWKSet, errors as joseErrors, jwtVerify } from "jose";
import type { JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { Permission } from "@contacts/domain/permissions";
import { TenantId } from "@contacts/domain/common";
import { isUnsafeText } from "@contacts/domain/text";

import type { Credential } from "./principal.js";

/** How one kind of token (service or user) is verified. */
export interface JwtConfig {
  /** HS256 shared secret (at least 32 bytes). */
  secret?: string | undefined;
  /** Path of a JSON Web Key Set file with the issuer's public keys (RS256, ES256, EdDSA, ...). */
  jwksFile?: string | undefined;
  /** Required `iss`, when set. */
  issuer?: string | undefined;
  /** Required `aud`. */
  audience: string;
}

/**
 * Service tokens and user ID tokens come from different issuers and are verified with different
 * keys: whoever can sign portal user tokens must not be able to mint a service token.
 */
export interface TokenConfig {
  service: JwtConfig;
  user: JwtConfig;
}

/** Permissions a token may carry; unknown names are ignored, not fatal (catalogues grow). */
const Permissions = z
  .array(z.string())
  .default([])
  .transform((names) => names.filter((n): n is Permission => Permission.safeParse(n).success));

/**
 * A token's subject becomes `createdBy`, a portal user's id and part of idempotency keys, all stored
 * as text: one PostgreSQL cannot store (NUL, a lone surrogate) makes the token invalid (401), not a 500.
 */
const Subject = z
  .string()
  .min(1)
  .max(200)
  .refine((sub) => !isUnsafeText(sub));

/** Claims of a service-to-service token: its tenants (`*` for all), permissions, subject. */
const ServiceClaims = z.object({
  kind: z.literal("service"),
  sub: Subject,
  exp: z.number(),
  tenants: z.union([z.literal("*"), z.array(TenantId).min(1).max(1000)]),
  permissions: Permissions,
});
type ServiceClaims = z.infer<typeof ServiceClaims>;

/** Claims of a portal user's ID token: the user (subject) and the one tenant it belongs to. */
const UserClaims = z.object({
  kind: z.literal("user"),
  sub: Subject,
  exp: z.number(),
  tenant: TenantId,
});
type UserClaims = z.infer<typeof UserClaims>;

const HMAC_ALGORITHMS = ["HS256"];
const PUBLIC_KEY_ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];
/** Tokens are short-lived: one issued longer ago than this is refused whatever its `exp`. */
const MAX_TOKEN_AGE = "24h";
const CLOCK_TOLERANCE_SECONDS = 30;

/** Verifies one kind of token with jose: signature, `exp`/`nbf`/`iat`, issuer, audience, then claims. */
class TokenVerifier<T> {
  private constructor(
    private readonly key: Uint8Array | JWTVerifyGetKey,
    private readonly algorithms: string[],
    private readonly config: JwtConfig,
    private readonly claims: z.ZodType<T>,
  ) {}

  static fromConfig<T>(name: string, config: JwtConfig, claims: z.ZodType<T>): TokenVerifier<T> | null {
    if (config.secret) {
      const secret = new TextEncoder().encode(config.secret);
      if (secret.length < 32) throw new Error(`the ${name} token secret must be at least 32 bytes`);
      return new TokenVerifier(secret, HMAC_ALGORITHMS, config, claims);
    }
    if (config.jwksFile) {
      const jwks = JSON.parse(fs.readFileSync(config.jwksFile, "utf8")) as Parameters<
        typeof createLocalJWKSet
      >[0];
      return new TokenVerifier(createLocalJWKSet(jwks), PUBLIC_KEY_ALGORITHMS, config, claims);
    }
    return null;
  }

  /** The token's claims, or null when it is not a valid token of this kind. */
  async verify(token: string): Promise<T | null> {
    const options = {
      algorithms: this.algorithms,
      audience: this.config.audience,
      requiredClaims: ["exp", "iat", "sub"],
      maxTokenAge: MAX_TOKEN_AGE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(this.config.issuer ? { issuer: this.config.issuer } : {}),
    };
    try {
      const { payload } =
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, options)
          : await jwtVerify(token, this.key, options);
      const claims = this.claims.safeParse(payload);
      return claims.success ? claims.data : null;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return null;
      throw error;
    }
  }
}

/** What a platform token (a service token for every tenant) proves: no tenant is bound. */
export interface PlatformCredential {
  subject: string;
  permissions: ReadonlySet<Permission>;
}

/** Service and user tokens, each checked by its own issuer's key. */
export class JwtVerifier {
  private constructor(
    private readonly service: TokenVerifier<ServiceClaims> | null,
    private readonly user: TokenVerifier<UserClaims> | null,
  ) {}

  /** The verifiers for the configuration, or null when neither kind of token is configured. */
  static fromConfig(config: TokenConfig): JwtVerifier | null {
    if (config.service.secret && config.service.secret === config.user.secret) {
      throw new Error("service and user tokens must not share a secret");
    }
    const service = TokenVerifier.fromConfig("service", config.service, ServiceClaims);
    const user = TokenVerifier.fromConfig("user", config.user, UserClaims);
    return service || user ? new JwtVerifier(service, user) : null;
  }

  /** The platform credential a token proves (a service token with `tenants: "*"`), or null. */
  async platformCredential(token: string): Promise<PlatformCredential | null> {
    const claims = await this.service?.verify(token);
    if (claims?.tenants !== "*") return null;
    return { subject: `service:${claims.sub}`, permissions: new Set(claims.permissions) };
  }

  /**
   * The credential a token proves for the tenant asked for (`X-Tenant-Id`, needed only when a
   * service token covers several tenants), with the token's expiry; or null.
   */
  async credential(
    token: string,
    requestedTenant: string | null,
  ): Promise<{ credential: Credential; expiresAt: Date } | null> {
    const service = await this.service?.verify(token);
    if (service) {
      const credential = serviceCredential(service, requestedTenant);
      return credential ? { credential, expiresAt: new Date(service.exp * 1000) } : null;
    }
    const user = await this.user?.verify(token);
    if (!user || (requestedTenant && requestedTenant !== user.tenant)) return null;
    return {
      credential: {
        kind: "user",
        tenantId: user.tenant,
        subject: `user:${user.sub}`,
        userId: user.sub,
        platform: false,
        // A portal user acts on their own contact (me.*) only; the API's data needs a key or service token.
        permissions: new Set(),
      },
      expiresAt: new Date(user.exp * 1000),
    };
  }
}

function serviceCredential(claims: ServiceClaims, requestedTenant: string | null): Credential | null {
  const platform = claims.tenants === "*";
  const only = Array.isArray(claims.tenants) && claims.tenants.length === 1 ? claims.tenants[0] : null;
  const tenantId = requestedTenant ?? only ?? null;
  if (!tenantId) return null;
  if (!platform && !claims.tenants.includes(tenantId)) return null;
  return {
    kind: "service",
    tenantId,
    subject: `service:${claims.sub}`,
    userId: null,
    platform,
    permissions: new Set(claims.permissions),
  };
}

/** True for something shaped like a compact JWS (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}
