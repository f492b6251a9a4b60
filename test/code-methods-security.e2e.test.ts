/**
 * `GET /api/code/methods` attacked (security review of query/code-methods.ts and code-routes.ts),
 * on the real collector and its engine: spans with known durations and errors come back with
 * exactly those counts and percentiles; `%`, `_`, backslashes, quotes, unicode and very long
 * paths are plain text (never a pattern, never SQL); a token limited to one service never sees
 * another's methods and agrees with its own SQL view; scopes and bounds are enforced and no
 * answer carries a token or SQL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

interface Method {
  service: string;
  function: string;
  line: number;
  filePath: string;
  calls: number;
  errors: number;
  p50Nano: string;
  p99Nano: string;
  lastSeenUnixNano: string;
  slowestTraceId: string;
}
interface Answer {
  methodCount: number;
  methods: Method[];
  error?: string;
}

const MS = 1_000_000n;
const BASE_NS = (BigInt(Date.now()) - 10n * 60_000n) * MS; // ten minutes ago: inside the default hour
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const str = (key: string, value: string | number): OtlpKeyValue => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } });

let c: RunningCollector;
let admin: string;
let shopReader: string;
let shopSql: string;
let ingestOnly: string;
let slowestShopTrace = '';
let lastShopStartNs = 0n;

/** One method span (with its own trace) per call. */
function method(service: string, file: string, fn: string, line: number, startNs: bigint, durationMs: bigint, error: boolean): { service: string; span: OtlpSpan } {
  return {
    service,
    span: {
      traceId: hex(16),
      spanId: hex(8),
      name: fn,
      kind: 1,
      startTimeUnixNano: startNs.toString(),
      endTimeUnixNano: (startNs + durationMs * MS).toString(),
      attributes: [str('code.file.path', file), str('code.function.name', fn), str('code.line.number', line)],
      status: error ? { code: 2, message: 'boom' } : { code: 0 },
    },
  };
}

