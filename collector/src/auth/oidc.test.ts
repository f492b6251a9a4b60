import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportSPKI, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProvider } from '../../../test/helpers/oidc-provider.js';
import { authConfigSchema } from './config.js';
import { createOidcVerifier, type OidcConfig, type OidcVerifier } from './oidc.js';
import { AuthError } from './principal.js';

const logger = pino({ level: 'silent' });
let idp: OidcProvider;
let verifier: OidcVerifier;

function oidcConfig(overrides: Partial<OidcConfig> = {}): OidcConfig {
  return authConfigSchema.parse({
    oidc: {
      issuer: idp.issuer,
      audience: idp.audience,
      roles_claim: 'realm.roles',
      roles: {
        viewer: { scopes: ['read'], services: ['checkout'] },
        analyst: { scopes: ['read', 'sql'], services: ['checkout', 'payments'] },
        ops: { scopes: ['read'], environments: ['prod'] },
        shipper: { scopes: ['ingest'] },
      },
      ...overrides,
    },
  }).oidc;
}

async function refusal(token: string, v: OidcVerifier = verifier): Promise<AuthError> {
  const err = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).message).not.toContain(token);
  return err as AuthError;
}

beforeAll(async () => {
  idp = await startOidcProvider();
  verifier = createOidcVerifier(oidcConfig(), logger, { jwksCooldownMs: 0 });
});
afterAll(() => idp.close());

