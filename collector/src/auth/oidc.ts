import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { AuthConfig } from './config.js';
import { isLoopbackHost } from './loopback.js';
import { discoverProvider, type OidcProviderMetadata } from './oidc-discovery.js';
import { principalFromClaims } from './oidc-roles.js';
import { AuthError, type CredentialVerifier, type Principal } from './principal.js';

export type OidcConfig = AuthConfig['oidc'];

/**
 * Only asymmetric signatures: a JWKS holds public keys, and accepting HS* would let anyone
 * holding the public key sign (algorithm confusion); `none` is never accepted.
 */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Seconds of clock difference tolerated between the issuer and the collector for exp/nbf/iat. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** A JWT: three base64url parts (the signature is empty in an `alg: none` token, refused later). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A failed discovery is retried after this long, not on every request (the issuer may be down). */
const DISCOVERY_RETRY_MS = 5_000;

export interface OidcVerifierOptions {
  /**
   * Least time between two JWKS fetches caused by an unknown `kid` (jose's cooldown): a
   * rotated key is picked up within it, and forged kids cannot make the collector hammer the issuer.
   */
  jwksCooldownMs?: number;
}

export interface OidcVerifier extends CredentialVerifier {
  readonly kind: 'oidc';
  /** The issuer's discovery document (authorization and token endpoints for browser login). */
  provider(): Promise<OidcProviderMetadata>;
  /** Verifies an id_token from the authorization-code flow: audience `client_id` and the login's nonce. */
  verifyIdToken(idToken: string, nonce: string): Promise<Principal>;
}

/**
 * Verifies JWT bearer tokens against the configured issuer's JWKS (fetched from `jwks_uri` or
 * the discovery document, cached and refetched on an unknown `kid`, so key rotation works), and
 * maps the token's roles to scopes and read rules. Refuses to build with an unsafe config.
 */
export function createOidcVerifier(config: OidcConfig, logger: Logger, options: OidcVerifierOptions = {}): OidcVerifier {
  checkOidcConfig(config);
  const log = logger.child({ component: 'oidc' });
  const cooldownDuration = options.jwksCooldownMs ?? 5_000;

  let discovery: Promise<OidcProviderMetadata> | undefined;
  let discoveryFailedAt = 0;
  const provider = (): Promise<OidcProviderMetadata> => {
    if (discovery) return discovery;
    if (Date.now() - discoveryFailedAt < DISCOVERY_RETRY_MS) return Promise.reject(new Error('OIDC discovery failed moments ago; retrying shortly'));
    discovery = discoverProvider(config.issuer);
    discovery.catch((err: Error) => {
      log.warn({ err: err.message }, 'OIDC discovery failed');
      discovery = undefined;
      discoveryFailedAt = Date.now();
    });
    return discovery;
  };

  let jwks: JWTVerifyGetKey | undefined = config.jwks_uri ? createRemoteJWKSet(new URL(config.jwks_uri), { cooldownDuration }) : undefined;
  const keys = async (): Promise<JWTVerifyGetKey> => {
    jwks ??= createRemoteJWKSet(new URL((await provider()).jwks_uri), { cooldownDuration });
    return jwks;
  };

  async function verifyJwt(token: string, audience: string): Promise<JWTPayload> {
    // Checked before any key lookup: a foreign token gets a clear answer and costs no JWKS fetch.
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new AuthError(401, 'the bearer token is not a well-formed JWT');
    }
    if (unverified.iss !== config.issuer) throw new AuthError(401, `the JWT was not issued by auth.oidc.issuer (${config.issuer})`);
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await keys();
    } catch (err) {
      throw new AuthError(401, `cannot verify the JWT: the issuer's keys are unavailable (${(err as Error).message})`);
    }
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: config.issuer,
        audience,
        algorithms: OIDC_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch (err) {
      throw refusal(err, audience, log);
    }
  }

  return {
    kind: 'oidc',
    provider,
    async verify(bearer) {
      if (!JWT_SHAPE.test(bearer)) return undefined;
      return principalFromClaims(await verifyJwt(bearer, config.audience), config);
    },
    async verifyIdToken(idToken, nonce) {
      const audience = config.client_id || config.audience;
      const claims = await verifyJwt(idToken, audience);
      if (claims.nonce !== nonce) throw new AuthError(401, 'the id_token does not carry the nonce of this login');
      // OpenID Connect Core §3.1.3.7: with several audiences, the token must be meant for us.
      if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== audience) throw new AuthError(401, 'the id_token was issued to another client (azp)');
      return principalFromClaims(claims, config);
    },
  };
}

/**
 * Refuses (ConfigError, naming the setting) an OIDC config that would accept more than meant:
 * no audience, no role, or keys fetched over plain HTTP from another machine.
 */
function checkOidcConfig(config: OidcConfig): void {
  if (!config.issuer) throw new ConfigError('auth.oidc.issuer', 'empty: OIDC is off, its verifier must not be built');
  checkUrl('auth.oidc.issuer', config.issuer);
  if (config.jwks_uri) checkUrl('auth.oidc.jwks_uri', config.jwks_uri);
  if (config.redirect_uri) checkUrl('auth.oidc.redirect_uri', config.redirect_uri, { loopbackHttpOnly: false });
  if (!config.audience) {
    throw new ConfigError('auth.oidc.audience', 'required with auth.oidc.issuer: without it a token the issuer made for any other application would be accepted');
  }
  if (Object.keys(config.roles).length === 0) {
    throw new ConfigError('auth.oidc.roles', 'maps no role: every OIDC user would be refused; map at least one value of auth.oidc.roles_claim to scopes');
  }
}

/** An absolute http(s) URL; plain http only to loopback (keys fetched over it could be swapped on the way). */
function checkUrl(key: string, value: string, { loopbackHttpOnly = true } = {}): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(key, `${JSON.stringify(value)} is not an absolute URL`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (!loopbackHttpOnly || isLoopbackHost(url.hostname))) return;
  throw new ConfigError(key, `${JSON.stringify(value)} must be https:// (plain http is accepted for loopback only)`);
}

/** A jose failure as a 401 naming the problem (never the token). */
function refusal(err: unknown, audience: string, log: Logger): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError(401, 'the JWT has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return new AuthError(401, `the JWT's audience is not auth.oidc.audience (${audience})`);
      case 'nbf':
        return new AuthError(401, 'the JWT is not valid yet (nbf)');
      case 'iss':
        return new AuthError(401, 'the JWT was not issued by auth.oidc.issuer');
      default:
        return new AuthError(401, `the JWT's "${err.claim}" claim is invalid: ${err.reason}`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new AuthError(401, `the JWT's signature algorithm is not accepted (only ${OIDC_ALGORITHMS.join(', ')})`);
  }
  if (err instanceof errors.JWKSNoMatchingKey) return new AuthError(401, "no key of the issuer's JWKS matches the JWT (unknown kid or key type)");
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new AuthError(401, "several keys of the issuer's JWKS match the JWT and none verifies it");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthError(401, "the JWT's signature does not verify");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new AuthError(401, 'the bearer token is not a well-formed JWT');
  // Fetching the JWKS failed (timeout, network, bad document): the issuer's problem, not the caller's.
  log.warn({ err: (err as Error).message }, 'JWT verification failed for a reason other than the token');
  return new AuthError(401, `cannot verify the JWT: the issuer's keys are unavailable (${(err as Error).message})`);
}
