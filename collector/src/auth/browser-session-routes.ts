import type { FastifyInstance, FastifyReply } from 'fastify';
import { BrowserSessions, SessionLimitError, type Session } from './browser-session.js';
import { OidcLoginError } from './oidc-login.js';
import { AuthError, type Principal } from './principal.js';

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

/**
 * Browser login, session status and logout:
 * - `POST /api/session` `{"token": "..."}`: an API token or a JWT → session cookie + CSRF token;
 * - `GET /api/session`: who is logged in, and the CSRF token; 401 when nobody is;
 * - `DELETE /api/session`: logout (needs the CSRF token while the session is live);
 * - `GET /auth/oidc/login`, `GET /auth/oidc/callback`: the OIDC authorization-code flow with PKCE.
 */
export function registerBrowserSessionRoutes(app: FastifyInstance, sessions: BrowserSessions): void {
  app.post<{ Body: unknown }>('/api/session', async (req, reply) => {
    const body = req.body as { token?: unknown } | null | undefined;
    const token = body && typeof body === 'object' ? body.token : undefined;
    if (typeof token !== 'string' || token === '') return reply.code(400).send({ error: 'body: expected JSON {"token": "<API token or JWT>"}' });
    if (token.length > MAX_TOKEN_CHARS) return reply.code(400).send({ error: `token: longer than ${MAX_TOKEN_CHARS} characters` });
    return withRefusals(reply, async () => {
      sessions.end(req); // a new login never continues an older session
      return sendSession(reply, sessions, await sessions.loginWithToken(token));
    });
  });

  app.get('/api/session', async (req, reply) =>
    withRefusals(reply, async () => {
      const session = await sessions.current(req);
      return reply.header('cache-control', 'no-store').send(sessionView(session));
    }),
  );

  app.delete('/api/session', async (req, reply) =>
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

  app.get('/auth/oidc/login', async (req, reply) => {
    const login = sessions.oidcLogin;
    if (!login) return reply.code(404).send({ error: 'OIDC browser login is off (auth.oidc.client_id is empty)' });
    return withRefusals(reply, async () => {
      const { location, state } = await login.begin(login.redirectUri(`${req.protocol}://${req.host}`));
      return reply.header('set-cookie', sessions.stateCookie(state)).header('cache-control', 'no-store').redirect(location, 302);
    });
  });

  app.get<{ Querystring: { code?: string; state?: string; error?: string } }>('/auth/oidc/callback', async (req, reply) => {
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
async function withRefusals(reply: FastifyReply, handler: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await handler();
  } catch (err) {
    if (err instanceof AuthError || err instanceof OidcLoginError || err instanceof SessionLimitError) {
      if (err.statusCode === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(err.statusCode).send({ error: err.message });
    }
    throw err;
  }
}
