import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { verifyBearer } from './bearer.js';
import type { OidcLogin } from './oidc-login.js';
import { AuthError, type CredentialVerifier, type Principal } from './principal.js';

/** Methods that change nothing, so need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Sessions kept at most; beyond, new logins are refused until some expire or log out. */
const MAX_SESSIONS = 10_000;
export const CSRF_HEADER = 'x-csrf-token';

/** The session table is full (503): logins wait until sessions expire or log out. */
export class SessionLimitError extends Error {
  override name = 'SessionLimitError';
  readonly statusCode = 503;
  constructor() {
    super(`too many open browser sessions (${MAX_SESSIONS}) on this collector: try again later`);
  }
}

export interface BrowserSessionsOptions {
  ttlMinutes: number;
  /** The same verifier chain the `Authorization: Bearer` header goes through. */
  verifiers: readonly CredentialVerifier[];
  /** The API is served over TLS: cookies get `Secure` and the `__Host-` prefix. */
  secure: boolean;
  /** Browser login through the OIDC issuer (authorization code + PKCE), when configured. */
  oidcLogin?: OidcLogin;
  now?: () => number;
}

export interface Session {
  id: string;
  csrfToken: string;
  principal: Principal;
  expiresAt: number;
  /**
   * The pasted credential, kept in memory only, re-verified on each request so that a revoked
   * or expired token ends its session at once. Absent for OIDC logins (the session is the login).
   */
  credential?: string;
}

/**
 * Server-side browser sessions: an HttpOnly, SameSite=Strict cookie holds only a random id;
 * state-changing requests must also send the session's CSRF token in `x-csrf-token`. In
 * memory: a restart logs everyone out.
 */
export class BrowserSessions {
  readonly cookieName: string;
  /** Binds an OIDC login's state to the browser that started it. */
  readonly stateCookieName: string;
  readonly oidcLogin: OidcLogin | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: BrowserSessionsOptions) {
    // `__Host-`: the browser only accepts the cookie from this exact host, over TLS, for Path=/.
    const prefix = options.secure ? '__Host-' : '';
    this.cookieName = `${prefix}flowtrace_session`;
    this.stateCookieName = `${prefix}flowtrace_oidc_state`;
    this.oidcLogin = options.oidcLogin;
    this.ttlMs = options.ttlMinutes * 60_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * The principal of the request's session cookie; undefined when it sends none. Throws
   * AuthError 401 for an unknown or expired session, 403 for a state-changing request
   * without the session's CSRF token.
   */
  async authenticate(req: FastifyRequest): Promise<Principal | undefined> {
    if (readCookie(req, this.cookieName) === undefined) return undefined;
    const session = await this.current(req);
    if (!SAFE_METHODS.has(req.method) && !sameSecret(headerValue(req, CSRF_HEADER), session.csrfToken)) {
      throw new AuthError(403, `a state-changing request with a session cookie needs the session's CSRF token in the ${CSRF_HEADER} header (GET /api/session returns it)`);
    }
    return session.principal;
  }

  /** The request's live session (no CSRF check). Throws AuthError 401 when there is none. */
  async current(req: FastifyRequest): Promise<Session> {
    const id = readCookie(req, this.cookieName);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) throw new AuthError(401, 'not logged in (no session, or it ended): log in again');
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(session.id);
      throw new AuthError(401, 'the session has expired: log in again');
    }
    if (session.credential !== undefined) {
      try {
        session.principal = await this.verify(session.credential);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err; // e.g. the token store not loaded yet: not the session's fault
        this.sessions.delete(session.id);
        throw new AuthError(401, `the credential this session was opened with is no longer valid: ${(err as Error).message}`);
      }
    }
    return session;
  }

  /** Verifies a pasted token through the verifier chain and opens a session for it. */
  async loginWithToken(token: string): Promise<Session> {
    const principal = await this.verify(token);
    return this.open(principal, token);
  }

  /** Opens a session for an already verified principal (OIDC login). */
  open(principal: Principal, credential?: string): Session {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) throw new SessionLimitError();
    const session: Session = { id: randomToken(), csrfToken: randomToken(), principal, expiresAt: this.now() + this.ttlMs, credential };
    this.sessions.set(session.id, session);
    return session;
  }

  /** Ends the request's session, if any. */
  end(req: FastifyRequest): void {
    const id = readCookie(req, this.cookieName);
    if (id !== undefined) this.sessions.delete(id);
  }

  /** `Set-Cookie` for a session. */
  sessionCookie(session: Session): string {
    return this.cookie(this.cookieName, session.id, 'Strict', Math.ceil((session.expiresAt - this.now()) / 1000));
  }

  /** `Set-Cookie` that makes the browser drop the session cookie. */
  clearedSessionCookie(): string {
    return this.cookie(this.cookieName, '', 'Strict', 0);
  }

  /**
   * `Set-Cookie` binding an OIDC login's state to this browser. Lax, not Strict: the issuer
   * sends the browser back with a cross-site navigation, on which Strict cookies are withheld.
   */
  stateCookie(state: string | undefined): string {
    return this.cookie(this.stateCookieName, state ?? '', 'Lax', state ? 600 : 0);
  }

  readCookie(req: FastifyRequest, name: string): string | undefined {
    return readCookie(req, name);
  }

  private verify(credential: string): Promise<Principal> {
    return verifyBearer(this.options.verifiers, credential);
  }

  private cookie(name: string, value: string, sameSite: 'Strict' | 'Lax', maxAgeSeconds: number): string {
    return `${name}=${value}; Path=/; HttpOnly; SameSite=${sameSite}; Max-Age=${maxAgeSeconds}${this.options.secure ? '; Secure' : ''}`;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function headerValue(req: FastifyRequest, name: string): string {
  const value = req.headers[name];
  return typeof value === 'string' ? value : '';
}

/** Constant-time comparison, so the CSRF token cannot be guessed byte by byte from timings. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}
