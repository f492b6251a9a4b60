/**
 * OIDC/JWT bearer tokens and browser sessions against the real collector and embedded engine,
 * with a real OIDC provider on loopback (test/helpers/oidc-provider.ts): every forged, expired
 * or misdirected token is refused, sessions need their CSRF token, the PKCE login works and
 * refuses replays, and ingest goes on storing everything acknowledged meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportSPKI, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';
import { protobufRequest, sdkSpans } from '../helpers/spans.js';

let idp: OidcProvider;
let c: RunningCollector;
const adminToken = `ft_${randomBytes(32).toString('base64url')}`;
/** Every credential the tests used: none may appear in the collector's logs. */
const used: string[] = [adminToken];

const viewer = () => idp.sign({ sub: 'vera', name: 'Vera', groups: ['viewer'] });
const analyst = () => idp.sign({ sub: 'ana', groups: ['analyst'] });

async function api(path: string, init: RequestInit & { bearer?: string; cookie?: string; csrf?: string } = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.bearer) {
    used.push(init.bearer);
    headers.set('authorization', `Bearer ${init.bearer}`);
  }
  if (init.cookie) headers.set('cookie', init.cookie);
  if (init.csrf) headers.set('x-csrf-token', init.csrf);
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  const res = await fetch(`${c.apiUrl}${path}`, { ...init, headers, redirect: 'manual' });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers };
}

const sqlBody = (query: string) => JSON.stringify({ query });

