import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { openTestStore, type TestStore } from '../../../exporters/clickhouse/embedded.testing.js';
import { AuthError } from './principal.js';
import { generateToken, hashToken } from './token-format.js';
import { API_TOKENS_TABLE, TokenStore } from './token-store.js';

let testStore: TestStore;
let clients: ClickHouseClients;

beforeAll(() => {
  testStore = openTestStore('ft-tokens-');
  clients = testStore.clients;
});
afterAll(() => testStore.close());

async function store(database: string, now?: () => number): Promise<TokenStore> {
  const s = new TokenStore(clients, database, now);
  await s.start();
  return s;
}

const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (err: AuthError) => `${err.statusCode} ${err.message}`);

describe('API token store', () => {
  it('creates tokens that verify to a principal with their scopes and read rules', async () => {
    const tokens = await store('tokens_create');
    const { token, info } = await tokens.create({ name: 'grafana', scopes: ['read'], services: ['checkout'], environments: ['prod'] });
    expect(token).toMatch(/^ft_[A-Za-z0-9_-]{43}$/);
    const principal = await tokens.verify(token);
    expect(principal).toMatchObject({ id: `token:${info.id}`, kind: 'token', name: 'grafana', rules: { services: ['checkout'], environments: ['prod'] } });
    expect([...principal!.scopes]).toEqual(['read']);
    tokens.stop();
  });

  it('leaves bearer values that are not ft_ tokens to other verifiers, and refuses unknown ft_ tokens', async () => {
    const tokens = await store('tokens_unknown');
    expect(await tokens.verify('eyJhbGciOiJSUzI1NiJ9.x.y')).toBeUndefined();
    expect(await refusal(tokens.verify(generateToken()))).toBe('401 unknown API token');
    expect(await refusal(tokens.verify('ft_short'))).toBe('401 malformed API token');
    tokens.stop();
  });

  it('refuses a revoked token at once, and an expired one', async () => {
    let now = Date.now();
    const tokens = await store('tokens_revoke', () => now);
    const a = await tokens.create({ name: 'a', scopes: ['read'] });
    await tokens.revoke(a.info.id);
    expect(await refusal(tokens.verify(a.token))).toMatch(/^401 API token \w+ was revoked$/);
    const b = await tokens.create({ name: 'b', scopes: ['read'], expiresAt: new Date(now + 60_000) });
    expect(await refusal(tokens.verify(b.token))).toBe('accepted');
    now += 61_000;
    expect(await refusal(tokens.verify(b.token))).toMatch(/^401 API token \w+ expired at /);
    expect(tokens.hasActiveToken()).toBe(false);
    expect(await tokens.revoke('no-such-id')).toBeUndefined();
    tokens.stop();
  });

  it('keeps tokens and revocations across restarts, stored only as SHA-256 digests', async () => {
    const first = await store('tokens_restart');
    const a = await first.create({ name: 'a', scopes: ['sql'] });
    const b = await first.create({ name: 'b', scopes: ['ingest'] });
    await first.revoke(b.info.id);
    first.stop();
    const second = await store('tokens_restart');
    expect((await second.verify(a.token))?.name).toBe('a');
    expect(await refusal(second.verify(b.token))).toMatch(/revoked/);
    const rows = await (await clients.reader.query({ query: `SELECT * FROM tokens_restart.${API_TOKENS_TABLE}`, format: 'JSONEachRow' })).text();
    expect(rows).not.toContain(a.token);
    expect(rows).not.toContain(a.token.slice(3));
    expect(rows).toContain(hashToken(a.token));
    expect(second.list().map((t) => t.name)).toEqual(['a', 'b']);
    expect(JSON.stringify(second.list())).not.toContain(hashToken(a.token));
    second.stop();
  });

  it('registers a given token idempotently and never brings a revoked one back', async () => {
    const tokens = await store('tokens_register');
    const token = generateToken();
    const first = await tokens.register(token, { name: 'bootstrap', scopes: ['admin'] });
    expect((await tokens.register(token, { name: 'bootstrap', scopes: ['admin'] })).id).toBe(first.id);
    await tokens.revoke(first.id);
    tokens.stop();
    const again = await store('tokens_register');
    expect((await again.register(token, { name: 'bootstrap', scopes: ['admin'] })).revokedAt).toBeDefined();
    expect(await refusal(again.verify(token))).toMatch(/revoked/);
    expect(again.list()).toHaveLength(1);
    again.stop();
  });
});
