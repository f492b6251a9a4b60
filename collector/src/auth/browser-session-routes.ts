import type { FastifyInstance, FastifyReply } from 'fastify';
import { BrowserSessions, SessionLimitError, type Session } from './browser-session.js';
import { OidcLoginError } from './oidc-login.js';
import { AuthError, SCOPES, type Principal } from './principal.js';
import { documentOnly, errorSchema } from '../query/route-schemas.js';

/** Longest token accepted by POST /api/session (JWTs with many claims are a few KB). */
const MAX_TOKEN_CHARS = 16 * 1024;

/**
 * Routes the auth hook must let through without credentials: each authenticates by itself
 * (POST /api/session verifies the pasted token; GET/DELETE read the session cookie; the OIDC
 * routes are the login). For the route-scope table.
 */
export const BROWSER_SESSION_PUBLIC_ROUTES: ReadonlyArray<{ method: string; url: string }> = [
  { method: 'POST', url: '/api/session' },
  { method: 'GET', url: '/api/session' },
  { method: 'DELETE', url: '/api/session' },
  { method: 'GET', url: '/auth/oidc/login' },
  { method: 'GET', url: '/auth/oidc/callback' },
];

const refusal = (description: string) => ({ ...errorSchema, description }) as const;
const sessionSchema = {
  type: 'object',
  properties: {
    user: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        kind: { type: 'string', enum: ['token', 'oidc', 'session', 'anonymous'] },
        name: { type: 'string' },
        scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] } },
        rules: { type: 'object', additionalProperties: true, description: 'read rules: services and environments the user may read (absent or empty: all)' },
      },
    },
    csrfToken: { type: 'string', description: 'send it in the x-csrf-token header with every state-changing request' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;
const busy = refusal('too many sessions open');
const oidcOff = refusal('OIDC browser login is off (auth.oidc.client_id is empty)');
const oidcQuery = (description: string) => ({ type: 'string', description }) as const;

const schemas = {
  login: {
    summary: 'Log in a browser with an API token or a JWT: sets the session cookie, returns the CSRF token',
    security: [],
    body: { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_CHARS, description: 'an API token or an OIDC access token (JWT)' } } },
    response: { 200: sessionSchema, 400: refusal('no token in the body, or too long'), 401: refusal('the token is refused'), 503: busy },
  },
  current: {
    summary: "Who the session cookie's browser is logged in as, and its CSRF token",
    security: [],
    response: {
      200: sessionSchema,
      401: {
        ...refusal('not logged in, or the session ended'),
        properties: { ...errorSchema.properties, oidcLogin: { type: 'boolean', description: 'GET /auth/oidc/login is offered (auth.oidc.client_id is set): the login page shows "Sign in with SSO"' } },
      },
    },
  },
  logout: {
    summary: 'Log out: ends the session and clears its cookie',
    description: 'While the session is live, needs its CSRF token in the x-csrf-token header.',
    security: [],
    response: { 204: { description: 'logged out', type: 'null' }, 403: refusal('a live session without its CSRF token') },
  },
  oidcLogin: {
    summary: "Start the OIDC login (authorization code with PKCE): redirects to the issuer's login page",
    security: [],
    response: { 302: { description: "to the issuer's authorization endpoint", type: 'null' }, 404: oidcOff, 502: refusal('the issuer cannot be reached') },
  },
  oidcCallback: {
    summary: 'Where the OIDC issuer sends the browser back: opens the session, then a page navigates to /',
    security: [],
    querystring: {
      type: 'object',
      properties: { code: oidcQuery('the authorization code'), state: oidcQuery('the login state /auth/oidc/login made'), error: oidcQuery("the issuer's refusal, if any") },
    },
    response: {
      200: { description: 'an HTML page that navigates to /', content: { 'text/html': { schema: { type: 'string' } } } },
      400: refusal('unknown, expired or foreign login state, or no code'),
      401: refusal('the issuer refused the login or its id_token is refused'),
      404: oidcOff,
      502: refusal('the issuer cannot be reached or answered badly'),
      503: busy,
    },
  },
} as const;

/**
 * Browser login, session status and logout:
 * - `POST /api/session` `{"token": "..."}`: an API token or a JWT → session cookie + CSRF token;
 * - `GET /api/session`: who is logged in, and the CSRF token; 401 when nobody is;
 * - `DELETE /api/session`: logout (needs the CSRF token while the session is live);
 * - `GET /auth/oidc/login`, `GET /auth/oidc/callback`: the OIDC authorization-code flow with PKCE.
 */