function request(items: Array<{ service: string; span: OtlpSpan }>): string {
  const byService = new Map<string, OtlpSpan[]>();
  for (const { service, span } of items) byService.set(service, [...(byService.get(service) ?? []), span]);
  const body: OtlpRequest = {
    resourceSpans: [...byService].map(([service, spans]) => ({ resource: { attributes: [str('service.name', service)] }, scopeSpans: [{ scope: { name: 'sec' }, spans }] })),
  };
  return JSON.stringify(body);
}

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function methods(query: string, token = admin): Promise<{ status: number; body: Answer; text: string }> {
  const res = await fetch(`${c.apiUrl}/api/code/methods?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Answer, text };
}
const path = (p: string, extra = '') => `path=${encodeURIComponent(p)}${extra}`;

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-code-sec-boot-'), 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  shopReader = await createToken({ name: 'shop-reader', scopes: ['read'], services: ['shop'] });
  shopSql = await createToken({ name: 'shop-sql', scopes: ['read', 'sql'], services: ['shop'] });
  ingestOnly = await createToken({ name: 'ingest-only', scopes: ['ingest'] });

  const items: Array<{ service: string; span: OtlpSpan }> = [];
  // shop: 100 calls of 1..100 ms, the 7th, 50th and 93rd failing.
  for (let i = 1n; i <= 100n; i++) {
    const start = BASE_NS + i * 1000n * MS;
    const m = method('shop', '/srv/shop/src/orders/service.ts', 'OrderService.place', 10, start, i, i === 7n || i === 50n || i === 93n);
    if (i === 100n) slowestShopTrace = m.span.traceId;
    lastShopStartNs = start;
    items.push(m);
  }
  // billing: the same relative path in another service, 4 calls of 5 ms, one failing.
  for (let i = 0n; i < 4n; i++) items.push(method('billing', '/opt/billing/src/orders/service.ts', 'Billing.charge', 3, BASE_NS + i * MS, 5n, i === 0n));
  // Literal wildcard and quote characters in a file name, a Windows path, unicode.
  items.push(method('shop', '/srv/shop/src/odd/100%_don\'e.ts', 'odd', 1, BASE_NS, 1n, false));
  items.push(method('shop', 'C:\\build\\shop\\src\\win\\Handler.cs', 'Handle', 2, BASE_NS, 1n, false));
  items.push(method('shop', '/srv/shop/src/ünï/ñame.ts', 'unicode', 3, BASE_NS, 1n, false));
  expect(await postTraces(c.httpEndpoint, request(items), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const { body } = await methods(path('src/orders/service.ts'));
    return body.methods?.reduce((n, m) => n + m.calls, 0) === 104 ? true : undefined;
  }, 'the spans to be stored');
}, 180_000);
afterAll(cleanup);

describe('the numbers', () => {
  it('are the calls, errors, percentiles, last call and slowest trace that were sent', async () => {
    const { status, body } = await methods(path('src/orders/service.ts'));
    expect(status).toBe(200);
    expect(body.methodCount).toBe(2);
    const [shop, billing] = body.methods;
    expect(shop).toMatchObject({ service: 'shop', function: 'OrderService.place', line: 10, filePath: '/srv/shop/src/orders/service.ts', calls: 100, errors: 3, slowestTraceId: slowestShopTrace });
    expect(shop!.lastSeenUnixNano).toBe(lastShopStartNs.toString());
    // Durations 1..100 ms: the median between 50 and 51 ms, the 99th percentile between 99 and 100 ms.
    expect(BigInt(shop!.p50Nano)).toBeGreaterThanOrEqual(50n * MS);
    expect(BigInt(shop!.p50Nano)).toBeLessThanOrEqual(51n * MS);
    expect(BigInt(shop!.p99Nano)).toBeGreaterThanOrEqual(99n * MS);
    expect(BigInt(shop!.p99Nano)).toBeLessThanOrEqual(100n * MS);
    expect(billing).toMatchObject({ service: 'billing', function: 'Billing.charge', calls: 4, errors: 1, p50Nano: String(5n * MS), p99Nano: String(5n * MS) });
    const one = await methods(path('src/orders/service.ts', '&limit=1'));
    expect(one.body.methods.map((m) => m.service)).toEqual(['shop']);
    expect(one.body.methodCount).toBe(2);
  });
});

describe('path and service are plain text', () => {
  it('treats % and _ as characters, not wildcards, and quotes as text', async () => {
    expect((await methods(path("src/odd/100%_don'e.ts"))).body.methods.map((m) => m.function)).toEqual(['odd']);
    for (const pattern of ['src/odd/100%', 'src/odd/%.ts', 'src/odd/100%_don_e.ts', 'src/orders/servic_.ts', 'src/orders/%', '%', '_']) {
      const { status, body } = await methods(path(pattern));
      expect({ pattern, status, methods: body.methods }).toEqual({ pattern, status: 200, methods: [] });
    }
  });

  it('matches a Windows path both ways, and unicode names', async () => {
    expect((await methods(path('src/win/Handler.cs'))).body.methods.map((m) => m.function)).toEqual(['Handle']);
    expect((await methods(path('shop\\src\\win\\Handler.cs'))).body.methods.map((m) => m.function)).toEqual(['Handle']);
    expect((await methods(path('src/ünï/ñame.ts'))).body.methods.map((m) => m.function)).toEqual(['unicode']);
    // Matching is at segment boundaries only: `rders/service.ts` is not `orders/service.ts`.
    expect((await methods(path('rders/service.ts'))).body.methods).toEqual([]);
  });

  it('never lets SQL through path or service', async () => {
    for (const q of [
      path("service.ts') OR 1=1 --"),
      path("src/orders/service.ts", `&service=${encodeURIComponent("x' OR '1'='1")}`),
      path("src/orders/service.ts", `&service=${encodeURIComponent('shop\\')}`),
      path('x.ts', `&service=${encodeURIComponent("shop'); DROP TABLE otel_traces; --")}`),
    ]) {
      const { status, body } = await methods(q);
      expect({ q, status, methods: body.methods }).toEqual({ q, status: 200, methods: [] });
    }
    expect((await methods(path('src/orders/service.ts'))).body.methods).toHaveLength(2);
  });

  it('refuses NUL, control characters, .. segments and over-long paths with a 400 naming the path', async () => {
    for (const bad of ['a\u0000.ts', 'a\n.ts', 'src/../../etc/passwd', '..\\..\\etc\\passwd', `${'a'.repeat(1022)}/b.ts`]) {
      const { status, body } = await methods(path(bad));
      expect({ bad: bad.slice(0, 20), status, error: body.error?.slice(0, 5) }).toEqual({ bad: bad.slice(0, 20), status: 400, error: 'path:' });
    }
    expect((await methods(path(`${'a'.repeat(1019)}/b.ts`))).status).toBe(200);
  });
});

describe('access', () => {
  it('shows a service-limited token only its services, the same as its own SQL view', async () => {
    const limited = await methods(path('src/orders/service.ts'), shopReader);
    expect(limited.body.methods.map((m) => m.service)).toEqual(['shop']);
    expect(limited.body.methodCount).toBe(1);
    expect((await methods(path('src/orders/service.ts', '&service=billing'), shopReader)).body).toMatchObject({ methodCount: 0, methods: [] });
    const res = await fetch(`${c.apiUrl}/api/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shopSql}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: "SELECT ServiceName AS s, count() AS n FROM otel_traces WHERE endsWith(SpanAttributes['code.file.path'], '/src/orders/service.ts') GROUP BY s" }),
    });
    expect(res.status).toBe(200);
    const rows = ((await res.json()) as { rows: Array<{ s: string; n: string | number }> }).rows;
    expect(rows.map((r) => [r.s, Number(r.n)])).toEqual([['shop', 100]]);
    expect((await methods(path('src/orders/service.ts'), shopSql)).body.methods.map((m) => [m.service, m.calls])).toEqual([['shop', 100]]);
  });

  it('needs a token with the read scope, and no refusal carries a token or SQL', async () => {
    const forged = `ft_${'A'.repeat(43)}`;
    const answers = [await methods(path('a.ts'), ''), await methods(path('a.ts'), forged), await methods(path('a.ts'), ingestOnly)];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 403]);
    for (const a of answers) {
      expect(a.text).not.toContain(forged);
      expect(a.text).not.toContain(ingestOnly);
      expect(a.text).not.toMatch(/SELECT|otel_traces|SpanAttributes/);
    }
    expect(c.logs.join('\n')).not.toContain(forged);
  });
});

describe('bounds', () => {
  it('refuses windows past 7 days and limits past 1000; answers many requests at once', async () => {
    expect((await methods(path('a.ts', '&lookback=169h'))).status).toBe(400);
    expect((await methods(path('a.ts', `&start=0&end=${Date.now() * 1000}`))).status).toBe(400);
    expect((await methods(path('a.ts', '&limit=1001'))).status).toBe(400);
    expect((await methods(path('a.ts', '&limit=0'))).status).toBe(400);
    expect((await methods(path('a.ts', '&limit=-1'))).status).toBe(400);
    const many = await Promise.all(Array.from({ length: 24 }, () => methods(path('src/orders/service.ts', '&lookback=168h'))));
    expect(many.map((a) => a.status)).toEqual(Array(24).fill(200));
    expect(new Set(many.map((a) => a.body.methods.map((m) => m.calls).join()))).toEqual(new Set(['100,4']));
  });
});