async function storedSpans(service: string): Promise<number> {
  const res = await api('/api/sql', { method: 'POST', bearer: adminToken, body: sqlBody(`SELECT count() AS n FROM otel_traces WHERE ServiceName = '${service}'`) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return Number((res.body.rows as Array<{ n: string }>)[0]!.n);
}

/** `name=value` of the cookie `name` set by a response. */
function cookieFrom(headers: Headers, name: string): { pair: string; attributes: string } {
  const set = headers.getSetCookie().find((s) => s.startsWith(`${name}=`));
  if (!set) throw new Error(`no ${name} cookie in ${JSON.stringify(headers.getSetCookie())}`);
  return { pair: set.split(';')[0]!, attributes: set };
}

beforeAll(async () => {
  idp = await startOidcProvider();
  const tokenFile = join(newTempDir('ft-oidc-'), 'admin-token');
  writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
  c = await startCollector({
    config: [
      'auth:',
      '  api: { require_credentials: always }',
      `  bootstrap_token_file: ${JSON.stringify(tokenFile)}`,
      '  oidc:',
      `    issuer: ${JSON.stringify(idp.issuer)}`,
      `    audience: ${JSON.stringify(idp.audience)}`,
      '    roles_claim: groups',
      '    roles:',
      '      viewer: { scopes: [read], services: [checkout] }',
      '      analyst: { scopes: [read, sql] }',
      `    client_id: ${JSON.stringify(idp.client.id)}`,
      `    client_secret: ${JSON.stringify(idp.client.secret)}`,
      '',
    ].join('\n'),
  });
}, 120_000);

afterAll(async () => {
  await c?.stop();
  await idp?.close();
  await cleanup();
});

describe('OIDC bearer tokens', () => {
  it('accepts a valid JWT with the scopes of its roles', async () => {
    expect((await api('/api/services')).status).toBe(401);
    expect((await api('/api/services', { bearer: await viewer() })).status).toBe(200);
    const sql = await api('/api/sql', { method: 'POST', bearer: await analyst(), body: sqlBody('SELECT 1 AS one') });
    expect(sql.status, JSON.stringify(sql.body)).toBe(200);
    // viewer maps to read only
    const refused = await api('/api/sql', { method: 'POST', bearer: await viewer(), body: sqlBody('SELECT 1') });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/lacks the scope "sql"/);
  });

  const attacks: Array<[string, () => Promise<string>, number, RegExp]> = [
    ['expired', () => idp.sign({ sub: 'x', groups: ['analyst'] }, { expiresIn: -3600 }), 401, /expired/],
    ['from another issuer', () => idp.sign({ sub: 'x', groups: ['analyst'] }, { issuer: 'https://evil.example' }), 401, /not issued by auth\.oidc\.issuer/],
    ['for another audience', () => idp.sign({ sub: 'x', aud: 'someone-else', groups: ['analyst'] }), 401, /audience/],
    ['signed by a key the issuer never published (unknown kid)', () => idp.sign({ sub: 'x', groups: ['analyst'] }, { kid: 'attacker-kid' }), 401, /no key/],
    ['with no mapped role', () => idp.sign({ sub: 'x', groups: ['contractor'] }), 403, /no role of yours is mapped/],
    [
      'unsigned (alg: none)',
      async () => new UnsecuredJWT({ sub: 'x', groups: ['analyst'] }).setIssuer(idp.issuer).setAudience(idp.audience).setExpirationTime('5m').encode(),
      401,
      /algorithm is not accepted/,
    ],
    [
      'HS256-signed with the public key (algorithm confusion)',
      async () => {
        const jwk = idp.currentPublicJwk();
        const pem = await exportSPKI((await importJWK(jwk, 'RS256')) as CryptoKey);
        return new SignJWT({ sub: 'x', groups: ['analyst'] })
          .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
          .setIssuer(idp.issuer)
          .setAudience(idp.audience)
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(pem));
      },
      401,
      /algorithm is not accepted/,
    ],
  ];

  it.each(attacks)('refuses a JWT %s, naming the problem and not the token', async (_what, make, status, message) => {
    const token = await make();
    const res = await api('/api/sql', { method: 'POST', bearer: token, body: sqlBody('SELECT 1') });
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
    expect(JSON.stringify(res.body)).not.toContain(token);
    if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('keeps storing every acknowledged span while tokens are refused', async () => {
    const { spans } = await sdkSpans(25, 'oidc-ingest');
    const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(protobufRequest(spans)) });
    expect(res.status).toBe(200);
    await api('/api/services', { bearer: await idp.sign({ sub: 'x', groups: ['analyst'] }, { expiresIn: -60 }) });
    await waitFor(async () => ((await storedSpans('oidc-ingest')) === 25 ? true : undefined), '25 spans stored');
  });

  it('limits what a token reads to the services its roles allow', async () => {
    for (const service of ['checkout', 'payments']) {
      const { spans } = await sdkSpans(3, service);
      const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(protobufRequest(spans)) });
      expect(res.status).toBe(200);
    }
    await waitFor(async () => ((await storedSpans('checkout')) === 3 && (await storedSpans('payments')) === 3 ? true : undefined), 'both services stored');
    const services = async (bearer: string) => (await api('/api/services', { bearer })).body.services as string[];
    expect(await services(await analyst())).toEqual(expect.arrayContaining(['checkout', 'payments']));
    expect(await services(await viewer())).toEqual(['checkout']);
  });

  it('follows the issuer’s key rotation', async () => {
    await idp.rotateKeys({ dropOld: true });
    const token = await idp.sign({ sub: 'rotated', groups: ['viewer'] });
    // The JWKS is refetched on an unknown kid at most every few seconds (jose's cooldown).
    await waitFor(async () => ((await api('/api/services', { bearer: token })).status === 200 ? true : undefined), 'the rotated key accepted');
  });
});

