import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerApiAuth, type ApiAuthOptions } from './api-auth.js';
import type { AuditRecord } from './audit.js';
import { AuthError, type CredentialVerifier, type Principal, type Scope } from './principal.js';

const principal = (name: string, scopes: Scope[]): Principal => ({ id: `token:${name}`, kind: 'token', name, scopes: new Set(scopes), rules: {} });
const verifier: CredentialVerifier = {
  kind: 'test',
  async verify(bearer) {
    if (!bearer.startsWith('ft_')) return undefined;
    if (bearer === 'ft_reader') return principal('reader', ['read']);
    if (bearer === 'ft_admin') return principal('admin', ['admin']);
    throw new AuthError(401, 'unknown API token');
  },
};

function app(options: Partial<ApiAuthOptions> = {}) {
  const records: AuditRecord[] = [];
  const server = Fastify();
  registerApiAuth(server, { verifiers: [verifier], anonymousLoopback: false, allowedOrigins: [], audit: { record: (r) => records.push(r) }, ...options });
  server.get('/healthz', async () => ({ ok: true }));
  server.get('/api/services', async (req) => ({ who: req.principal.id }));
  server.post('/api/sql', async (req) => {
    req.auditRows = 3;
    return { who: req.principal.id };
  });
  server.get('/api/tokens', async () => ({ tokens: [] }));
  return { server, records };
}

describe('API auth hook', () => {
  it('refuses a request without credentials with 401 and WWW-Authenticate: Bearer', async () => {
    const { server } = app();
    const res = await server.inject({ url: '/api/services' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json().error).toMatch(/Authorization: Bearer/);
  });

  it('leaves public routes open', async () => {
    const { server } = app();
    expect((await server.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('refuses an unknown token, an unrecognised bearer and another scheme, never echoing them', async () => {
    const { server } = app();
    for (const authorization of ['Bearer ft_forged_secret_value', 'Bearer eyJhbGciOi.secret', 'Basic c2VjcmV0OnZhbHVl']) {
      const res = await server.inject({ url: '/api/services', headers: { authorization } });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain(authorization.split(' ')[1]);
    }
  });

  it('answers 403 naming the missing scope', async () => {
    const { server } = app();
    const res = await server.inject({ method: 'POST', url: '/api/sql', headers: { authorization: 'Bearer ft_reader' }, payload: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toContain('"sql"');
    expect((await server.inject({ url: '/api/tokens', headers: { authorization: 'Bearer ft_reader' } })).statusCode).toBe(403);
  });

  it('sets req.principal for a valid token; admin has every scope', async () => {
    const { server } = app();
    expect((await server.inject({ url: '/api/services', headers: { authorization: 'Bearer ft_reader' } })).json()).toEqual({ who: 'token:reader' });
    expect((await server.inject({ method: 'POST', url: '/api/sql', headers: { authorization: 'Bearer ft_admin' }, payload: {} })).statusCode).toBe(200);
  });

  it('on loopback lets requests without credentials in as anonymous, but still verifies a token that is sent', async () => {
    const { server } = app({ anonymousLoopback: true });
    expect((await server.inject({ url: '/api/tokens' })).statusCode).toBe(200);
    expect((await server.inject({ url: '/api/services', headers: { authorization: 'Bearer ft_bad' } })).statusCode).toBe(401);
  });

  it('on loopback gives no anonymous access to a page of another origin', async () => {
    const { server } = app({ anonymousLoopback: true, allowedOrigins: ['http://ui.example'] });
    const from = (origin: string) => server.inject({ url: '/api/services', headers: { origin, host: '127.0.0.1:8686' } });
    expect((await from('http://evil.example')).statusCode).toBe(401);
    expect((await from('http://127.0.0.1:8686')).statusCode).toBe(200);
    expect((await from('http://ui.example')).statusCode).toBe(200);
    // The same machine and port under another loopback name is the API's own page.
    expect((await from('http://localhost:8686')).statusCode).toBe(200);
    expect((await from('http://localhost:9999')).statusCode).toBe(401);
  });

  it('on loopback refuses anonymous requests a browser marks as coming from another site, even without Origin', async () => {
    const { server } = app({ anonymousLoopback: true });
    const fetched = (site: string) => server.inject({ url: '/api/services', headers: { host: '127.0.0.1:8686', 'sec-fetch-site': site } });
    expect((await fetched('cross-site')).statusCode).toBe(401);
    expect((await fetched('same-site')).statusCode).toBe(401);
    expect((await fetched('same-origin')).statusCode).toBe(200);
    expect((await fetched('none')).statusCode).toBe(200);
    expect((await server.inject({ url: '/api/services', headers: { host: '127.0.0.1:8686' } })).statusCode).toBe(200);
  });

  it('uses a browser session when there is no Authorization header', async () => {
    const sessions = { authenticate: async () => principal('browser', ['read']) };
    const { server } = app({ sessions });
    expect((await server.inject({ url: '/api/services' })).json()).toEqual({ who: 'token:browser' });
  });

  it('audits API requests and failures with who, what, status and size, never the token', async () => {
    const { server, records } = app();
    await server.inject({ method: 'POST', url: '/api/sql', headers: { authorization: 'Bearer ft_admin' }, payload: { query: 'SELECT 1' } });
    await server.inject({ url: '/api/services', headers: { authorization: 'Bearer ft_forged_secret_value' } });
    await server.inject({ url: '/healthz' });
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ principalId: 'token:admin', action: 'sql', statement: 'SELECT 1', status: 200, resultRows: 3, method: 'POST', route: '/api/sql' });
    expect(records[0]!.resultBytes).toBeGreaterThan(0);
    expect(records[1]).toMatchObject({ principalId: 'unauthenticated', action: 'auth.failure', status: 401, error: 'unknown API token' });
    expect(JSON.stringify(records)).not.toContain('ft_forged_secret_value');
  });
});
