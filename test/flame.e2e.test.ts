/**
 * `GET /api/flame` and `GET /api/traces/:traceId/flame` end to end, on the real collector: traces
 * sent over OTLP/HTTP with `code.*` attributes come back as one call tree by service and method,
 * whose self times per method agree with `/api/hotspots`; a token limited to one service never
 * sees another service's frames; no token, no answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { checkoutRequests, FIRST, MS, SECOND } from './helpers/checkout-trace.js';
import { postTraces } from './helpers/otlp-send.js';

interface FlameNode {
  parent: number;
  depth: number;
  service: string;
  method: string;
  totalNano: string;
  selfNano: string;
  calls: number;
  errors: number;
  exampleTraceId: string;
  folded: number;
}
interface Flame {
  traceId?: string;
  traceCount: number;
  spanCount: number;
  nodeCount: number;
  nodes: FlameNode[];
  error?: string;
}
interface Hotspots {
  hotspots: Array<{ service: string; method: string; selfNano: string }>;
}

let c: RunningCollector;
let admin: string;
let shopOnly: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function api<T = Flame>(path: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: token ? bearer(token) : {} });
  return { status: res.status, body: (await res.json()) as T };
}

/** "  service/method total-ms self-ms ×calls", indented by depth. */
const tree = (f: Flame) => f.nodes.map((n) => `${'  '.repeat(n.depth)}${n.service}/${n.method} ${BigInt(n.totalNano) / MS} ${BigInt(n.selfNano) / MS} ×${n.calls}`);

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-flame-boot-'), 'admin.token');
  // Bound beyond loopback so that every request needs a token.
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const res = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'shop-only', scopes: ['read'], services: ['shop'] }),
  });
  expect(res.status).toBe(201);
  shopOnly = ((await res.json()) as { token: string }).token;

  for (const body of checkoutRequests('flame-e2e')) {
    expect(await postTraces(c.httpEndpoint, JSON.stringify(body), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  }
  await waitFor(async () => ((await api('/api/flame', admin)).body.spanCount === 8 ? true : undefined), 'both traces to be stored');
}, 180_000);
afterAll(cleanup);

describe('GET /api/flame', () => {
  it('merges the traces into one call tree with total and self time per frame', async () => {
    const { status, body } = await api('/api/flame', admin);
    expect(status).toBe(200);
    expect(body).toMatchObject({ traceCount: 2, spanCount: 8, nodeCount: 9 });
    expect(tree(body)).toEqual([
      '/(all) 107 0 ×2',
      '  shop/GET /health 7 7 ×1',
      '  shop/POST /checkout 100 40 ×1',
      '    shop/audit 50 50 ×1',
      '    shop/com.shop.Cart.tax 30 30 ×1',
      '    shop/com.shop.Cart.total 40 20 ×1',
      '      shop/POST /charge 20 2 ×1',
      '        billing/POST /charge 18 2 ×1',
      '          billing/com.bank.Card.charge 16 16 ×1',
    ]);
    expect(body.nodes.find((n) => n.method === 'com.bank.Card.charge')!.exampleTraceId).toBe(FIRST);
  });

  it('agrees with /api/hotspots on every method’s self time', async () => {
    const flame = (await api('/api/flame', admin)).body;
    const bySelf = new Map<string, bigint>();
    for (const n of flame.nodes.slice(1)) bySelf.set(`${n.service}/${n.method}`, (bySelf.get(`${n.service}/${n.method}`) ?? 0n) + BigInt(n.selfNano));
    const hot = (await api<Hotspots>('/api/hotspots', admin)).body.hotspots;
    expect(Object.fromEntries(bySelf)).toEqual(Object.fromEntries(hot.map((h) => [`${h.service}/${h.method}`, BigInt(h.selfNano)])));
  });

  it("never shows a token limited to one service another service's frames", async () => {
    const { status, body } = await api('/api/flame', shopOnly);
    expect(status).toBe(200);
    expect(JSON.stringify(body)).not.toMatch(/billing|com\.bank/);
    // The billing spans are hidden: the client span's 20 ms are all its own.
    expect(tree(body)).toContain('      shop/POST /charge 20 20 ×1');
    expect((await api('/api/flame?service=billing', shopOnly)).body.traceCount).toBe(0);
    expect(JSON.stringify((await api(`/api/traces/${FIRST}/flame`, shopOnly)).body)).not.toContain('billing');
  });

  it('refuses callers without a token and bad parameters', async () => {
    expect((await api('/api/flame')).status).toBe(401);
    expect((await api(`/api/traces/${FIRST}/flame`)).status).toBe(401);
    const bad = await api('/api/flame?traces=5000', admin);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^traces: expected a whole number from 1 to 1000/);
  });
});

describe('GET /api/traces/:traceId/flame', () => {
  it("answers one trace's tree, and 404 for an unknown trace", async () => {
    const { status, body } = await api(`/api/traces/${SECOND}/flame`, admin);
    expect(status).toBe(200);
    expect(body).toMatchObject({ traceId: SECOND, traceCount: 1, spanCount: 1 });
    expect(tree(body)).toEqual(['/(all) 7 0 ×1', '  shop/GET /health 7 7 ×1']);
    expect((await api(`/api/traces/${'9'.repeat(32)}/flame`, admin)).status).toBe(404);
  });
});
