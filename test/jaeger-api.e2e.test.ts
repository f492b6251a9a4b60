import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { cleanupPeers, PEER_HOOK_TIMEOUT_MS, startJaeger, type RunningJaeger } from './helpers/peers.js';

/**
 * Issue 13, face 1: FlowTrace's Jaeger-compatible API (`/jaeger/api/…`) against the real
 * thing. The same OTLP traces go to a real Jaeger v2 (test/peers, in-memory storage) and to
 * FlowTrace; every endpoint is then called on both and the answers compared field by field,
 * ignoring order and Jaeger's process IDs (processes are matched by content). What differs on
 * purpose is in ALLOWED_DIFFERENCES, each with its reason.
 */

interface KeyValue {
  key: string;
  type: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: KeyValue[];
  logs: Array<{ timestamp: number; fields: KeyValue[] }>;
  processID: string;
  flags?: number;
  warnings: string[] | null;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: KeyValue[] }>;
  warnings: string[] | null;
}
interface Envelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: Array<{ code?: number; msg: string; traceID?: string }> | null;
}

/**
 * Where FlowTrace's answer differs from Jaeger's on purpose. Tags are removed from both sides
 * before comparing, by key, on spans (`span`) or processes (`process`).
 */
const ALLOWED_DIFFERENCES = {
  tags: [
    {
      on: 'span',
      key: 'flowtrace.orphan',
      reason: "FlowTrace's stitch processor flags a span whose parent never arrived (bool true); Jaeger stores spans as sent",
    },
  ] as Array<{ on: 'span' | 'process'; key: string; reason: string }>,
  correlationLinks:
    "FlowTrace's stitch processor links the root of a later trace to the root of an earlier one with the same flowtrace.correlation_id (an OTLP link, so a FOLLOWS_FROM reference); Jaeger stores spans as sent",
  clockSkew:
    "Jaeger v2 adjusts clock skew only up to jaeger_query's max_clock_skew_adjust, 0 (off) by default: it then warns with the delta it would apply; FlowTrace applies the skew its stitch processor measured (the same rule) unless raw=true",
  selfDependencies:
    'Jaeger lists a service calling itself (any parent/child span pair in one service); the service graph holds calls between services (client/producer → server/consumer) only',
};

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A trace ID whose high half is not zero, so both print all 32 digits. */
const traceId = () => `${(randomBytes(1)[0]! | 1).toString(16).padStart(2, '0')}${hex(15)}`;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number | string): OtlpKeyValue => ({ key, value: { intValue: value } });
const dbl = (key: string, value: number): OtlpKeyValue => ({ key, value: { doubleValue: value } });
const bool = (key: string, value: boolean): OtlpKeyValue => ({ key, value: { boolValue: value } });

const MS = 1_000_000n;
/** Every span starts a minute ago or later, so default search windows hold them. */
const BASE_NS = BigInt(Date.now() - 60_000) * MS + 123_456n;
const at = (ms: number, extraNs = 0n) => (BASE_NS + BigInt(ms) * MS + extraNs).toString();

const A = traceId();
const B = traceId();
/** Two pieces of one request (one correlation ID), C's root called by a service that is not traced. */
const C = traceId();
const D = traceId();
/** A call whose server span's clock runs 160 ms behind its client's (starts 100 ms before it). */
const E = traceId();
const ids = {
  root: hex(8), payClient: hex(8), render: hex(8),
  payServer: hex(8), db: hex(8), publish: hex(8),
  consume: hex(8), health: hex(8), tick: hex(8),
  cRoot: hex(8), cUntracedCaller: hex(8), dRoot: hex(8),
  eClient: hex(8), eServer: hex(8),
};
const CORRELATION_ID = `req-${hex(4)}`;

function span(s: Partial<OtlpSpan> & Pick<OtlpSpan, 'traceId' | 'spanId' | 'name' | 'kind' | 'startTimeUnixNano' | 'endTimeUnixNano'>): OtlpSpan {
  return s;
}

