import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProvider } from '../../../test/helpers/oidc-provider.js';
import { verifyBearer, parseBearer } from './bearer.js';
import { registerBrowserSessionRoutes } from './browser-session-routes.js';
import { BrowserSessions } from './browser-session.js';
import { authConfigSchema } from './config.js';
import { createOidcVerifier } from './oidc.js';
import { OidcLogin } from './oidc-login.js';
import { AuthError, SCOPES, type CredentialVerifier, type Principal } from './principal.js';

const REDIRECT_URI = 'http://flowtrace.test/auth/oidc/callback';
const API_TOKEN = `ft_${'a'.repeat(40)}`;

let idp: OidcProvider;
let clock: number;
let revoked: boolean;

/** API tokens, reduced to the one the tests use (revocable). */
const apiTokens: CredentialVerifier = {
  kind: 'token',
  async verify(bearer) {
    if (!bearer.startsWith('ft_')) return undefined;
    if (bearer !== API_TOKEN || revoked) throw new AuthError(401, 'unknown or revoked API token');
    return { id: 'token:t1', kind: 'token', name: 'ci', scopes: new Set(['read']), rules: {} } satisfies Principal;
  },
};

function build(options: { secure?: boolean } = {}): { app: FastifyInstance; sessions: BrowserSessions } {
  const oidc = authConfigSchema.parse({
    oidc: {
      issuer: idp.issuer,
      audience: idp.audience,
      roles: { viewer: { scopes: ['read'], services: ['checkout'] }, admin: { scopes: [...SCOPES] } },
      client_id: idp.client.id,
      client_secret: idp.client.secret,
      redirect_uri: REDIRECT_URI,
    },
  }).oidc;
  const verifier = createOidcVerifier(oidc, pino({ level: 'silent' }));
  const sessions = new BrowserSessions({
    ttlMinutes: 10,
    verifiers: [apiTokens, verifier],
    secure: options.secure ?? false,
    oidcLogin: new OidcLogin(oidc, verifier, () => clock),
    now: () => clock,
  });
  const app = Fastify();
  // The seam of the API's auth hook: a bearer header, else the session cookie.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/data')) return;
    try {
      const principal = req.headers.authorization ? await verifyBearer([apiTokens, verifier], parseBearer(req.headers.authorization)) : await sessions.authenticate(req);
      if (!principal) throw new AuthError(401, 'authentication required');
      (req as unknown as { who: Principal }).who = principal;
    } catch (err) {
      if (err instanceof AuthError) return reply.code(err.statusCode).send({ error: err.message });
      throw err;
    }
  });
  app.get('/api/data', async (req) => ({ who: (req as unknown as { who: Principal }).who.id }));
  app.post('/api/data', async (req) => ({ changedBy: (req as unknown as { who: Principal }).who.id }));
  registerBrowserSessionRoutes(app, sessions);
  return { app, sessions };
}

function setCookies(res: LightMyRequestResponse): string[] {
  const h = res.headers['set-cookie'];
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}

/** `name=value` of the cookie named `name` from a response. */
function cookiePair(res: LightMyRequestResponse, name: string): string {
  const c = setCookies(res).find((s) => s.startsWith(`${name}=`));
  if (!c) throw new Error(`no ${name} cookie in ${JSON.stringify(setCookies(res))}`);
  return c.split(';')[0]!;
}

async function login(app: FastifyInstance, token: string): Promise<{ cookie: string; csrf: string; res: LightMyRequestResponse }> {
  const res = await app.inject({ method: 'POST', url: '/api/session', payload: { token } });
  expect(res.statusCode, res.body).toBe(200);
  return { res, cookie: cookiePair(res, 'flowtrace_session'), csrf: res.json().csrfToken };
}

beforeAll(async () => {
  idp = await startOidcProvider();
});
afterAll(() => idp.close());
beforeEach(() => {
  clock = Date.now();
  revoked = false;
});

