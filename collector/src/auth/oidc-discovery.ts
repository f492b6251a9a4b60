/** The parts of an issuer's `/.well-known/openid-configuration` the collector uses. */
export interface OidcProviderMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
}

const DISCOVERY_TIMEOUT_MS = 10_000;

/**
 * Fetches and checks the issuer's discovery document. Its `issuer` must equal the configured
 * one exactly (OpenID Connect Discovery §4.3), or a document served elsewhere could point
 * the collector at someone else's keys.
 */
export async function discoverProvider(issuer: string): Promise<OidcProviderMetadata> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: 'error', headers: { accept: 'application/json' } });
  } catch (err) {
    throw new Error(`OIDC discovery: cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`OIDC discovery: ${url} answered ${res.status}`);
  let doc: unknown;
  try {
    doc = await res.json();
  } catch {
    throw new Error(`OIDC discovery: ${url} is not JSON`);
  }
  if (!doc || typeof doc !== 'object') throw new Error(`OIDC discovery: ${url} is not a JSON object`);
  const meta = doc as Record<string, unknown>;
  if (meta.issuer !== issuer) throw new Error(`OIDC discovery: ${url} names issuer ${JSON.stringify(meta.issuer)}, not auth.oidc.issuer ${JSON.stringify(issuer)}`);
  if (typeof meta.jwks_uri !== 'string') throw new Error(`OIDC discovery: ${url} has no jwks_uri`);
  const optionalString = (k: string) => (typeof meta[k] === 'string' ? (meta[k] as string) : undefined);
  const methods = meta.token_endpoint_auth_methods_supported;
  return {
    issuer,
    jwks_uri: meta.jwks_uri,
    authorization_endpoint: optionalString('authorization_endpoint'),
    token_endpoint: optionalString('token_endpoint'),
    token_endpoint_auth_methods_supported: Array.isArray(methods) ? methods.filter((m): m is string => typeof m === 'string') : undefined,
  };
}