/** Three services over two traces: every span kind, errors, events, links, trace state, every attribute type. */
const REQUEST: OtlpRequest = {
  resourceSpans: [
    {
      resource: { attributes: [str('service.name', 'jx-frontend'), str('host.name', 'web-1'), int('process.pid', 4242), str('deployment.environment', 'test'), bool('feature.beta', true)] },
      scopeSpans: [
        {
          scope: { name: 'jx.http', version: '1.2.3', attributes: [str('scope.team', 'web')] },
          spans: [
            span({
              traceId: A, spanId: ids.root, name: 'GET /checkout', kind: 2, startTimeUnixNano: at(0), endTimeUnixNano: at(1500, 789n),
              attributes: [
                str('http.request.method', 'GET'), int('http.response.status_code', 200), dbl('sampling.ratio', 0.25), bool('cache.hit', false),
                { key: 'tags.list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
                { key: 'payload', value: { bytesValue: Buffer.from('hello').toString('base64') } },
                int('big.number', '9007199254740993'),
              ],
              events: [{ timeUnixNano: at(5), name: 'request.received', attributes: [int('size', 12), str('z.last', 'z'), str('a.first', 'a')] }],
              status: { code: 1 },
            }),
            span({
              traceId: A, spanId: ids.payClient, parentSpanId: ids.root, name: 'POST /pay', kind: 3, startTimeUnixNano: at(100), endTimeUnixNano: at(900),
              attributes: [str('peer.service', 'jx-payments')], status: { code: 2, message: 'payment declined' },
            }),
            span({ traceId: A, spanId: ids.render, parentSpanId: ids.root, name: 'render', kind: 1, startTimeUnixNano: at(1000), endTimeUnixNano: at(1400) }),
          ],
        },
      ],
    },
    {
      resource: { attributes: [str('service.name', 'jx-payments'), str('host.name', 'pay-1')] },
      scopeSpans: [
        {
          scope: { name: 'jx.pay' },
          spans: [
            span({
              traceId: A, spanId: ids.payServer, parentSpanId: ids.payClient, name: 'POST /pay', kind: 2, startTimeUnixNano: at(150), endTimeUnixNano: at(850),
              status: { code: 2, message: 'card declined' },
              events: [
                { timeUnixNano: at(800), name: 'exception', attributes: [str('exception.type', 'CardDeclined'), str('exception.message', 'insufficient funds')] },
                { timeUnixNano: at(810), name: 'named', attributes: [str('event', 'overrides the name')] },
              ],
            }),
            span({
              traceId: A, spanId: ids.db, parentSpanId: ids.payServer, name: 'SELECT accounts', kind: 3, startTimeUnixNano: at(200), endTimeUnixNano: at(300),
              attributes: [str('db.system', 'postgresql'), str('db.statement', 'SELECT * FROM accounts WHERE id = $1')],
            }),
            span({ traceId: A, spanId: ids.publish, parentSpanId: ids.payServer, name: 'publish receipt', kind: 4, startTimeUnixNano: at(700), endTimeUnixNano: at(710) }),
          ],
        },
      ],
    },
    {
      resource: { attributes: [str('service.name', 'jx-mailer'), dbl('host.load', 0.5)] },
      scopeSpans: [
        {
          scope: { name: 'jx.mail', version: '0.1' },
          spans: [
            span({
              traceId: A, spanId: ids.consume, parentSpanId: ids.publish, name: 'receive receipt', kind: 5, startTimeUnixNano: at(720), endTimeUnixNano: at(760),
              links: [{ traceId: B, spanId: ids.health, attributes: [str('link.why', 'batch')] }],
            }),
            span({
              traceId: B, spanId: ids.health, name: 'GET /health', kind: 2, startTimeUnixNano: at(2000), endTimeUnixNano: at(2003), traceState: 'vendor=abc',
              attributes: [str('http.route', '/health')], status: { code: 1 },
            }),
            span({
              traceId: B, spanId: ids.tick, parentSpanId: ids.health, name: 'cron tick', kind: 0, startTimeUnixNano: at(2001), endTimeUnixNano: at(2002),
              links: [{ traceId: B, spanId: ids.health, attributes: [str('opentracing.ref_type', 'child_of')] }],
            }),
            span({
              traceId: C, spanId: ids.cRoot, parentSpanId: ids.cUntracedCaller, name: 'POST /send', kind: 2, startTimeUnixNano: at(3000), endTimeUnixNano: at(3010),
              attributes: [str('flowtrace.correlation_id', CORRELATION_ID)],
            }),
            span({
              traceId: D, spanId: ids.dRoot, name: 'POST /send-again', kind: 2, startTimeUnixNano: at(4000), endTimeUnixNano: at(4010),
              attributes: [str('flowtrace.correlation_id', CORRELATION_ID)],
            }),
          ],
        },
      ],
    },
    {
      resource: { attributes: [str('service.name', 'jx-skew-web'), str('host.name', 'web-9')] },
      scopeSpans: [{ scope: { name: 'jx.skew' }, spans: [span({ traceId: E, spanId: ids.eClient, name: 'GET /skew', kind: 3, startTimeUnixNano: at(5000), endTimeUnixNano: at(5200) })] }],
    },
    {
      resource: { attributes: [str('service.name', 'jx-skew-api'), str('host.name', 'api-9')] },
      scopeSpans: [
        {
          scope: { name: 'jx.skew' },
          spans: [
            // 80 ms inside a 200 ms call: 60 ms of latency each way, so it belongs at 5060, 160 ms later than its clock says.
            span({
              traceId: E, spanId: ids.eServer, parentSpanId: ids.eClient, name: 'GET /skew', kind: 2, startTimeUnixNano: at(4900), endTimeUnixNano: at(4980),
              events: [{ timeUnixNano: at(4950), name: 'halfway' }],
            }),
          ],
        },
      ],
    },
  ],
};
const SPANS = { [A]: 7, [B]: 2, [C]: 1, [D]: 1, [E]: 2 };
const SKEW_DELTA_US = 160_000;

let jaeger: RunningJaeger;
let flowtrace: RunningCollector;
let jaegerApi: string;
let flowtraceApi: string;
let admin: string;

beforeAll(async () => {
  jaeger = await startJaeger();
  const tokenFile = join(newTempDir('ft-jaeger-boot-'), 'admin.token');
  flowtrace = await startCollector({ args: ['--bootstrap-token-file', tokenFile] });
  admin = readFileSync(tokenFile, 'utf8').trim();
  jaegerApi = `${jaeger.queryUrl}/api`;
  flowtraceApi = `${flowtrace.apiUrl}/jaeger/api`;

  const body = JSON.stringify(REQUEST);
  for (const endpoint of [jaeger.otlpHttpEndpoint, flowtrace.httpEndpoint]) {
    const sent = await postTraces(endpoint, body, 'application/json');
    expect(sent, endpoint).toMatchObject({ status: 200, rejected: 0 });
  }
  // Both hold every span of both traces, and FlowTrace's service graph has its edges.
  for (const api of [jaegerApi, flowtraceApi]) {
    for (const [id, count] of Object.entries(SPANS)) {
      await waitFor(async () => ((await get<JaegerTrace[]>(`${api}/traces/${id}`)).body.data?.[0]?.spans.length === count ? true : undefined), `${count} spans of ${id} at ${api}`, 60_000);
    }
  }
  await waitFor(async () => ((await get<unknown[]>(`${flowtraceApi}/dependencies`)).body.data.length >= 3 ? true : undefined), 'the service graph', 60_000);
  // The stitch processor's clock-skew offset of E's server span.
  await waitFor(async () => ((await get<JaegerTrace[]>(`${flowtraceApi}/traces/${E}`)).body.data?.[0]?.spans.some((s) => s.warnings !== null) ? true : undefined), 'the clock skew of E', 60_000);
}, PEER_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await cleanup();
  await cleanupPeers();
});

