/**
 * A tiny but real OpenID Connect provider on 127.0.0.1 for tests: discovery, a JWKS with key
 * rotation, an /authorize endpoint that approves at once (for the user the test chose) and
 * redirects with a code bound to the PKCE challenge, and a /token endpoint that checks the
 * client, the redirect_uri and the code_verifier before issuing an id_token and an access token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestClient {
  id: string;
  /** Empty for a public client (PKCE only). */
  secret: string;
}

export interface SignOptions {
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Seconds from now for `nbf`. */
  notBefore?: number;
  /** Overrides the signing key's kid (e.g. a kid the JWKS does not have). */
  kid?: string;
  issuer?: string;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string;
  claims: JWTPayload;
}

export interface OidcProvider {
  issuer: string;
  /** The API audience access tokens are issued for. */
  audience: string;
  client: TestClient;
  /** Claims of the user /authorize approves (sub, name, roles, …). */
  user: JWTPayload;
  /** A JWT signed by the current key, with iss/aud/iat/exp filled in unless given. */
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** The current public key as a JWK (for algorithm-confusion attacks). */
  currentPublicJwk(): JWK;
  /** Replaces the signing key with a new one (new kid); the old one stays in the JWKS unless `dropOld`. */
  rotateKeys(options?: { dropOld?: boolean }): Promise<void>;
  /** Requests /token refused, with the OAuth error code (for asserting the provider's side). */
  tokenRefusals: string[];
  jwksFetches: number;
  close(): Promise<void>;
}

export async function startOidcProvider(options: { audience?: string; client?: TestClient } = {}): Promise<OidcProvider> {
  const client = options.client ?? { id: 'flowtrace-dashboard', secret: 'test-client-secret' };
  const audience = options.audience ?? 'flowtrace-api';
  const keys: SigningKey[] = [await newKey()];
  const codes = new Map<string, PendingCode>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: 'server_error', error_description: err.message }));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider: OidcProvider = {
    issuer,
    audience,
    client,
    user: { sub: 'user-1', name: 'Test User', roles: ['viewer'] },
    tokenRefusals: [],
    jwksFetches: 0,
    async sign(claims, opts = {}) {
      const key = keys[keys.length - 1];
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ aud: audience, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? key.kid, typ: 'JWT' })
        .setIssuer(opts.issuer ?? issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresIn ?? 300));
      if (opts.notBefore !== undefined) jwt.setNotBefore(now + opts.notBefore);
      return jwt.sign(key.privateKey);
    },
    currentPublicJwk: () => keys[keys.length - 1].publicJwk,
    async rotateKeys({ dropOld = false } = {}) {
      const key = await newKey();
      if (dropOld) keys.length = 0;
      keys.push(key);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      provider.jwksFetches++;
      return send(res, 200, { keys: keys.map((k) => k.publicJwk) });
    }
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/token') return token(req, res);
    send(res, 404, { error: 'not_found' });
  }

  function authorize(url: URL, res: ServerResponse): void {
    const p = url.searchParams;
    const redirectUri = p.get('redirect_uri') ?? '';
    if (p.get('client_id') !== client.id || !redirectUri) return send(res, 400, { error: 'invalid_request', error_description: 'unknown client or no redirect_uri' });
    const back = new URL(redirectUri);
    const fail = (error: string) => {
      back.searchParams.set('error', error);
      back.searchParams.set('state', p.get('state') ?? '');
      redirect(res, back.href);
    };
    if (p.get('response_type') !== 'code') return fail('unsupported_response_type');
    if (p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) return fail('invalid_request');
    if (!p.get('scope')?.split(' ').includes('openid')) return fail('invalid_scope');
    const code = randomBytes(16).toString('base64url');
    codes.set(code, { clientId: client.id, redirectUri, challenge: p.get('code_challenge')!, nonce: p.get('nonce') ?? '', claims: { ...provider.user } });
    back.searchParams.set('code', code);
    back.searchParams.set('state', p.get('state') ?? '');
    redirect(res, back.href);
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const refuse = (error: string, status = 400) => {
      provider.tokenRefusals.push(error);
      send(res, status, { error });
    };
    const [clientId, secret] = clientCredentials(req, form);
    if (clientId !== client.id || secret !== client.secret) return refuse('invalid_client', 401);
    if (form.get('grant_type') !== 'authorization_code') return refuse('unsupported_grant_type');
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code); // single use, even when the exchange fails
    if (!pending || pending.clientId !== clientId || pending.redirectUri !== form.get('redirect_uri')) return refuse('invalid_grant');
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) return refuse('invalid_grant');
    const idToken = await provider.sign({ ...pending.claims, aud: client.id, nonce: pending.nonce });
    const accessToken = await provider.sign({ ...pending.claims });
    send(res, 200, { token_type: 'Bearer', expires_in: 300, id_token: idToken, access_token: accessToken });
  }

  return provider;
}

/** client_secret_basic (form-urlencoded id:secret, RFC 6749 §2.3.1) or client_secret_post. */
function clientCredentials(req: IncomingMessage, form: URLSearchParams): [string, string] {
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Basic ')) {
    const [id = '', secret = ''] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
    return [decodeURIComponent(id.replace(/\+/g, ' ')), decodeURIComponent(secret.replace(/\+/g, ' '))];
  }
  return [form.get('client_id') ?? '', form.get('client_secret') ?? ''];
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location }).end();
}
