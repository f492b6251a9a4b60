import { hasScope, AuthError, type CredentialVerifier, type Principal } from './principal.js';
import { parseBearer, verifyBearer } from './bearer.js';

/**
 * What the OTLP receivers call with the request's `authorization` header (HTTP header or gRPC
 * metadata). Resolves to the sender, or undefined for unauthenticated ingest; throws AuthError.
 */
export type IngestAuthenticator = (authorization: string | undefined) => Promise<Principal | undefined>;

/**
 * With `required`, every request needs a bearer credential with the `ingest` scope (as the
 * OpenTelemetry Collector's `bearertokenauth`). Without it, a request with no header is let in
 * unauthenticated, but a header that is sent is still verified: a bad token is never ignored.
 */
export function createIngestAuthenticator(verifiers: readonly CredentialVerifier[], required: boolean): IngestAuthenticator {
  return async (authorization) => {
    if (authorization === undefined || authorization === '') {
      if (required) throw new AuthError(401, 'ingest needs authorization: send the header "authorization: Bearer <token>" with a token of scope ingest');
      return undefined;
    }
    const principal = await verifyBearer(verifiers, parseBearer(authorization));
    if (!hasScope(principal, 'ingest')) throw new AuthError(403, `${principal.name} lacks the scope "ingest" needed to send data`);
    return principal;
  };
}