async function get<T>(url: string, token = admin): Promise<{ status: number; body: Envelope<T> }> {
  const res = await fetch(url, { headers: url.startsWith(flowtraceApi) ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Envelope<T> };
  } catch {
    throw new Error(`GET ${url}: ${res.status} ${text}`);
  }
}

/** Both answers to the same path and query, which must both be 200. */
async function both<T>(path: string, flowtraceQuery = path): Promise<{ jaeger: Envelope<T>; flowtrace: Envelope<T> }> {
  const [j, f] = await Promise.all([get<T>(`${jaegerApi}${path}`), get<T>(`${flowtraceApi}${flowtraceQuery}`)]);
  expect(j.status, `jaeger ${path}: ${JSON.stringify(j.body)}`).toBe(200);
  expect(f.status, `flowtrace ${flowtraceQuery}: ${JSON.stringify(f.body)}`).toBe(200);
  return { jaeger: j.body, flowtrace: f.body };
}

const allowedTag = (on: 'span' | 'process') => (kv: KeyValue) => !ALLOWED_DIFFERENCES.tags.some((d) => d.on === on && d.key === kv.key);
const byKey = (a: KeyValue, b: KeyValue) => a.key.localeCompare(b.key) || a.type.localeCompare(b.type) || String(a.value).localeCompare(String(b.value));