describe('OIDC bearer verification', () => {
  it('accepts a valid JWT and maps its roles to scopes and read rules', async () => {
    const token = await idp.sign({ sub: 'alice', name: 'Alice', realm: { roles: ['viewer'] } });
    const p = await verifier.verify(token);
    expect(p).toMatchObject({ id: 'oidc:alice', kind: 'oidc', name: 'Alice', rules: { services: ['checkout'] } });
    expect([...p!.scopes]).toEqual(['read']);
  });

  it('unites the scopes and services of several roles', async () => {
    const p = await verifier.verify(await idp.sign({ sub: 'bob', email: 'bob@example.com', realm: { roles: ['viewer', 'analyst', 'shipper'] } }));
    expect([...p!.scopes].sort()).toEqual(['ingest', 'read', 'sql']);
    expect(p!.rules).toEqual({ services: ['checkout', 'payments'] });
    expect(p!.name).toBe('bob@example.com');
  });

  it('refuses roles whose rules cannot be combined without granting more than either', async () => {
    const err = await refusal(await idp.sign({ sub: 'carol', realm: { roles: ['viewer', 'ops'] } }));
    expect(err.statusCode).toBe(403);
    expect(err.message).toMatch(/cannot be combined/);
  });

  it('refuses a valid token with no mapped role (403)', async () => {
    const err = await refusal(await idp.sign({ sub: 'dave', realm: { roles: ['intern'] } }));
    expect(err.statusCode).toBe(403);
    expect(err.message).toMatch(/no role of yours is mapped/);
  });

  it('answers undefined for what is not a JWT, so the next verifier is tried', async () => {
    expect(await verifier.verify('ft_abcdefghijklmnopqrstuvwxyz0123456789')).toBeUndefined();
    expect(await verifier.verify('a.b')).toBeUndefined();
  });

  it.each([
    ['expired', () => idp.sign({ sub: 'x', realm: { roles: ['viewer'] } }, { expiresIn: -3600 }), /expired/],
    ['not yet valid', () => idp.sign({ sub: 'x', realm: { roles: ['viewer'] } }, { notBefore: 3600 }), /not valid yet/],
    ['from another issuer', () => idp.sign({ sub: 'x', realm: { roles: ['viewer'] } }, { issuer: 'https://evil.example' }), /not issued by auth\.oidc\.issuer/],
    ['for another audience', () => idp.sign({ sub: 'x', aud: 'another-app', realm: { roles: ['viewer'] } }), /audience/],
    ['signed with a key the JWKS lacks', () => idp.sign({ sub: 'x', realm: { roles: ['viewer'] } }, { kid: 'unknown-kid' }), /no key/],
    ['without sub', () => idp.sign({ realm: { roles: ['viewer'] } }), /"sub" claim/],
  ])('refuses a JWT %s (401)', async (_what, make, message) => {
    const err = await refusal(await make());
    expect(err.statusCode).toBe(401);
    expect(err.message).toMatch(message);
  });

  it('refuses an unsigned JWT (alg: none)', async () => {
    const token = new UnsecuredJWT({ sub: 'x', realm: { roles: ['viewer'] } }).setIssuer(idp.issuer).setAudience(idp.audience).setExpirationTime('5m').encode();
    const err = await refusal(token);
    expect(err.statusCode).toBe(401);
    expect(err.message).toMatch(/algorithm is not accepted/);
  });

  it('refuses an HS256 JWT signed with the public key (algorithm confusion)', async () => {
    const jwk = idp.currentPublicJwk();
    const pem = await exportSPKI((await importJWK(jwk, 'RS256')) as CryptoKey);
    const token = await new SignJWT({ sub: 'x', realm: { roles: ['viewer'] } })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(pem));
    const err = await refusal(token);
    expect(err.statusCode).toBe(401);
    expect(err.message).toMatch(/algorithm is not accepted/);
  });

  it('refuses a token whose signature was tampered with', async () => {
    const token = await idp.sign({ sub: 'x', realm: { roles: ['viewer'] } });
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'x', iss: idp.issuer, aud: idp.audience, exp: 9e9, realm: { roles: ['analyst'] } })).toString('base64url');
    expect((await refusal(`${h}.${forged}.${s}`)).message).toMatch(/signature does not verify/);
  });

  it('follows a key rotation: a token signed by the new key is accepted', async () => {
    await verifier.verify(await idp.sign({ sub: 'x', realm: { roles: ['viewer'] } }));
    await idp.rotateKeys({ dropOld: true });
    const p = await verifier.verify(await idp.sign({ sub: 'rotated', realm: { roles: ['viewer'] } }));
    expect(p!.id).toBe('oidc:rotated');
  });

  it('uses auth.oidc.jwks_uri without discovery when set', async () => {
    const v = createOidcVerifier(oidcConfig({ jwks_uri: `${idp.issuer}/jwks` }), logger);
    expect((await v.verify(await idp.sign({ sub: 'j', realm: { roles: ['viewer'] } })))!.id).toBe('oidc:j');
  });

  it('verifies an id_token against client_id and the login nonce', async () => {
    const v = createOidcVerifier(oidcConfig({ client_id: 'dash' }), logger);
    const idToken = await idp.sign({ sub: 'i', aud: 'dash', nonce: 'n1', realm: { roles: ['viewer'] } });
    expect((await v.verifyIdToken(idToken, 'n1')).id).toBe('oidc:i');
    await expect(v.verifyIdToken(idToken, 'n2')).rejects.toThrow(/nonce/);
  });

  it('refuses to build without an audience or any role, or with keys over plain http off loopback', () => {
    expect(() => createOidcVerifier(oidcConfig({ audience: '' }), logger)).toThrow(/auth\.oidc\.audience: required/);
    expect(() => createOidcVerifier(oidcConfig({ roles: {} }), logger)).toThrow(/auth\.oidc\.roles: maps no role/);
    expect(() => createOidcVerifier(oidcConfig({ issuer: 'http://idp.example.com' }), logger)).toThrow(/auth\.oidc\.issuer: .* must be https/);
    expect(() => createOidcVerifier(oidcConfig({ jwks_uri: 'keys.json' }), logger)).toThrow(/auth\.oidc\.jwks_uri: .* not an absolute URL/);
  });
});

describe('OIDC discovery', () => {
  let impostor: Server;
  let impostorUrl: string;
  beforeAll(async () => {
    // A discovery document that names another issuer must not be trusted for its keys.
    impostor = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: idp.issuer, jwks_uri: `${idp.issuer}/jwks` })));
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    impostorUrl = `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => impostor.close(() => r())));

  it('refuses keys from a discovery document naming another issuer', async () => {
    const v = createOidcVerifier(oidcConfig({ issuer: impostorUrl }), logger);
    const token = await idp.sign({ sub: 'x', realm: { roles: ['viewer'] } }, { issuer: impostorUrl });
    const err = await refusal(token, v);
    expect(err.statusCode).toBe(401);
    expect(err.message).toMatch(/keys are unavailable.*names issuer/);
  });
});
