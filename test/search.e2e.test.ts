/**
 * The search grammar end to end: traces sent over OTLP/HTTP to the real collector (embedded
 * ClickHouse), found through `GET /api/search` — every operator family returns exactly the
 * expected traces, the descendant operator included, and a token limited to one service never
 * finds (or learns about) another's spans.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

interface SearchAnswer {
  traces: Array<{ traceId: string; rootServiceName: string; rootSpanName: string; startTimeUnixNano: string; durationNano: string; spanCount: number; errorCount: number; services: string[] }>;
  nextCursor?: string;
}

const MS = 1_000_000n;
const T0 = BigInt(Date.now() - 60_000) * MS;
const KIND = { internal: 1, server: 2, client: 3 } as const;
const traceId = (n: number) => `5ea2c4${n.toString(16).padStart(26, '0')}`;
const spanId = (t: number, s: number) => `${t.toString(16).padStart(8, '0')}${s.toString(16).padStart(8, '0')}`;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): OtlpKeyValue => ({ key, value: { intValue: value } });

interface Node {
  trace: number;
  span: number;
  parent?: number;
  name: string;
  kind: keyof typeof KIND;
  startMs: number;
  durationMs: number;
  error?: boolean;
  attributes?: OtlpKeyValue[];
}

/**
 * 1 gateway GET /checkout → gateway Checkout.place → payments POST /charge → payments SELECT cards
 *   (a 3-level descent; tags array ["card","eu"] on the SELECT)
 * 2 gateway GET /checkout (error, 500) → gateway Checkout.place
 * 3 payments POST /charge (900 ms) → payments SELECT cards (direct child)
 * 4 search GET /search?q=x with the injection attempt as a value
 */
const NODES: Record<string, Node[]> = {
  gateway: [
    { trace: 1, span: 1, name: 'GET /checkout', kind: 'server', startMs: 0, durationMs: 400, attributes: [str('http.route', '/checkout'), int('http.response.status_code', 200)] },
    { trace: 1, span: 2, parent: 1, name: 'Checkout.place', kind: 'internal', startMs: 1, durationMs: 380, attributes: [str('code.function.name', 'place')] },
    { trace: 2, span: 1, name: 'GET /checkout', kind: 'server', startMs: 1000, durationMs: 30, error: true, attributes: [str('http.route', '/checkout'), int('http.response.status_code', 500)] },
    { trace: 2, span: 2, parent: 1, name: 'Checkout.place', kind: 'internal', startMs: 1001, durationMs: 20 },
  ],
  payments: [
    { trace: 1, span: 3, parent: 2, name: 'POST /charge', kind: 'server', startMs: 2, durationMs: 300, attributes: [str('http.route', '/charge')] },
    {
      trace: 1,
      span: 4,
      parent: 3,
      name: 'SELECT cards',
      kind: 'client',
      startMs: 3,
      durationMs: 120,
      attributes: [str('db.system', 'postgresql'), { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'card' }, { stringValue: 'eu' }] } } }],
    },
    { trace: 3, span: 1, name: 'POST /charge', kind: 'server', startMs: 2000, durationMs: 900, attributes: [str('http.route', '/charge')] },
    { trace: 3, span: 2, parent: 1, name: 'SELECT cards', kind: 'client', startMs: 2001, durationMs: 10, attributes: [str('db.system', 'postgresql')] },
  ],
  search: [{ trace: 4, span: 1, name: 'GET /search', kind: 'server', startMs: 3000, durationMs: 5, attributes: [str('url.query', "q=x'); DROP TABLE otel_traces; --")] }],
};
const SPAN_TOTAL = Object.values(NODES).reduce((n, spans) => n + spans.length, 0);