/** The one reference FlowTrace adds (ALLOWED_DIFFERENCES.correlationLinks): D's root follows from C's root. */
const isCorrelationLink = (s: JaegerSpan, r: JaegerSpan['references'][number]) =>
  s.spanID === ids.dRoot && r.refType === 'FOLLOWS_FROM' && r.traceID === C && r.spanID === ids.cRoot;

/** A trace with order and process IDs taken out: spans by ID, each with its process inline, references sorted. */
function normalTrace(t: JaegerTrace, raw = false) {
  return {
    traceID: t.traceID,
    warnings: t.warnings,
    processes: Object.values(t.processes).map((p) => JSON.stringify(normalProcess(p))).sort(),
    spans: [...t.spans]
      .sort((a, b) => a.spanID.localeCompare(b.spanID))
      .map((s) => ({
        traceID: s.traceID,
        spanID: s.spanID,
        operationName: s.operationName,
        flags: s.flags,
        references: s.references.filter((r) => !isCorrelationLink(s, r)).sort((a, b) => `${a.traceID}${a.spanID}${a.refType}`.localeCompare(`${b.traceID}${b.spanID}${b.refType}`)),
        // The parent (Jaeger's ParentReference adjuster) comes first.
        firstReference: s.references.filter((r) => !isCorrelationLink(s, r))[0],
        startTime: s.startTime,
        duration: s.duration,
        tags: s.tags.filter(allowedTag('span')).sort(byKey),
        // With raw=true (no SortCollections adjuster) Jaeger keeps the fields in the order sent; FlowTrace sorts them always (README).
        logs: s.logs.map((l) => ({ timestamp: l.timestamp, fields: raw ? [...l.fields].sort(byKey) : l.fields })),
        process: normalProcess(t.processes[s.processID]!),
        warnings: s.warnings,
      })),
  };
}

function normalProcess(p: { serviceName: string; tags: KeyValue[] }) {
  return { serviceName: p.serviceName, tags: p.tags.filter(allowedTag('process')).sort(byKey) };
}

const normalTraces = (ts: JaegerTrace[] | null, raw = false) => (ts ?? []).map((t) => normalTrace(t, raw)).sort((a, b) => a.traceID.localeCompare(b.traceID));
const sorted = <T>(xs: T[] | null) => [...(xs ?? [])].map((x) => JSON.stringify(x)).sort();