describe('browser sessions', () => {
  it('logs in with an API token: HttpOnly SameSite=Strict cookie, CSRF on state changes, logout', async () => {
    const login = await api('/api/session', { method: 'POST', body: JSON.stringify({ token: adminToken }) });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const { pair: cookie, attributes } = cookieFrom(login.headers, 'flowtrace_session');
    expect(attributes).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(attributes).not.toContain('Secure'); // plain http here; with api.tls it is set
    const csrf = login.body.csrfToken as string;
    expect(login.body.user).toMatchObject({ kind: 'token', scopes: ['admin'] });

    expect((await api('/api/services', { cookie })).status).toBe(200);
    expect((await api('/api/session', { cookie })).body.csrfToken).toBe(csrf);
    const noCsrf = await api('/api/sql', { method: 'POST', cookie, body: sqlBody('SELECT 1') });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error).toMatch(/x-csrf-token/);
    expect((await api('/api/sql', { method: 'POST', cookie, csrf: 'wrong', body: sqlBody('SELECT 1') })).status).toBe(403);
    expect((await api('/api/sql', { method: 'POST', cookie, csrf, body: sqlBody('SELECT 1') })).status).toBe(200);

    const logout = await api('/api/session', { method: 'DELETE', cookie, csrf });
    expect(logout.status).toBe(204);
    expect(cookieFrom(logout.headers, 'flowtrace_session').attributes).toMatch(/Max-Age=0/);
    expect((await api('/api/services', { cookie })).status).toBe(401);
  });

  it('logs in with a JWT, through the same verifier chain', async () => {
    const login = await api('/api/session', { method: 'POST', body: JSON.stringify({ token: await viewer() }) });
    expect(login.status).toBe(200);
    expect(login.body.user).toEqual({ id: 'oidc:vera', kind: 'oidc', name: 'Vera', scopes: ['read'], rules: { services: ['checkout'] } });
    const cookie = cookieFrom(login.headers, 'flowtrace_session').pair;
    expect((await api('/api/services', { cookie })).status).toBe(200);
    const forged = await api('/api/session', { method: 'POST', body: JSON.stringify({ token: await idp.sign({ sub: 'x', groups: ['viewer'] }, { kid: 'nope' }) }) });
    expect(forged.status).toBe(401);
    expect(forged.headers.getSetCookie()).toEqual([]);
  });

  it('refuses a session cookie it never issued', async () => {
    expect((await api('/api/services', { cookie: `flowtrace_session=${randomBytes(32).toString('base64url')}` })).status).toBe(401);
  });
});

describe('OIDC browser login (authorization code + PKCE)', () => {
  async function authorize(): Promise<{ callback: string; stateCookie: string }> {
    const start = await api('/auth/oidc/login');
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location')!);
    expect(location.origin).toBe(idp.issuer);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('redirect_uri')).toBe(`${c.apiUrl}/auth/oidc/callback`);
    const back = await fetch(location, { redirect: 'manual' });
    expect(back.status).toBe(302);
    const callback = new URL(back.headers.get('location')!);
    expect(callback.origin).toBe(c.apiUrl);
    return { callback: callback.pathname + callback.search, stateCookie: cookieFrom(start.headers, 'flowtrace_oidc_state').pair };
  }

  it('logs in through the issuer and refuses to replay the callback', async () => {
    idp.user = { sub: 'olga', email: 'olga@example.com', groups: ['analyst'] };
    const { callback, stateCookie } = await authorize();
    const done = await api(callback, { cookie: stateCookie });
    expect(done.status).toBe(200);
    expect(done.body.text).toContain('url=/');
    const session = cookieFrom(done.headers, 'flowtrace_session');
    expect(session.attributes).toMatch(/HttpOnly; SameSite=Strict/);
    const me = await api('/api/session', { cookie: session.pair });
    expect(me.body.user).toMatchObject({ id: 'oidc:olga', name: 'olga@example.com', scopes: ['read', 'sql'] });
    expect((await api('/api/sql', { method: 'POST', cookie: session.pair, csrf: me.body.csrfToken as string, body: sqlBody('SELECT 1') })).status).toBe(200);

    const replay = await api(callback, { cookie: stateCookie });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toMatch(/already used/);
  });

  it('refuses an unknown state and a callback not started by this browser', async () => {
    expect((await api('/auth/oidc/callback?code=abc&state=forged', { cookie: 'flowtrace_oidc_state=forged' })).status).toBe(400);
    const { callback } = await authorize();
    const unbound = await api(callback);
    expect(unbound.status).toBe(400);
    expect(unbound.body.error).toMatch(/not started by this browser/);
  });

  it('the provider refused no exchange the collector made (PKCE verifier and client secret matched)', () => {
    expect(idp.tokenRefusals).toEqual([]);
  });
});

describe('secrets', () => {
  it('never logs a token, a session id or a CSRF token', () => {
    const logs = c.logs.join('\n');
    for (const secret of used) expect(logs).not.toContain(secret);
  });
});