function request(): OtlpRequest {
  return {
    resourceSpans: Object.entries(NODES).map(([service, nodes]) => ({
      resource: { attributes: [str('service.name', service), str('deployment.environment.name', 'prod')] },
      scopeSpans: [
        {
          scope: { name: 'search-e2e' },
          spans: nodes.map(
            (n): OtlpSpan => ({
              traceId: traceId(n.trace),
              spanId: spanId(n.trace, n.span),
              ...(n.parent ? { parentSpanId: spanId(n.trace, n.parent) } : {}),
              name: n.name,
              kind: KIND[n.kind],
              startTimeUnixNano: String(T0 + BigInt(n.startMs) * MS),
              endTimeUnixNano: String(T0 + BigInt(n.startMs + n.durationMs) * MS),
              attributes: n.attributes ?? [],
              ...(n.error ? { status: { code: 2, message: 'failed' } } : {}),
            }),
          ),
        },
      ],
    })),
  };
}

let c: RunningCollector;
let admin: string;
let paymentsOnly: string;
let prodOnly: string;

async function search(q: string, token = admin, extra = ''): Promise<{ status: number; body: SearchAnswer & { error?: string; column?: number } }> {
  const res = await fetch(`${c.apiUrl}/api/search?q=${encodeURIComponent(q)}&lookback=1h${extra}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as SearchAnswer & { error?: string; column?: number } };
}

/** The trace numbers a query finds, newest first. */
async function found(q: string, token = admin): Promise<number[]> {
  const { status, body } = await search(q, token);
  if (status !== 200) throw new Error(`${q}: ${status} ${JSON.stringify(body)}`);
  return body.traces.map((t) => parseInt(t.traceId.slice(6), 16));
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-search-boot-'), 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const created = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'payments-reader', scopes: ['read'], services: ['payments'] }),
  });
  expect(created.status).toBe(201);
  paymentsOnly = ((await created.json()) as { token: string }).token;
  const byEnvironment = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'prod-reader', scopes: ['read'], environments: ['prod'] }),
  });
  expect(byEnvironment.status).toBe(201);
  prodOnly = ((await byEnvironment.json()) as { token: string }).token;

  const sent = await postTraces(c.httpEndpoint, JSON.stringify(request()), 'application/json');
  expect(sent).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const { body } = await search('trace.spans >= 1', admin, '&limit=100');
    return body.traces?.reduce((n, t) => n + t.spanCount, 0) === SPAN_TOTAL ? true : undefined;
  }, `all ${SPAN_TOTAL} spans to be stored`);
}, 120_000);
afterAll(cleanup);

describe('GET /api/search on the real collector', () => {
  it('=, != and IN on intrinsic fields and attributes of any span', async () => {
    expect(await found('name = "SELECT cards"')).toEqual([3, 1]);
    expect(await found('service = payments')).toEqual([3, 1]);
    expect(await found('resource.service.name = search')).toEqual([4]);
    expect(await found('{ kind = server AND service != gateway }')).toEqual([4, 3, 1]);
    expect(await found('span.http.route in ("/charge", "/nowhere")')).toEqual([3, 1]);
    expect(await found('{ kind = server AND service not in (gateway, payments) }')).toEqual([4]);
  });

  it('exists and not exists', async () => {
    expect(await found('span.code.function.name exists')).toEqual([1]);
    expect(await found('{ kind = server AND span.http.route not exists }')).toEqual([4]);
  });

  it('prefix, contains and regex', async () => {
    expect(await found('name startsWith "POST"')).toEqual([3, 1]);
    expect(await found('span.url.query contains "DROP TABLE"')).toEqual([4]);
    expect(await found('name =~ "^GET /(checkout|search)$"')).toEqual([4, 2, 1]);
    expect(await found('{ kind = server AND name !~ "^GET" }')).toEqual([3, 1]);
  });

  it('numeric and duration ranges', async () => {
    expect(await found('span.http.response.status_code >= 500')).toEqual([2]);
    expect(await found('span.http.response.status_code < 300')).toEqual([1]);
    expect(await found('{ kind = client AND duration > 100ms }')).toEqual([1]);
    expect(await found('duration >= 900ms')).toEqual([3]);
  });

  it('arrays: any element matches', async () => {
    expect(await found('span.tags = eu')).toEqual([1]);
    expect(await found('span.tags in ("us", "card")')).toEqual([1]);
    expect(await found('span.tags = "us"')).toEqual([]);
  });

  it('AND, OR, NOT and parentheses', async () => {
    expect(await found('service = gateway AND service = payments')).toEqual([1]);
    expect(await found('{ service = gateway AND service = payments }')).toEqual([]);
    expect(await found('(name = "GET /search" OR status = error) AND NOT service = payments')).toEqual([4, 2]);
  });

  it('a span with a descendant (>>, any depth, across services) or a child (>)', async () => {
    expect(await found('{ name = "GET /checkout" } >> { name = "SELECT cards" }')).toEqual([1]);
    expect(await found('{ service = payments AND kind = server } >> { span.db.system = postgresql }')).toEqual([3, 1]);
    expect(await found('{ name = "SELECT cards" } >> { service = gateway }')).toEqual([]);
    expect(await found('{ service = payments AND kind = server } > { name = "SELECT cards" }')).toEqual([3, 1]);
    expect(await found('{ name = "GET /checkout" } > { name = "SELECT cards" }')).toEqual([]);
  });

  it('trace duration, status and span count', async () => {
    expect(await found('trace.status = error')).toEqual([2]);
    expect(await found('trace.duration > 350ms')).toEqual([3, 1]);
    expect(await found('trace.spans = 4')).toEqual([1]);
    expect(await found('trace.rootService = gateway AND trace.status = ok')).toEqual([1]);
  });

  it('answers summaries and pages with a cursor', async () => {
    const first = await search('kind = server', admin, '&limit=2');
    expect(first.body.traces.map((t) => t.traceId)).toEqual([traceId(4), traceId(3)]);
    const second = await search('kind = server', admin, `&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.traces.map((t) => t.traceId)).toEqual([traceId(2), traceId(1)]);
    const t1 = second.body.traces[1]!;
    expect(t1).toMatchObject({ rootServiceName: 'gateway', rootSpanName: 'GET /checkout', spanCount: 4, errorCount: 0, services: ['gateway', 'payments'] });
    expect(t1.durationNano).toBe((400n * MS).toString());
    expect(t1.startTimeUnixNano).toBe(T0.toString());
    expect(second.body.traces[0]!.errorCount).toBe(1);
  });

  it('a token limited to one service finds only that service, structure included', async () => {
    expect(await found('service = gateway', paymentsOnly)).toEqual([]);
    expect(await found('name = "GET /checkout"', paymentsOnly)).toEqual([]);
    expect(await found('name = "SELECT cards"', paymentsOnly)).toEqual([3, 1]);
    // The gateway ancestor of trace 1 is invisible to it.
    expect(await found('{ name = "GET /checkout" } >> { name = "SELECT cards" }', paymentsOnly)).toEqual([]);
    expect(await found('trace.spans >= 1', paymentsOnly)).toEqual([3, 1]);
    const { body } = await search('name = "SELECT cards"', paymentsOnly);
    for (const t of body.traces) expect(t.services).toEqual(['payments']);
    expect(body.traces.find((t) => t.traceId === traceId(1))!.spanCount).toBe(2);
  });

  it('needs credentials off loopback', async () => {
    const res = await fetch(`${c.apiUrl}/api/search?q=${encodeURIComponent('kind = server')}`);
    expect(res.status).toBe(401);
  });

  it('answers 400 at the column of a syntax error, and a hostile value is only a value', async () => {
    const { status, body } = await search('service = "payments" AND name =');
    expect(status).toBe(400);
    expect(body).toEqual({ error: "q: at column 32: expected a value after '='", column: 32 });
    const regex = await search('name =~ "(unclosed"');
    expect(regex.status).toBe(400);
    expect(regex.body.error).toMatch(/^q: at column 9: invalid regex/);
    expect(await found(`name = "'); DROP TABLE otel_traces; --"`)).toEqual([]);
    expect(await found(`span."'] = '' OR 1=1 --" exists`)).toEqual([]);
    // Still all there.
    expect(await found('kind = server')).toEqual([4, 3, 2, 1]);
  });
});

