import { z } from 'zod';
import { SCOPES } from './principal.js';

const names = z.array(z.string().min(1)).default([]);

/** What an OIDC role (a value of `roles_claim`) grants. */
const roleGrant = z
  .object({
    scopes: z.array(z.enum(SCOPES)).min(1, 'a role grants at least one scope'),
    services: names,
    environments: names,
  })
  .strict();

/**
 * `auth:` — who may use the collector. See README "Security" for the per-port defaults:
 * the API needs credentials whenever it listens on anything but loopback; the OTLP receivers
 * accept unauthenticated data unless `ingest.required` is on (as the OpenTelemetry Collector).
 */
export const authConfigSchema = z
  .object({
    api: z
      .object({
        /** `auto`: credentials needed unless the API is bound to loopback only; `always`: needed everywhere. */
        require_credentials: z.enum(['auto', 'always']).default('auto'),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        /** OTLP receivers require `authorization: Bearer <token>` with the `ingest` scope. */
        required: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /**
     * The first admin token. If the file exists its content (one line) is registered as an
     * admin token; if not, a new token is created and written there (mode 0600).
     */
    bootstrap_token_file: z.string().default(''),
    oidc: z
      .object({
        /** Issuer URL; empty turns OIDC off. JWTs are verified against its JWKS. */
        issuer: z.string().default(''),
        /** Expected `aud`. */
        audience: z.string().default(''),
        /** Defaults to the issuer's discovery document's `jwks_uri`. */
        jwks_uri: z.string().default(''),
        /** Claim holding the caller's roles (a string or an array; dotted path allowed). */
        roles_claim: z.string().default('roles'),
        /** Role → scopes and read rules. A token whose roles map to nothing is refused (403). */
        roles: z.record(z.string(), roleGrant).default({}),
        /** Browser login (authorization-code flow with PKCE); empty client_id turns it off. */
        client_id: z.string().default(''),
        client_secret: z.string().default(''),
        redirect_uri: z.string().default(''),
      })
      .strict()
      .prefault({}),
    sessions: z
      .object({
        /** Browser sessions (HttpOnly cookie) end this long after login. */
        ttl_minutes: z.number().int().min(1).default(720),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /** Days the `flowtrace_audit` table keeps its rows. */
        retention_days: z.number().int().min(1).default(90),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type AuthConfig = z.infer<typeof authConfigSchema>;
