import { createHash, randomBytes } from 'node:crypto';
import type { OidcConfig, OidcVerifier } from './oidc.js';
import { AuthError, type Principal } from './principal.js';

/** A login started at /auth/oidc/login must come back within this. */
const LOGIN_TTL_MS = 10 * 60_000;
/** Pending logins kept at most (the login route is public: the oldest are dropped beyond). */
const MAX_PENDING_LOGINS = 1_000;
const TOKEN_EXCHANGE_TIMEOUT_MS = 10_000;

interface PendingLogin {
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  expiresAt: number;
}

/** A callback that cannot complete: 400 for a bad or replayed request, 401 when the issuer or its token refuses. */
export class OidcLoginError extends Error {
  override name = 'OidcLoginError';
  constructor(
    readonly statusCode: 400 | 401 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The OpenID Connect authorization-code flow with PKCE (S256), for browsers. The code
 * verifier, state and nonce stay on the server, are single-use and expire; the id_token is
 * verified by the same verifier as bearer JWTs (plus audience = client_id and the nonce).
 */
export class OidcLogin {
  private readonly pending = new Map<string, PendingLogin>();

  constructor(
    private readonly config: Pick<OidcConfig, 'client_id' | 'client_secret' | 'redirect_uri'>,
    private readonly verifier: OidcVerifier,
    private readonly now: () => number = Date.now,
  ) {
    if (!config.client_id) throw new Error('auth.oidc.client_id is empty: browser login through the issuer is off');
  }

  /** `auth.oidc.redirect_uri`, or the callback on the address the browser used. */
  redirectUri(requestOrigin: string): string {
    return this.config.redirect_uri || `${requestOrigin}/auth/oidc/callback`;
  }

  /** Starts a login: the issuer URL to send the browser to, and the state to bind to it (cookie). */
  async begin(redirectUri: string): Promise<{ location: string; state: string }> {
    const meta = await this.verifier.provider().catch((err: Error) => {
      throw new OidcLoginError(502, `cannot reach the OIDC issuer: ${err.message}`);
    });
    if (!meta.authorization_endpoint) throw new OidcLoginError(502, "the OIDC issuer's discovery document has no authorization_endpoint");
    this.sweep();
    while (this.pending.size >= MAX_PENDING_LOGINS) this.pending.delete(this.pending.keys().next().value!);
    const state = randomToken();
    const login: PendingLogin = { codeVerifier: randomToken(), nonce: randomToken(), redirectUri, expiresAt: this.now() + LOGIN_TTL_MS };
    this.pending.set(state, login);
    const url = new URL(meta.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.config.client_id);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', 'openid profile email');
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', login.nonce);
    url.searchParams.set('code_challenge', createHash('sha256').update(login.codeVerifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    return { location: url.href, state };
  }

  /**
   * Completes a login: the state must be one this collector issued, unused, unexpired, and the
   * one bound to this browser (`boundState`, from its cookie); the code is exchanged with the
   * PKCE verifier and the id_token verified.
   */
  async complete(query: { state?: string; code?: string; error?: string }, boundState: string | undefined): Promise<Principal> {
    const state = query.state ?? '';
    const login = this.pending.get(state);
    this.pending.delete(state); // single use, whatever happens next
    if (!login || login.expiresAt <= this.now()) throw new OidcLoginError(400, 'unknown, expired or already used login state: start again at /auth/oidc/login');
    if (boundState !== state) throw new OidcLoginError(400, 'this login was not started by this browser: start again at /auth/oidc/login');
    if (query.error) throw new OidcLoginError(401, `the OIDC issuer refused the login (${safeCode(query.error)})`);
    if (!query.code) throw new OidcLoginError(400, 'code: missing');
    const idToken = await this.exchange(query.code, login);
    try {
      return await this.verifier.verifyIdToken(idToken, login.nonce);
    } catch (err) {
      if (err instanceof AuthError && err.statusCode === 403) throw err;
      throw new OidcLoginError(401, `the id_token is refused: ${(err as Error).message}`);
    }
  }

  private async exchange(code: string, login: PendingLogin): Promise<string> {
    const meta = await this.verifier.provider();
    if (!meta.token_endpoint) throw new OidcLoginError(502, "the OIDC issuer's discovery document has no token_endpoint");
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: login.redirectUri, code_verifier: login.codeVerifier });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const { client_id: id, client_secret: secret } = this.config;
    const methods = meta.token_endpoint_auth_methods_supported;
    if (secret && (!methods || methods.includes('client_secret_basic'))) {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
      headers.authorization = `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
    } else {
      form.set('client_id', id);
      if (secret) form.set('client_secret', secret);
    }
    let res: Response;
    try {
      res = await fetch(meta.token_endpoint, { method: 'POST', headers, body: form, redirect: 'error', signal: AbortSignal.timeout(TOKEN_EXCHANGE_TIMEOUT_MS) });
    } catch (err) {
      throw new OidcLoginError(502, `cannot reach the OIDC token endpoint: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (!res.ok) throw new OidcLoginError(401, `the OIDC issuer refused the authorization code (${safeCode(body.error)})`);
    if (typeof body.id_token !== 'string') throw new OidcLoginError(502, 'the OIDC token endpoint answered without an id_token');
    return body.id_token;
  }

  private sweep(): void {
    const now = this.now();
    for (const [state, login] of this.pending) if (login.expiresAt <= now) this.pending.delete(state);
  }
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

/** An OAuth error code from outside, reduced to what such a code may contain. */
function safeCode(value: unknown): string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : 'unspecified error';
}