async function catalog<T>(path: string, token = admin): Promise<{ status: number; body: T & { error?: string } }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T & { error?: string } };
}

type Keys = { keys: Array<{ scope: string; key: string; spans: number }> };
type Values = { values: Array<{ value: string; count: number }> };

describe('the attribute-key catalog (GET /api/search/keys, /api/search/values) on the real collector', () => {
  it('lists the keys of the spans stored, per service, most used first, and their top values', async () => {
    const { status, body } = await catalog<Keys>('/api/search/keys?scope=span');
    expect(status).toBe(200);
    expect(body.keys[0]).toEqual({ scope: 'span', key: 'http.route', spans: 4 });
    expect(body.keys.map((k) => k.key).sort()).toEqual(['code.function.name', 'db.system', 'http.response.status_code', 'http.route', 'tags', 'url.query']);
    expect((await catalog<Keys>('/api/search/keys?service=gateway&prefix=http.')).body.keys).toEqual([
      // Equal counts: by key.
      { scope: 'span', key: 'http.response.status_code', spans: 2 },
      { scope: 'span', key: 'http.route', spans: 2 },
    ]);
    expect((await catalog<Keys>('/api/search/keys?scope=resource&service=search')).body.keys.map((k) => k.key).sort()).toEqual(['deployment.environment.name', 'service.name']);
    expect((await catalog<Values>('/api/search/values?key=http.route')).body.values).toEqual([
      { value: '/charge', count: 2 },
      { value: '/checkout', count: 2 },
    ]);
    expect((await catalog<Values>('/api/search/values?key=deployment.environment.name&scope=resource')).body.values).toEqual([{ value: 'prod', count: SPAN_TOTAL }]);
  });

  it("never shows a token limited to one service another service's keys or values", async () => {
    const keys = (await catalog<Keys>('/api/search/keys', paymentsOnly)).body.keys;
    expect(keys.map((k) => k.key)).not.toContain('code.function.name');
    expect(keys.map((k) => k.key)).not.toContain('url.query');
    expect(keys.find((k) => k.key === 'http.route')?.spans).toBe(2);
    expect((await catalog<Keys>('/api/search/keys?service=gateway', paymentsOnly)).body.keys).toEqual([]);
    expect((await catalog<Values>('/api/search/values?key=http.route', paymentsOnly)).body.values).toEqual([{ value: '/charge', count: 2 }]);
    expect((await catalog<Values>('/api/search/values?key=url.query&service=search', paymentsOnly)).body.values).toEqual([]);
    // Rules on environments cannot be enforced on the catalog (no environment column): refused.
    const refused = await catalog<Keys>('/api/search/keys', prodOnly);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain('flowtrace_attribute_catalog');
    expect((await catalog<Keys>('/api/search/values?key=http.route', prodOnly)).status).toBe(403);
  });

  it('flowtrace search --keys and --values print them', async () => {
    const run = async (args: string[]) => {
      const { stdout } = await promisify(execFile)(process.execPath, [FLOWTRACE_BIN, 'search', ...args, '--api', c.apiUrl], { env: { ...process.env, NO_COLOR: '', FLOWTRACE_TOKEN: admin } });
      return stdout;
    };
    expect(await run(['--keys', '--service', 'payments', '--prefix', 'db'])).toBe(['key             spans', '──────────────  ─────', 'span.db.system  2', ''].join('\n'));
    expect(await run(['--values', 'http.route', '--service', 'gateway'])).toBe(['value      spans', '─────────  ─────', '/checkout  ≈2', ''].join('\n'));
  });
});