export function registerBrowserSessionRoutes(app: FastifyInstance, sessions: BrowserSessions): void {
  // The body is checked here (documentOnly): its messages name the problem.
  app.post<{ Body: unknown }>('/api/session', { schema: schemas.login, validatorCompiler: documentOnly }, async (req, reply) => {
    const body = req.body as { token?: unknown } | null | undefined;
    const token = body && typeof body === 'object' ? body.token : undefined;
    if (typeof token !== 'string' || token === '') return reply.code(400).send({ error: 'body: expected JSON {"token": "<API token or JWT>"}' });
    if (token.length > MAX_TOKEN_CHARS) return reply.code(400).send({ error: `token: longer than ${MAX_TOKEN_CHARS} characters` });
    return withRefusals(reply, async () => {
      sessions.end(req); // a new login never continues an older session
      return sendSession(reply, sessions, await sessions.loginWithToken(token));
    });
  });

  app.get('/api/session', { schema: schemas.current }, async (req, reply) =>
    withRefusals(
      reply,
      async () => {
        const session = await sessions.current(req);
        return reply.header('cache-control', 'no-store').send(sessionView(session));
      },
      // What the dashboard's login page offers besides pasting a token.
      { oidcLogin: sessions.oidcLogin !== undefined },
    ),
  );

  app.delete('/api/session', { schema: schemas.logout }, async (req, reply) =>
    withRefusals(reply, async () => {
      // A live session is only ended with its CSRF token; a dead one's cookie is just cleared.
      if (sessions.readCookie(req, sessions.cookieName) !== undefined) {
        await sessions.authenticate(req).catch((err: unknown) => {
          if (err instanceof AuthError && err.statusCode === 403) throw err;
        });
      }
      sessions.end(req);
      return reply.header('set-cookie', sessions.clearedSessionCookie()).code(204).send();
    }),
  );

  app.get('/auth/oidc/login', { schema: schemas.oidcLogin }, async (req, reply) => {
    const login = sessions.oidcLogin;
    if (!login) return reply.code(404).send({ error: 'OIDC browser login is off (auth.oidc.client_id is empty)' });
    return withRefusals(reply, async () => {
      const { location, state } = await login.begin(login.redirectUri(`${req.protocol}://${req.host}`));
      return reply.header('set-cookie', sessions.stateCookie(state)).header('cache-control', 'no-store').redirect(location, 302);
    });
  });

  app.get<{ Querystring: { code?: string; state?: string; error?: string } }>('/auth/oidc/callback', { schema: schemas.oidcCallback }, async (req, reply) => {
    const login = sessions.oidcLogin;
    if (!login) return reply.code(404).send({ error: 'OIDC browser login is off (auth.oidc.client_id is empty)' });
    return withRefusals(reply, async () => {
      reply.header('set-cookie', sessions.stateCookie(undefined)); // the state is single-use either way
      const principal = await login.complete(req.query, sessions.readCookie(req, sessions.stateCookieName));
      sessions.end(req);
      const session = sessions.open(principal);
      // Not a 302: a redirect would continue the issuer's cross-site navigation, on which the
      // browser withholds the SameSite=Strict cookie just set; a page of our own navigates same-site.
      return reply
        .header('set-cookie', sessions.sessionCookie(session))
        .header('cache-control', 'no-store')
        .header('content-security-policy', "default-src 'none'")
        .type('text/html; charset=utf-8')
        .send('<!doctype html><meta http-equiv="refresh" content="0;url=/"><title>FlowTrace</title><p>Logged in. <a href="/">Continue</a></p>\n');
    });
  });
}

function sendSession(reply: FastifyReply, sessions: BrowserSessions, session: Session): FastifyReply {
  return reply.header('set-cookie', sessions.sessionCookie(session)).header('cache-control', 'no-store').send(sessionView(session));
}

/** What the browser learns about its session: who, what they may do, the CSRF token, the end. */
function sessionView(session: Session) {
  return { user: principalView(session.principal), csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() };
}

export function principalView(p: Principal) {
  return { id: p.id, kind: p.kind, name: p.name, scopes: [...p.scopes].sort(), rules: p.rules };
}

/** Refusals from verifiers and the login flow as their status and message; anything else is a 500. */
async function withRefusals(reply: FastifyReply, handler: () => Promise<FastifyReply>, onUnauthorized: Record<string, unknown> = {}): Promise<FastifyReply> {
  try {
    return await handler();
  } catch (err) {
    if (err instanceof AuthError || err instanceof OidcLoginError || err instanceof SessionLimitError) {
      if (err.statusCode === 401) return reply.header('www-authenticate', 'Bearer').code(401).send({ error: err.message, ...onUnauthorized });
      return reply.code(err.statusCode).send({ error: err.message });
    }
    throw err;
  }
}
