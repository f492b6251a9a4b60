import { describe, expect, it } from 'vitest';
import { createIngestAuthenticator } from './ingest-auth.js';
import { AuthError, type CredentialVerifier, type Principal, type Scope } from './principal.js';

const principal = (scopes: Scope[]): Principal => ({ id: 'token:t', kind: 'token', name: 't', scopes: new Set(scopes), rules: {} });
const verifier: CredentialVerifier = {
  kind: 'test',
  async verify(bearer) {
    if (bearer === 'ingest-token') return principal(['ingest']);
    if (bearer === 'read-token') return principal(['read']);
    if (bearer === 'admin-token') return principal(['admin']);
    throw new AuthError(401, 'unknown API token');
  },
};

const status = (p: Promise<unknown>) => p.then(() => 'ok', (err: AuthError) => err.statusCode);

describe('ingest authenticator', () => {
  it('when required: refuses no header (401), a bad token (401), a token without ingest (403)', async () => {
    const auth = createIngestAuthenticator([verifier], true);
    expect(await status(auth(undefined))).toBe(401);
    expect(await status(auth('Bearer nope'))).toBe(401);
    expect(await status(auth('Basic dTpw'))).toBe(401);
    expect(await status(auth('Bearer read-token'))).toBe(403);
    expect((await auth('Bearer ingest-token'))?.id).toBe('token:t');
    expect((await auth('bearer admin-token'))?.id).toBe('token:t');
  });

  it('when not required: lets a request without a header in, still verifies a header that is sent', async () => {
    const auth = createIngestAuthenticator([verifier], false);
    expect(await auth(undefined)).toBeUndefined();
    expect(await status(auth('Bearer nope'))).toBe(401);
    expect(await status(auth('Bearer read-token'))).toBe(403);
    expect(await status(auth('Bearer ingest-token'))).toBe('ok');
  });
});
