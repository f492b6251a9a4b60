import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRecord } from './audit.js';
import { parseBearer, verifyBearer } from './bearer.js';
import { AuthError, hasScope, LOOPBACK_ANONYMOUS, type CredentialVerifier, type Principal } from './principal.js';
import { splitHostHeader } from './host-check.js';
import { isLoopbackHost } from './loopback.js';
import { requiredAccess, ROUTE_ACCESS, type RouteRule } from './route-access.js';
import { TokensNotLoadedError } from './token-store.js';
import './request-audit.js';
import './request-principal.js';

/** Browser sessions (cookie + CSRF), provided by the OIDC/session module when configured. */
export interface SessionAuthenticator {
  /** The session's principal; undefined when the request carries no session; AuthError when it is invalid or fails CSRF. */
  authenticate(req: FastifyRequest): Promise<Principal | undefined>;
}

export interface ApiAuthOptions {
  /** Tried in order for `Authorization: Bearer …` (API tokens, then OIDC JWTs). Read at each request, so verifiers may be added later. */
  verifiers: readonly CredentialVerifier[];
  sessions?: SessionAuthenticator;
  /** Requests without credentials get LOOPBACK_ANONYMOUS: the API is bound to loopback only and `require_credentials` is `auto`. */
  anonymousLoopback: boolean;
  /** CORS origins: a browser page from one of these (or the API's own origin) may use the anonymous loopback access. */
  allowedOrigins: readonly string[];
  audit: { record(record: AuditRecord): void };
  rules?: readonly RouteRule[];
}

/** The SQL text a request ran, for the audit log: /api/sql's query, /api/export's format and where clause. */
function auditedStatement(key: string, body: { query?: unknown; where?: unknown; format?: unknown; name?: unknown } | undefined): string {
  if (key === 'POST /api/sql') return typeof body?.query === 'string' ? body.query : '';
  if (key === 'POST /api/export') return `export ${typeof body?.format === 'string' ? body.format : '?'} where: ${typeof body?.where === 'string' ? body.where : ''}`;
  if (key === 'POST /api/admin/backup') return `backup ${typeof body?.name === 'string' ? body.name.slice(0, 200) : '(default name)'}`;
  return '';
}

/** Audit action per route; other /api routes are `query`. */
const ACTIONS: Record<string, string> = {
  'POST /api/sql': 'sql',
  'POST /api/export': 'sql.export',
  'POST /api/tokens': 'token.create',
  'GET /api/tokens': 'token.list',
  'DELETE /api/tokens/:id': 'token.revoke',
  'POST /api/admin/backup': 'storage.backup',
  'POST /api/session': 'session.login',
  'GET /api/session': 'session.status',
  'DELETE /api/session': 'session.logout',
};

/**
 * The API's one authentication and authorisation hook, and its audit hook. Every request is
 * resolved to a principal (bearer credential, browser session, or anonymous loopback) and
 * checked against the route's required scope from {@link ROUTE_ACCESS} before any handler runs.
 */
export function registerApiAuth(app: FastifyInstance, options: ApiAuthOptions): void {
  const rules = options.rules ?? ROUTE_ACCESS;
  app.decorateRequest('principal', null as unknown as Principal);

  const authenticate = async (req: FastifyRequest): Promise<Principal | undefined> => {
    const header = req.headers.authorization;
    // A credential that is sent is always verified, even where none is needed.
    if (header !== undefined) return verifyBearer(options.verifiers, parseBearer(header));
    const session = await options.sessions?.authenticate(req);
    if (session) return session;
    if (options.anonymousLoopback) {
      if (crossSiteBrowser(req, options.allowedOrigins)) {
        throw new AuthError(401, 'a page from another origin gets no anonymous access; send a token (Authorization: Bearer …)');
      }
      return LOOPBACK_ANONYMOUS;
    }
    return undefined;
  };

  app.addHook('onRequest', async (req, reply) => {
    const access = requiredAccess(req.method, req.routeOptions.url, rules);
    if (access === 'public') return;
    try {
      const principal = await authenticate(req);
      if (!principal) throw new AuthError(401, 'authentication required: send "Authorization: Bearer <token>" (flowtrace tokens create)');
      req.principal = principal;
      if (!hasScope(principal, access)) throw new AuthError(403, `${principal.name} lacks the scope "${access}" this route needs`);
    } catch (err) {
      if (err instanceof AuthError) return refuse(req, reply, err);
      if (err instanceof TokensNotLoadedError) return reply.code(503).header('retry-after', '1').send({ error: err.message });
      throw err;
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    const path = req.url.split('?')[0]!;
    if (!req.auditFailure && !(route ?? path).startsWith('/api/')) return;
    const key = `${req.method} ${route}`;
    const body = req.body as { query?: unknown; where?: unknown; format?: unknown; name?: unknown } | undefined;
    const length = Number(reply.getHeader('content-length'));
    options.audit.record({
      time: new Date(),
      principalId: req.principal?.id ?? 'unauthenticated',
      principalName: req.principal?.name ?? '',
      action: req.auditFailure ?? ACTIONS[key] ?? 'query',
      method: req.method,
      route: route ?? path,
      url: req.url,
      statement: auditedStatement(key, body),
      clientAddress: req.ip,
      status: reply.statusCode,
      resultBytes: Number.isFinite(length) ? length : 0,
      resultRows: req.auditRows,
      durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
      error: req.auditError ?? '',
    });
  });
}

function refuse(req: FastifyRequest, reply: FastifyReply, err: AuthError) {
  req.auditFailure = 'auth.failure';
  req.auditError = err.message;
  if (err.statusCode === 401) {
    const sent = req.headers.authorization !== undefined;
    reply.header('www-authenticate', sent ? 'Bearer realm="flowtrace", error="invalid_token"' : 'Bearer realm="flowtrace"');
  }
  return reply.code(err.statusCode).send({ error: err.message });
}

/**
 * True for a browser request made by a page of another origin (CSRF against the anonymous
 * loopback access): its Origin is neither the API's own nor an allowed CORS origin.
 */
function crossSiteBrowser(req: FastifyRequest, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  // Without Origin (a navigation, a no-cors GET), the browser still says where the request came from.
  if (origin === undefined) {
    const site = req.headers['sec-fetch-site'];
    return site !== undefined && site !== 'same-origin' && site !== 'none';
  }
  if (allowedOrigins.includes(origin)) return false;
  let from: URL;
  try {
    from = new URL(origin);
  } catch {
    return true;
  }
  const to = splitHostHeader(req.headers.host ?? '');
  const port = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');
  // localhost, 127.0.0.1 and [::1] are one machine: a page of the API's own port under another loopback name is the API's own.
  if (isLoopbackHost(from.hostname) && isLoopbackHost(to.name)) return port(from) !== (to.port || '80');
  return from.host !== req.headers.host;
}