describe('browser sessions: token login', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie and returns a CSRF token', async () => {
    const { app } = build();
    const { res, cookie } = await login(app, API_TOKEN);
    const set = setCookies(res)[0]!;
    expect(set).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Max-Age=600$/);
    expect(set).not.toContain('Secure');
    expect(set).not.toContain(API_TOKEN);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ user: { id: 'token:t1', scopes: ['read'] }, csrfToken: expect.stringMatching(/^[\w-]{40,}$/) });
    expect((await app.inject({ url: '/api/data', headers: { cookie } })).json()).toEqual({ who: 'token:t1' });
  });

  it('marks the cookie Secure (with the __Host- prefix) when the API is on TLS', async () => {
    const { app } = build({ secure: true });
    const res = await app.inject({ method: 'POST', url: '/api/session', payload: { token: API_TOKEN } });
    expect(setCookies(res)[0]).toMatch(/^__Host-flowtrace_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=600; Secure$/);
  });

  it('opens a session for an OIDC JWT, with the scopes and rules of its roles', async () => {
    const { app } = build();
    const { res, cookie } = await login(app, await idp.sign({ sub: 'alice', roles: ['viewer'] }));
    expect(res.json().user).toEqual({ id: 'oidc:alice', kind: 'oidc', name: 'alice', scopes: ['read'], rules: { services: ['checkout'] } });
    expect((await app.inject({ url: '/api/data', headers: { cookie } })).json()).toEqual({ who: 'oidc:alice' });
  });

  it.each([
    ['an unknown API token', () => `ft_${'b'.repeat(40)}`, 401],
    ['an expired JWT', () => idp.sign({ sub: 'a', roles: ['viewer'] }, { expiresIn: -3600 }), 401],
    ['a JWT with no mapped role', () => idp.sign({ sub: 'a', roles: ['nobody'] }), 403],
    ['something that is no credential', () => 'hello', 401],
  ])('refuses to log in with %s, setting no cookie', async (_what, token, status) => {
    const { app } = build();
    const res = await app.inject({ method: 'POST', url: '/api/session', payload: { token: await token() } });
    expect(res.statusCode).toBe(status);
    expect(setCookies(res)).toEqual([]);
  });

  it('refuses a login body that is not JSON {"token": …}', async () => {
    const { app } = build();
    expect((await app.inject({ method: 'POST', url: '/api/session', payload: { tok: 'x' } })).statusCode).toBe(400);
    // A cross-site HTML form cannot send JSON: form bodies are not accepted at all.
    const form = await app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${API_TOKEN}` });
    expect(form.statusCode).toBe(415);
  });
});

describe('browser sessions: CSRF, status, logout, expiry', () => {
  it('refuses a state-changing request with the cookie but without the right x-csrf-token', async () => {
    const { app } = build();
    const { cookie, csrf } = await login(app, API_TOKEN);
    expect((await app.inject({ method: 'POST', url: '/api/data', headers: { cookie } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/data', headers: { cookie, 'x-csrf-token': `${csrf}x` } })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/api/data', headers: { cookie, 'x-csrf-token': csrf } });
    expect(ok.json()).toEqual({ changedBy: 'token:t1' });
  });

  it('GET /api/session tells who is logged in and the CSRF token; 401 when nobody is', async () => {
    const { app } = build();
    const { cookie, csrf } = await login(app, API_TOKEN);
    const res = await app.inject({ url: '/api/session', headers: { cookie } });
    expect(res.json()).toMatchObject({ user: { id: 'token:t1' }, csrfToken: csrf });
    const nobody = await app.inject({ url: '/api/session' });
    expect(nobody.statusCode).toBe(401);
    // The dashboard's login page offers SSO when the collector has an OIDC client.
    expect(nobody.json()).toEqual({ error: expect.any(String), oidcLogin: true });
    expect((await app.inject({ url: '/api/session', headers: { cookie: 'flowtrace_session=forged' } })).statusCode).toBe(401);
  });

  it('logs out: needs the CSRF token, clears the cookie, and the session is gone', async () => {
    const { app } = build();
    const { cookie, csrf } = await login(app, API_TOKEN);
    expect((await app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie } })).statusCode).toBe(403);
    const out = await app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(setCookies(out)[0]).toMatch(/^flowtrace_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    expect((await app.inject({ url: '/api/data', headers: { cookie } })).statusCode).toBe(401);
  });

  it('ends a session at its expiry', async () => {
    const { app } = build();
    const { cookie } = await login(app, API_TOKEN);
    clock += 9 * 60_000;
    expect((await app.inject({ url: '/api/data', headers: { cookie } })).statusCode).toBe(200);
    clock += 2 * 60_000;
    const res = await app.inject({ url: '/api/data', headers: { cookie } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatch(/expired/);
  });

  it('ends a session when the API token it was opened with is revoked', async () => {
    const { app } = build();
    const { cookie } = await login(app, API_TOKEN);
    revoked = true;
    expect((await app.inject({ url: '/api/data', headers: { cookie } })).statusCode).toBe(401);
    revoked = false;
    expect((await app.inject({ url: '/api/data', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('browser sessions: OIDC authorization-code flow with PKCE', () => {
  /** /auth/oidc/login, then the provider's /authorize (real HTTP): the callback URL and the state cookie. */
  async function authorize(app: FastifyInstance): Promise<{ callback: URL; stateCookie: string; authorizeUrl: URL }> {
    const start = await app.inject({ url: '/auth/oidc/login' });
    expect(start.statusCode).toBe(302);
    const authorizeUrl = new URL(start.headers.location as string);
    const back = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(back.status).toBe(302);
    return { callback: new URL(back.headers.get('location')!), stateCookie: cookiePair(start, 'flowtrace_oidc_state'), authorizeUrl };
  }

  it('redirects to the issuer with an S256 challenge, state and nonce, and logs in on the callback', async () => {
    const { app } = build();
    idp.user = { sub: 'oidc-user', name: 'Olga', roles: ['viewer'] };
    const { callback, stateCookie, authorizeUrl } = await authorize(app);
    const p = authorizeUrl.searchParams;
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${idp.issuer}/authorize`);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(p.get('state')).toMatch(/^[\w-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(p.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(callback.href.startsWith(`${REDIRECT_URI}?`)).toBe(true);

    const done = await app.inject({ url: callback.pathname + callback.search, headers: { cookie: stateCookie } });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.body).toContain('http-equiv="refresh" content="0;url=/"');
    const cookie = cookiePair(done, 'flowtrace_session');
    expect(setCookies(done).find((c) => c.startsWith('flowtrace_session='))).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await app.inject({ url: '/api/session', headers: { cookie } })).json().user).toMatchObject({ id: 'oidc:oidc-user', name: 'Olga', rules: { services: ['checkout'] } });
  });

  it('refuses a replayed, unknown or unbound state', async () => {
    const { app } = build();
    idp.user = { sub: 'u', roles: ['viewer'] };
    const { callback, stateCookie } = await authorize(app);
    const url = callback.pathname + callback.search;
    expect((await app.inject({ url, headers: { cookie: stateCookie } })).statusCode).toBe(200);
    const replay = await app.inject({ url, headers: { cookie: stateCookie } });
    expect(replay.statusCode).toBe(400);
    expect(replay.json().error).toMatch(/unknown, expired or already used login state/);
    expect(setCookies(replay).some((c) => c.startsWith('flowtrace_session='))).toBe(false);
    expect((await app.inject({ url: `/auth/oidc/callback?code=x&state=made-up`, headers: { cookie: 'flowtrace_oidc_state=made-up' } })).statusCode).toBe(400);

    // A callback URL carried to another browser (login CSRF): the state is not bound to it.
    const other = await authorize(app);
    const unbound = await app.inject({ url: other.callback.pathname + other.callback.search });
    expect(unbound.statusCode).toBe(400);
    expect(unbound.json().error).toMatch(/not started by this browser/);
  });

  it('refuses an expired login state', async () => {
    const { app } = build();
    const { callback, stateCookie } = await authorize(app);
    clock += 11 * 60_000;
    expect((await app.inject({ url: callback.pathname + callback.search, headers: { cookie: stateCookie } })).statusCode).toBe(400);
  });

  it('refuses a user whose id_token maps to no role (403), opening no session', async () => {
    const { app } = build();
    idp.user = { sub: 'nobody', roles: ['guest'] };
    const { callback, stateCookie } = await authorize(app);
    const res = await app.inject({ url: callback.pathname + callback.search, headers: { cookie: stateCookie } });
    expect(res.statusCode).toBe(403);
    expect(setCookies(res).some((c) => c.startsWith('flowtrace_session='))).toBe(false);
  });

  it('the provider refuses a code exchanged with the wrong code_verifier', async () => {
    const verifier = 'the-right-verifier-the-right-verifier-0123456789';
    const url = new URL(`${idp.issuer}/authorize`);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: idp.client.id, redirect_uri: REDIRECT_URI, scope: 'openid', state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' })) {
      url.searchParams.set(k, v);
    }
    const exchange = async (codeVerifier: string) => {
      const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: codeVerifier, client_id: idp.client.id, client_secret: idp.client.secret });
      return fetch(`${idp.issuer}/token`, { method: 'POST', body });
    };
    const wrong = await exchange('a-wrong-verifier-a-wrong-verifier-0123456789');
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: 'invalid_grant' });
    expect((await exchange(verifier)).status).toBe(200);
  });
});