describe('the Jaeger API, FlowTrace against a real Jaeger v2 with the same traces', () => {
  it('services', async () => {
    const r = await both<string[]>('/services');
    expect(sorted(r.flowtrace.data)).toEqual(sorted(r.jaeger.data));
    expect(r.flowtrace.data).toHaveLength(5);
    expect({ ...r.flowtrace, data: null }).toEqual({ ...r.jaeger, data: null });
  });

  it.each(['jx-frontend', 'jx-payments', 'jx-mailer', 'no-such-service'])('operations of %s, both forms', async (service) => {
    const legacy = await both<string[]>(`/services/${encodeURIComponent(service)}/operations`);
    expect(sorted(legacy.flowtrace.data)).toEqual(sorted(legacy.jaeger.data));
    expect(legacy.flowtrace.total).toBe(legacy.jaeger.total);
    for (const kind of ['', 'server', 'client', 'internal', 'producer', 'consumer']) {
      const r = await both<Array<{ name: string; spanKind: string }>>(`/operations?service=${encodeURIComponent(service)}${kind ? `&spanKind=${kind}` : ''}`);
      expect(sorted(r.flowtrace.data), `spanKind=${kind}`).toEqual(sorted(r.jaeger.data));
      expect(r.flowtrace.total).toBe(r.jaeger.total);
    }
  });

  it.each([
    ['A', () => A],
    ['B', () => B],
    ['C', () => C],
    ['D', () => D],
  ])('trace %s by ID, field by field', async (_, id) => {
    const r = await both<JaegerTrace[]>(`/traces/${id()}`);
    expect(r.flowtrace.data).toHaveLength(1);
    expect(normalTraces(r.flowtrace.data)).toEqual(normalTraces(r.jaeger.data));
    expect({ ...r.flowtrace, data: null }).toEqual({ ...r.jaeger, data: null });
  });

  it.each([
    ['A', () => A],
    ['B', () => B],
    ['C', () => C],
    ['D', () => D],
    ['E', () => E],
  ])('trace %s by ID with raw=true (no adjusters), field by field', async (_, id) => {
    const r = await both<JaegerTrace[]>(`/traces/${id()}?raw=true`);
    expect(r.flowtrace.data).toHaveLength(1);
    expect(normalTraces(r.flowtrace.data, true)).toEqual(normalTraces(r.jaeger.data, true));
    expect({ ...r.flowtrace, data: null }).toEqual({ ...r.jaeger, data: null });
  });

  it('clock skew: without raw, FlowTrace shifts the span by the delta Jaeger calculates for it (ALLOWED_DIFFERENCES.clockSkew)', async () => {
    const [adjusted, raw] = [await both<JaegerTrace[]>(`/traces/${E}`), await both<JaegerTrace[]>(`/traces/${E}?raw=1`)];
    const server = (t: Envelope<JaegerTrace[]>) => t.data[0]!.spans.find((s) => s.spanID === ids.eServer)!;
    const client = (t: Envelope<JaegerTrace[]>) => t.data[0]!.spans.find((s) => s.spanID === ids.eClient)!;
    // Jaeger (max_clock_skew_adjust 0) only says what it would do.
    expect(server(adjusted.jaeger).warnings).toEqual(['clock skew adjustment disabled; not applying calculated delta of 160ms']);
    expect(server(adjusted.jaeger).startTime).toBe(server(raw.jaeger).startTime);
    // FlowTrace does it: the start and the logs move by that delta, the duration stays, with the warning Jaeger gives when it adjusts.
    expect(server(adjusted.flowtrace)).toEqual({
      ...server(raw.flowtrace),
      startTime: server(raw.flowtrace).startTime + SKEW_DELTA_US,
      logs: server(raw.flowtrace).logs.map((l) => ({ ...l, timestamp: l.timestamp + SKEW_DELTA_US })),
      warnings: ["This span's timestamps were adjusted by 160ms"],
    });
    expect(server(adjusted.flowtrace).startTime).toBeGreaterThanOrEqual(client(adjusted.flowtrace).startTime);
    expect(client(adjusted.flowtrace)).toEqual(client(raw.flowtrace));
    // Searches adjust too, unless raw.
    const found = await both<JaegerTrace[]>('/traces?service=jx-skew-api');
    expect(server(found.flowtrace).startTime).toBe(server(adjusted.flowtrace).startTime);
    expect(server(found.jaeger).warnings).toEqual(server(adjusted.jaeger).warnings);
    const foundRaw = await both<JaegerTrace[]>('/traces?service=jx-skew-api&raw=true');
    expect(normalTraces(foundRaw.flowtrace.data, true)).toEqual(normalTraces(foundRaw.jaeger.data, true));
  });

  it("a raw value Go's ParseBool refuses is 400 on both, with Jaeger's message", async () => {
    for (const path of [`/traces/${A}?raw=yes`, '/traces?service=jx-mailer&raw=yes']) {
      const [j, f] = await Promise.all([get(`${jaegerApi}${path}`), get(`${flowtraceApi}${path}`)]);
      expect([f.status, j.status], path).toEqual([400, 400]);
      expect(f.body, path).toEqual(j.body);
    }
  });

  it('the allowed differences are there, and only on FlowTrace', async () => {
    const [c, d] = [await both<JaegerTrace[]>(`/traces/${C}`), await both<JaegerTrace[]>(`/traces/${D}`)];
    const orphan = (t: Envelope<JaegerTrace[]>) => t.data[0]!.spans[0]!.tags.find((kv) => kv.key === 'flowtrace.orphan');
    expect(orphan(c.flowtrace)).toEqual({ key: 'flowtrace.orphan', type: 'bool', value: true });
    expect(orphan(c.jaeger)).toBeUndefined();
    const links = (t: Envelope<JaegerTrace[]>) => t.data[0]!.spans[0]!.references.filter((r) => isCorrelationLink(t.data[0]!.spans[0]!, r));
    expect(links(d.flowtrace)).toHaveLength(1);
    expect(links(d.jaeger)).toHaveLength(0);
  });

  it('an unknown trace ID is 404 on both, with Jaeger\'s error envelope', async () => {
    const missing = traceId();
    const [j, f] = await Promise.all([get(`${jaegerApi}/traces/${missing}`), get(`${flowtraceApi}/traces/${missing}`)]);
    expect([f.status, j.status]).toEqual([404, 404]);
    expect(f.body).toEqual(j.body);
  });

  const searches: Array<[string, string, string?]> = [
    ['by service', '?service=jx-frontend'],
    ['by service and operation', '?service=jx-payments&operation=POST%20%2Fpay'],
    ['by an int tag (JSON)', `?service=jx-frontend&tags=${encodeURIComponent('{"http.response.status_code":"200"}')}`],
    ['by a tag, logfmt on FlowTrace', `?service=jx-payments&tags=${encodeURIComponent('{"db.system":"postgresql"}')}`, `?service=jx-payments&tags=${encodeURIComponent('db.system=postgresql')}`],
    ['by tag=key:value', '?service=jx-payments&tag=db.system:postgresql'],
    ['by a resource attribute', `?service=jx-mailer&tags=${encodeURIComponent('{"host.load":"0.5"}')}`],
    ['by a scope attribute', `?service=jx-frontend&tags=${encodeURIComponent('{"scope.team":"web"}')}`],
    ['by an event attribute', `?service=jx-payments&tags=${encodeURIComponent('{"exception.type":"CardDeclined"}')}`],
    ['by a tag nothing has', `?service=jx-frontend&tags=${encodeURIComponent('{"http.request.method":"POST"}')}`],
    ['by min and max duration', '?service=jx-payments&minDuration=100ms&maxDuration=0.75s'],
    ['by a min duration nothing reaches', '?service=jx-mailer&minDuration=1.2s'],
    ['in a start/end window (µs) holding them', `?service=jx-mailer&start=${BASE_NS / 1000n - 1000n}&end=${BASE_NS / 1000n + 60_000_000n}`],
    ['in a start/end window (µs) before them', `?service=jx-mailer&start=${BASE_NS / 1000n - 60_000_000n}&end=${BASE_NS / 1000n - 1000n}`],
    ['with the Jaeger UI\'s lookback=custom', `?service=jx-frontend&lookback=custom&start=${BASE_NS / 1000n - 1000n}&end=${BASE_NS / 1000n + 60_000_000n}&limit=20`],
    ['by trace IDs, one missing', `?traceID=${A}&traceID=${'1'.repeat(32)}`],
  ];
  it.each(searches)('search %s', async (_, query, flowtraceQuery) => {
    const r = await both<JaegerTrace[]>(`/traces${query}`, `/traces${flowtraceQuery ?? query}`);
    expect(normalTraces(r.flowtrace.data)).toEqual(normalTraces(r.jaeger.data));
    expect({ ...r.flowtrace, data: null }).toEqual({ ...r.jaeger, data: null });
  });

  it('search by an array attribute, by its text as Jaeger shows it', async () => {
    const a = await both<JaegerTrace[]>(`/traces/${A}`);
    const list = a.jaeger.data[0]!.spans.find((s) => s.spanID === ids.root)!.tags.find((t) => t.key === 'tags.list')!;
    expect(list.type).toBe('string');
    const r = await both<JaegerTrace[]>(`/traces?service=jx-frontend&tags=${encodeURIComponent(JSON.stringify({ 'tags.list': list.value }))}`);
    expect(r.jaeger.data.map((t) => t.traceID)).toEqual([A]);
    expect(normalTraces(r.flowtrace.data)).toEqual(normalTraces(r.jaeger.data));
  });

  it('search with limit=1 returns one whole trace on both', async () => {
    const r = await both<JaegerTrace[]>('/traces?service=jx-mailer&limit=1');
    expect(r.flowtrace.data).toHaveLength(1);
    expect(r.jaeger.data).toHaveLength(1);
  });

  it('dependencies: the same calls between services', async () => {
    const now = Date.now();
    const r = await both<Array<{ parent: string; child: string; callCount: number }>>(`/dependencies?endTs=${now}&lookback=3600000`);
    // ALLOWED_DIFFERENCES.selfDependencies
    const between = (r.jaeger.data ?? []).filter((d) => d.parent !== d.child);
    expect((r.jaeger.data ?? []).length).toBeGreaterThan(between.length);
    expect(sorted(r.flowtrace.data)).toEqual(sorted(between));
    expect(sorted(r.flowtrace.data)).toEqual(sorted([
      { parent: 'jx-frontend', child: 'jx-payments', callCount: 1 },
      { parent: 'jx-payments', child: 'jx-mailer', callCount: 1 },
      { parent: 'jx-skew-web', child: 'jx-skew-api', callCount: 1 },
    ]));
    const one = await both<Array<{ parent: string; child: string; callCount: number }>>(`/dependencies?endTs=${now}&lookback=3600000&service=jx-mailer`);
    expect(sorted(one.flowtrace.data)).toEqual(sorted((one.jaeger.data ?? []).filter((d) => d.parent !== d.child)));
    expect(one.flowtrace.data).toHaveLength(1);
    const before = await both<unknown[]>(`/dependencies?endTs=${now - 3_600_000}&lookback=60000`);
    expect(before.flowtrace.data).toEqual([]);
    expect(before.jaeger.data).toEqual([]);
  });

  it.each([
    ['search without a service', '/traces'],
    ['operations without a service', '/operations'],
    ['a bad duration', '/traces?service=x&minDuration=fast'],
    ['maxDuration below minDuration', '/traces?service=x&minDuration=2s&maxDuration=1s'],
    ['a bad start', '/traces?service=x&start=yesterday'],
    ['malformed tags JSON', `/traces?service=x&tags=${encodeURIComponent('{"a":')}`],
    ['a tag without a colon', '/traces?service=x&tag=novalue'],
    ['a bad trace ID', '/traces/xyz'],
    ['a bad endTs', '/dependencies?endTs=soon'],
  ])('400 for %s on both, in Jaeger\'s error envelope', async (_, path) => {
    const [j, f] = await Promise.all([get(`${jaegerApi}${path}`), get(`${flowtraceApi}${path}`)]);
    expect(j.status, JSON.stringify(j.body)).toBe(400);
    expect(f.status, JSON.stringify(f.body)).toBe(400);
    expect(f.body).toMatchObject({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 400, msg: expect.any(String) }] });
  });
});

