import { AuthError, type CredentialVerifier, type Principal } from './principal.js';

/** The credential of an `Authorization: Bearer <credential>` header; AuthError(401) for any other form. */
export function parseBearer(header: string): string {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) throw new AuthError(401, 'Authorization header: expected "Bearer <token>"');
  return match[1]!;
}

/**
 * Asks each verifier in turn; the first that recognises the credential decides. A credential
 * no verifier recognises is refused.
 */
export async function verifyBearer(verifiers: readonly CredentialVerifier[], bearer: string): Promise<Principal> {
  for (const verifier of verifiers) {
    const principal = await verifier.verify(bearer);
    if (principal) return principal;
  }
  throw new AuthError(401, 'unrecognised bearer token: not a FlowTrace API token (ft_…) nor a JWT from the configured OIDC issuer');
}
