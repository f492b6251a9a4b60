/**
 * Who is calling, and what they may do: the one shape every face (OTLP receivers, REST, SQL,
 * MCP, dashboard, CLI) authorises against. Built by the verifiers (API tokens, OIDC/JWT,
 * browser sessions) or, on a loopback-only API, by the anonymous loopback rule.
 */

export const SCOPES = ['ingest', 'read', 'sql', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Read rules: which stored data a principal may see. An empty or absent list means no limit on
 * that dimension. Applied inside the SQL the collector runs (its own queries and user SQL) by
 * reading through filtered views, never by filtering results afterwards.
 */
export interface ReadRules {
  /** `ServiceName` values the principal may read. */
  services?: string[];
  /** `deployment.environment.name` (or legacy `deployment.environment`) resource attribute values. */
  environments?: string[];
}

export interface Principal {
  /** Stable identifier for audit lines: `token:<id>`, `oidc:<sub>`, `session:<id>`, `anonymous:loopback`. */
  id: string;
  kind: 'token' | 'oidc' | 'session' | 'anonymous';
  /** A human name (token name, OIDC subject's name or email). */
  name: string;
  scopes: ReadonlySet<Scope>;
  rules: ReadRules;
}

/** True when the rules restrict nothing. */
export function unrestricted(rules: ReadRules): boolean {
  return !rules.services?.length && !rules.environments?.length;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  // admin implies every other scope.
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

/**
 * A refused credential. 401: none, unknown, expired or invalid (`WWW-Authenticate: Bearer`);
 * 403: valid, but without the scope the request needs. The message names the problem and never
 * echoes the credential.
 */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly statusCode: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One kind of credential (API tokens, JWTs, session cookies). `verify` answers `undefined`
 * when the credential is not of its kind (so the next verifier is tried), a Principal when it
 * is valid, and throws AuthError(401) when it is of its kind but invalid, expired or revoked.
 */
export interface CredentialVerifier {
  readonly kind: string;
  verify(bearer: string): Promise<Principal | undefined>;
}

/** The principal of a request on a loopback-only API with no credentials sent. */
export const LOOPBACK_ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous:loopback',
  kind: 'anonymous',
  name: 'anonymous (loopback)',
  scopes: new Set<Scope>(SCOPES),
  rules: {},
});