describe('FlowTrace only', () => {
  it('bounds the search limit', async () => {
    const r = await get(`${flowtraceApi}/traces?service=jx-frontend&limit=1001`);
    expect(r.status).toBe(400);
    expect(r.body.errors![0]!.msg).toMatch(/limit/);
  });

  it('error=true finds spans with status Error (the tag Jaeger adds for them)', async () => {
    const r = await get<JaegerTrace[]>(`${flowtraceApi}/traces?service=jx-payments&tags=${encodeURIComponent('{"error":"true"}')}`);
    expect(r.body.data.map((t) => t.traceID)).toEqual([A]);
    const none = await get<JaegerTrace[]>(`${flowtraceApi}/traces?service=jx-mailer&tags=${encodeURIComponent('{"error":"true"}')}`);
    expect(none.body.data).toEqual([]);
  });

  it('a token limited to one service sees only that service, on every endpoint', async () => {
    const created = await fetch(`${flowtrace.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mailer-reader', scopes: ['read'], services: ['jx-mailer'] }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    const as = <T>(path: string) => get<T>(`${flowtraceApi}${path}`, token);

    const services = await as<string[]>('/services');
    expect(services.status, JSON.stringify(services.body)).toBe(200);
    expect(services.body.data).toEqual(['jx-mailer']);
    expect((await as<string[]>('/services/jx-payments/operations')).body.data).toEqual([]);
    expect((await as<unknown[]>('/operations?service=jx-frontend')).body.data).toEqual([]);
    expect((await as<unknown[]>('/traces?service=jx-frontend')).body.data).toEqual([]);
    // Trace A holds spans of all three services: only the mailer's are shown.
    const a = await as<JaegerTrace[]>(`/traces/${A}`);
    expect(a.body.data[0]!.spans.map((s) => s.spanID)).toEqual([ids.consume]);
    expect(Object.values(a.body.data[0]!.processes).map((p) => p.serviceName)).toEqual(['jx-mailer']);
    expect((await as<JaegerTrace[]>(`/traces/${B}`)).body.data[0]!.spans).toHaveLength(2);
    expect((await as<unknown[]>('/dependencies')).body.data).toEqual([]);
  });

  it('refuses a request without a valid token', async () => {
    const res = await fetch(`${flowtraceApi}/services`, { headers: { authorization: 'Bearer ft_not_a_token' } });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
  });
});
