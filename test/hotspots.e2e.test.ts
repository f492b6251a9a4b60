/**
 * `GET /api/hotspots` end to end, on the real collector and its embedded engine: traces sent
 * over OTLP/HTTP with `code.*` attributes come back as methods ranked by self time (overlapping
 * children counted once, a call outliving its parent clipped), filtered by service, operation
 * and trace; a token limited to one service sees only that service's methods; no token, no answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { checkoutRequests, FIRST, MS } from './helpers/checkout-trace.js';
import { postTraces } from './helpers/otlp-send.js';

interface Answer {
  totalSelfNano: string;
  totalCalls: number;
  methodCount: number;
  hotspots: Array<{ service: string; method: string; calls: number; errors: number; selfNano: string; totalNano: string; share: number }>;
  error?: string;
}

let c: RunningCollector;
let admin: string;
let shopOnly: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function api(path: string, token?: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: token ? bearer(token) : {} });
  return { status: res.status, body: (await res.json()) as Answer };
}

/** "service/method self-ms" per row. */
const rows = (a: Answer) => a.hotspots.map((h) => `${h.service}/${h.method} ${BigInt(h.selfNano) / MS}`);

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-hotspots-boot-'), 'admin.token');
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

  for (const body of checkoutRequests('hotspots-e2e')) {
    expect(await postTraces(c.httpEndpoint, JSON.stringify(body), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  }
  await waitFor(async () => ((await api('/api/hotspots', admin)).body.totalCalls === 8 ? true : undefined), 'both traces to be stored');
}, 180_000);
afterAll(cleanup);

describe('GET /api/hotspots', () => {
  it('ranks methods by self time with calls and shares of the total', async () => {
    const { status, body } = await api('/api/hotspots', admin);
    expect(status).toBe(200);
    expect(rows(body)).toEqual([
      'shop/audit 50',
      'shop/POST /checkout 40',
      'shop/com.shop.Cart.tax 30',
      'shop/com.shop.Cart.total 20',
      'billing/com.bank.Card.charge 16',
      'shop/GET /health 7',
      'billing/POST /charge 2',
      'shop/POST /charge 2',
    ]);
    expect(body.totalSelfNano).toBe(String(167n * MS));
    expect(body.methodCount).toBe(8);
    expect(body.hotspots[0]!.share).toBe(0.2994);
    const top2 = (await api('/api/hotspots?limit=2', admin)).body;
    expect(rows(top2)).toEqual(['shop/audit 50', 'shop/POST /checkout 40']);
    expect(top2.methodCount).toBe(8);
  });

  it('filters by service, operation and trace', async () => {
    expect(rows((await api('/api/hotspots?service=billing', admin)).body)).toEqual(['billing/com.bank.Card.charge 16', 'billing/POST /charge 2']);
    expect(rows((await api(`/api/hotspots?operation=${encodeURIComponent('GET /health')}`, admin)).body)).toEqual(['shop/GET /health 7']);
    const one = (await api(`/api/hotspots?traceId=${FIRST}`, admin)).body;
    expect(one.totalCalls).toBe(7);
    expect(one.totalSelfNano).toBe(String(160n * MS));
  });

  it('shows a token limited to one service only its methods', async () => {
    const { status, body } = await api('/api/hotspots', shopOnly);
    expect(status).toBe(200);
    expect(body.hotspots.every((h) => h.service === 'shop')).toBe(true);
    // The billing spans are hidden: the client span's 20 ms are all its own.
    expect(rows(body)).toContain('shop/POST /charge 20');
    expect((await api('/api/hotspots?service=billing', shopOnly)).body.hotspots).toEqual([]);
    expect(JSON.stringify((await api(`/api/hotspots?traceId=${FIRST}`, shopOnly)).body)).not.toContain('billing');
  });

  it('refuses callers without a token and bad parameters', async () => {
    expect((await api('/api/hotspots')).status).toBe(401);
    const bad = await api('/api/hotspots?limit=500', admin);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^limit: expected a whole number from 1 to 100/);
    expect((await api('/api/hotspots?lookback=720h', admin)).body.error).toMatch(/^lookback: the window is at most 7 days/);
  });
});
