/**
 * Attacks on the faces issue 13 added to the query API, against the real collector (child
 * process, API bound off loopback so credentials are required): `/api/search`,
 * `/api/traces/:id/critical-path`, `/api/traces/:id/insights`, `/api/compare`, `/api/hotspots`,
 * the six `/jaeger/api/*` endpoints, `/api/tail` (SSE), `/api/openapi.json` and every `/mcp` tool.
 *
 * - no credentials → 401, an ingest-only token → 403, on every face;
 * - a read token limited to service `alphasvc` never sees anything of service `betasvc` (its
 *   service name, span names, attribute keys and values, statements, exceptions, status
 *   messages, resource attributes, trace IDs or counts) through any endpoint or tool. Every
 *   such check has a positive control: the admin token sees the same markers through the same
 *   call, so the check can fail;
 * - hostile inputs (oversized queries, deep nesting, regex bombs and broken regexes, SQL-ish
 *   strings in every parameter, bad trace IDs, huge limits, repeated parameters) are answered
 *   with a 4xx (or a 200 that leaks nothing), never a 500, and the collector stays up with its
 *   data intact;
 * - the MCP SQL tool is refused without the `sql` scope, and with it reads only alphasvc;
 * - the MCP `red` and `anomalies` tools (RED counted before sampling) show alphasvc nothing of
 *   betasvc, whose `beta-secret-op` has a latency spike three hours ago (sent with past
 *   timestamps, outside the default one-hour windows the other checks count in).
 * - logs: records of both services in `otel_logs` (in the same traces, and one of betasvc with
 *   no trace but the shared correlation ID) reach alphasvc's token only as its own, through
 *   `/api/logs`, `/api/traces/:id/logs`, the MCP `get_logs` tool and SQL over `otel_logs`;
 * - alerts: a RED rule (request rate ≥ 0 over 60 minutes) fires for every series of both
 *   services; `/api/alerts`, `/api/alerts/firing` and the MCP `alerts` tool show alphasvc only
 *   its own, whatever the filters, cursors or hostile parameters it sends.
 *
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postLogs, resourceLogs, type OtlpLogRecord } from '../helpers/otlp-logs.js';
import { postTraces } from '../helpers/otlp-send.js';

afterAll(cleanup);

const ALPHA = 'alphasvc';
const BETA = 'betasvc';
/** alphasvc only (an N+1 of alpha's own statement). */
const T_A = 'a1'.repeat(16);
/** alphasvc calling betasvc. */
const T_MIX = 'c3'.repeat(16);
/** betasvc only. */
const T_B = 'b2'.repeat(16);
const CORRELATION = 'req-shared-77';
const BETA_SPAN = 0x20;

/** Strings only betasvc's data holds: none may reach a token limited to alphasvc. */
const BETA_MARKERS = [BETA, 'beta-secret-op', 'beta.secret.key', 'beta-attr-val', 'beta_secret_stmt', 'beta-exception', 'beta-status-msg', 'beta-resource-val', T_B];
const ALPHA_MARKER = 'alpha-op';

let c: RunningCollector;
let admin: string;
let ingest: string;
/** read, alphasvc only. */
let alphaReader: string;
/** read + sql, alphasvc only. */
let alphaSql: string;
/** Spans of alphasvc stored in all traces (its exact count, for count leaks). */
let alphaSpanCount = 0;

const kv = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const spanId = (n: number) => n.toString(16).padStart(16, '0');

function span(traceId: string, id: number, parent: number | undefined, name: string, startNs: bigint, durNs: bigint, extra: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId,
    spanId: spanId(id),
    parentSpanId: parent === undefined ? undefined : spanId(parent),
    name,
    kind: 1,
    startTimeUnixNano: startNs.toString(),
    endTimeUnixNano: (startNs + durNs).toString(),
    ...extra,
  };
}

function request(byService: Array<[string, OtlpSpan[], OtlpKeyValue[]]>): string {
  const body: OtlpRequest = {
    resourceSpans: byService.map(([service, spans, resource]) => ({
      resource: { attributes: [kv('service.name', service), ...resource] },
      scopeSpans: [{ scope: { name: 'security-new-faces' }, spans }],
    })),
  };
  return JSON.stringify(body);
}

/** betasvc's spans under `parent` of `traceId`: a server span, 3 identical secret SELECTs (N+1), one failing with an exception. */
function betaSpans(traceId: string, parent: number | undefined, t0: bigint): OtlpSpan[] {
  const ms = 1_000_000n;
  const corr = kv('flowtrace.correlation_id', CORRELATION);
  return [
    span(traceId, BETA_SPAN, parent, 'beta-secret-op', t0, 60n * ms, { kind: 2, attributes: [corr, kv('beta.secret.key', 'beta-attr-val')] }),
    ...[1, 2, 3].map((i) =>
      span(traceId, BETA_SPAN + i, BETA_SPAN, 'beta-secret-op query', t0 + BigInt(i) * 10n * ms, 8n * ms, {
        kind: 3,
        attributes: [corr, kv('db.system', 'postgresql'), kv('db.statement', 'SELECT beta_secret_stmt FROM vault WHERE id = ?')],
        ...(i === 3
          ? {
              status: { code: 2, message: 'beta-status-msg' },
              events: [{ timeUnixNano: (t0 + 35n * ms).toString(), name: 'exception', attributes: [kv('exception.type', 'BetaError'), kv('exception.message', 'beta-exception happened')] }],
            }
          : {}),
      }),
    ),
  ];
}

/** The minute of betasvc's latency spike: three hours ago, after nine steady minutes. */
const BETA_SPIKE_MINUTE_MS = Math.floor(Date.now() / 60_000) * 60_000 - 180 * 60_000;

function betaSpike(): string {
  const ms = 1_000_000n;
  const spans: OtlpSpan[] = [];
  for (let m = 9; m >= 0; m--) {
    for (let i = 0; i < 25; i++) {
      const start = BigInt(BETA_SPIKE_MINUTE_MS - m * 60_000 + 1_000 + i * 100) * ms;
      spans.push(span(`be${(m * 100 + i).toString(16).padStart(30, '0')}`, 1, undefined, 'beta-secret-op', start, BigInt(m === 0 ? 300 + i : 10 + i + (m % 3)) * ms, { kind: 2 }));
    }
  }
  return request([[BETA, spans, [kv('beta.resource', 'beta-resource-val')]]]);
}

function fixtures(nowNs: bigint): string {
  const ms = 1_000_000n;
  const t0 = nowNs - 120_000n * ms;
  const corr = kv('flowtrace.correlation_id', CORRELATION);
  const alphaA = [
    span(T_A, 1, undefined, `${ALPHA_MARKER} GET /a`, t0, 50n * ms, { kind: 2 }),
    ...[0, 1, 2].map((i) => span(T_A, 2 + i, 1, `${ALPHA_MARKER} query`, t0 + BigInt(1 + i * 10) * ms, 8n * ms, { kind: 3, attributes: [kv('db.system', 'postgresql'), kv('db.statement', 'SELECT alpha FROM t')] })),
  ];
  const alphaMix = [
    span(T_MIX, 1, undefined, `${ALPHA_MARKER} POST /mix`, t0 + 1000n * ms, 100n * ms, { kind: 2, attributes: [corr] }),
    span(T_MIX, 2, 1, `${ALPHA_MARKER} call`, t0 + 1005n * ms, 80n * ms, { kind: 3, attributes: [corr] }),
  ];
  alphaSpanCount = alphaA.length + alphaMix.length;
  return request([
    [ALPHA, [...alphaA, ...alphaMix], []],
    [BETA, [...betaSpans(T_MIX, 2, t0 + 1010n * ms), ...betaSpans(T_B, undefined, t0 + 2000n * ms)], [kv('beta.resource', 'beta-resource-val')]],
  ]);
}

/**
 * Log records of both services over OTLP/JSON: alpha's in T_A and T_MIX, betasvc's (every beta
 * marker but the statement) in T_MIX and T_B, and one of betasvc's with no trace, found only by
 * the shared correlation ID.
 */
function logsRequest(nowNs: bigint) {
  const ms = 1_000_000n;
  const t0 = nowNs - 120_000n * ms;
  const record = (at: bigint, traceId: string, span: number, body: string, attributes: OtlpKeyValue[]): OtlpLogRecord => ({
    timeUnixNano: at.toString(),
    severityText: 'INFO',
    severityNumber: 9,
    body: { stringValue: body },
    attributes,
    ...(traceId ? { traceId, spanId: spanId(span) } : {}),
  });
  const corr = kv('flowtrace.correlation_id', CORRELATION);
  const beta = [corr, kv('beta.secret.key', 'beta-attr-val')];
  return {
    resourceLogs: [
      resourceLogs(ALPHA, [record(t0, T_A, 1, `${ALPHA_MARKER} served /a`, []), record(t0 + 1001n * ms, T_MIX, 1, `${ALPHA_MARKER} mixing`, [corr])]),
      resourceLogs(
        BETA,
        [
          record(t0 + 1012n * ms, T_MIX, BETA_SPAN, 'beta-secret-op failed: beta-exception happened', beta),
          record(t0 + 2001n * ms, T_B, BETA_SPAN, 'beta-secret-op: beta-status-msg', beta),
          record(t0 + 2100n * ms, '', 0, 'beta-secret-op follow-up queued', beta),
        ],
        [kv('beta.resource', 'beta-resource-val')],
      ),
    ],
  };
}

const bearer = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function get(path: string, token: string | undefined): Promise<{ status: number; body: string }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: bearer(token) });
  return { status: res.status, body: await res.text() };
}

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** The beta markers in `body`, leaving out those the caller itself sent (echoed parameters are no leak). */
function leaked(body: string, sent: string): string[] {
  return BETA_MARKERS.filter((m) => !sent.includes(m) && body.includes(m));
}

const enc = encodeURIComponent;

/** Every REST face, each with a call aimed at betasvc's data (or at all data). */
const READS: Array<{ name: string; path: string }> = [
  { name: 'search all', path: `/api/search?q=${enc('trace.spans > 0')}&limit=1000` },
  { name: 'search beta service', path: `/api/search?q=${enc(`service = ${BETA}`)}` },
  { name: 'search beta attribute', path: `/api/search?q=${enc('span.beta.secret.key exists')}` },
  { name: 'search beta statement', path: `/api/search?q=${enc('span.db.statement contains "vault"')}` },
  { name: 'search structural', path: `/api/search?q=${enc(`{ service = ${ALPHA} } >> { name =~ "secret" }`)}` },
  { name: 'critical-path mixed', path: `/api/traces/${T_MIX}/critical-path?limit=10000` },
  { name: 'critical-path beta', path: `/api/traces/${T_B}/critical-path` },
  { name: 'insights mixed', path: `/api/traces/${T_MIX}/insights` },
  { name: 'insights beta', path: `/api/traces/${T_B}/insights` },
  { name: 'compare a vs beta', path: `/api/compare?a=${T_A}&b=${T_B}` },
  { name: 'compare mixed vs a', path: `/api/compare?a=${T_MIX}&b=${T_A}&limit=10000` },
  { name: 'compare beta vs typical', path: `/api/compare?a=${T_B}&b=typical` },
  { name: 'compare mixed vs typical', path: `/api/compare?a=${T_MIX}&b=typical` },
  { name: 'hotspots all', path: `/api/hotspots?limit=100` },
  { name: 'hotspots beta', path: `/api/hotspots?service=${BETA}` },
  { name: 'hotspots beta trace', path: `/api/hotspots?traceId=${T_B}` },
  { name: 'hotspots mixed trace', path: `/api/hotspots?traceId=${T_MIX}` },
  { name: 'jaeger services', path: '/jaeger/api/services' },
  { name: 'jaeger service operations', path: `/jaeger/api/services/${BETA}/operations` },
  { name: 'jaeger operations', path: `/jaeger/api/operations?service=${BETA}` },
  { name: 'jaeger trace beta', path: `/jaeger/api/traces/${T_B}` },
  { name: 'jaeger trace mixed', path: `/jaeger/api/traces/${T_MIX}` },
  { name: 'jaeger search beta', path: `/jaeger/api/traces?service=${BETA}&lookback=24h&limit=1000` },
  { name: 'jaeger search by IDs', path: `/jaeger/api/traces?traceID=${T_B}&traceID=${T_MIX}` },
  { name: 'jaeger search tags', path: `/jaeger/api/traces?service=${ALPHA}&tags=${enc(JSON.stringify({ 'flowtrace.correlation_id': CORRELATION }))}&lookback=24h` },
  { name: 'jaeger dependencies', path: `/jaeger/api/dependencies?endTs=${Date.now() + 60_000}&lookback=86400000` },
  { name: 'alerts all', path: '/api/alerts?since=24h&limit=1000' },
  { name: 'alerts beta', path: `/api/alerts?service=${BETA}&since=24h` },
  { name: 'alerts beta rule firing', path: `/api/alerts?rule=every-op&state=firing&service=${BETA}` },
  { name: 'alerts firing', path: '/api/alerts/firing?limit=1000' },
  { name: 'alerts firing beta', path: `/api/alerts/firing?service=${BETA}` },
  { name: 'skeleton mixed', path: `/api/traces/${T_MIX}/skeleton` },
  { name: 'skeleton beta', path: `/api/traces/${T_B}/skeleton?adjust=clock-skew` },
  { name: 'span beta in mixed', path: `/api/traces/${T_MIX}/spans/${spanId(BETA_SPAN)}` },
  { name: 'logs all', path: '/api/logs?lookback=24h&limit=1000' },
  { name: 'logs beta service', path: `/api/logs?service=${BETA}&lookback=24h` },
  { name: 'logs beta trace', path: `/api/logs?trace_id=${T_B}` },
  { name: 'logs beta span', path: `/api/logs?span_id=${spanId(BETA_SPAN)}` },
  { name: 'logs correlation', path: `/api/logs?correlation_id=${CORRELATION}` },
  { name: 'logs of mixed trace', path: `/api/traces/${T_MIX}/logs` },
  { name: 'logs of beta trace', path: `/api/traces/${T_B}/logs?order=desc` },
  { name: 'span beta', path: `/api/traces/${T_B}/spans/${spanId(BETA_SPAN)}` },
  { name: 'flame all', path: '/api/flame?traces=1000&lookback=24h' },
  { name: 'flame beta', path: `/api/flame?service=${BETA}&lookback=24h` },
  { name: 'trace flame mixed', path: `/api/traces/${T_MIX}/flame` },
  { name: 'trace flame beta', path: `/api/traces/${T_B}/flame` },
];

/** The same faces for the 401/403 checks, plus the ones that are not data reads. */
const FACES = [
  '/api/search?q=',
  `/api/traces/${T_A}/critical-path`,
  `/api/traces/${T_A}/insights`,
  `/api/compare?a=${T_A}&b=${T_MIX}`,
  '/api/hotspots',
  '/jaeger/api/services',
  `/jaeger/api/services/${ALPHA}/operations`,
  `/jaeger/api/operations?service=${ALPHA}`,
  `/jaeger/api/traces/${T_A}`,
  `/jaeger/api/traces?service=${ALPHA}`,
  '/jaeger/api/dependencies',
  '/api/tail',
  '/api/openapi.json',
  '/api/alerts',
  '/api/alerts/firing',
  `/api/traces/${T_A}/skeleton`,
  `/api/traces/${T_A}/spans/${spanId(1)}`,
  '/api/flame',
  `/api/traces/${T_A}/flame`,
  '/api/sql/schema',
  `/api/logs?trace_id=${T_A}`,
  `/api/traces/${T_A}/logs`,
];

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'attacker', version: '1' } } };
const postMcp = (token: string | undefined, body: unknown = INIT) =>
  fetch(`${c.apiUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(token) }, body: JSON.stringify(body) });

const mcpClients: Client[] = [];
async function mcp(token: string): Promise<Client> {
  const client = new Client({ name: 'security-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${c.apiUrl}/mcp`), { requestInit: { headers: bearer(token) } }));
  mcpClients.push(client);
  return client;
}

/** A tool's text and error flag; a JSON-RPC error (input refused by the schema) counts as an error answer. */
async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  try {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    return { text: result.content.map((p) => (p.type === 'text' ? p.text : '')).join(''), isError: result.isError === true };
  } catch (err) {
    return { text: (err as Error).message, isError: true };
  }
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-faces-boot-'), 'admin.token');
  c = await startCollector({
    args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile],
    config:
      'processors:\n  stitch:\n    decision_wait_ms: 200\n    flush:\n      interval_ms: 200\nred:\n  flush_interval_ms: 200\n' +
      // Alerts for every series of both services (stored only): what the alert faces are attacked on.
      'alerts:\n  interval_ms: 300\n  rules:\n    - { name: every-op, kind: red, metric: request_rate, op: ">=", threshold: 0, window_minutes: 60, min_requests: 1 }\n',
  });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  ingest = await createToken({ name: 'agent', scopes: ['ingest'] });
  alphaReader = await createToken({ name: 'alpha-reader', scopes: ['read'], services: [ALPHA] });
  alphaSql = await createToken({ name: 'alpha-sql', scopes: ['read', 'sql'], services: [ALPHA] });

  expect(await postTraces(c.httpEndpoint, fixtures(BigInt(Date.now()) * 1_000_000n), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  expect(await postTraces(c.httpEndpoint, betaSpike(), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  expect(await postLogs(c.httpEndpoint, logsRequest(BigInt(Date.now()) * 1_000_000n))).toMatchObject({ status: 200, rejected: 0 });
  const count = async (id: string) => {
    const res = await get(`/api/traces/${id}`, admin);
    return res.status === 200 ? (JSON.parse(res.body) as { spans: unknown[] }).spans.length : 0;
  };
  await waitFor(async () => ([await count(T_A), await count(T_MIX), await count(T_B)].join() === '4,6,4' ? true : undefined), 'every span to be stored', 90_000);
  await waitFor(async () => {
    const res = await get('/api/logs?lookback=24h&limit=1000', admin);
    return res.status === 200 && (JSON.parse(res.body) as { logs: unknown[] }).logs.length === 5 ? true : undefined;
  }, 'every log record to be stored');
  // The stitch processor's side tables (correlations, service graph) are written on their own flush.
  const probe = await mcp(admin);
  await waitFor(async () => {
    const corr = await callTool(probe, 'lookup_correlation', { correlationId: CORRELATION });
    const graph = await callTool(probe, 'service_neighbourhood', { service: ALPHA });
    return corr.text.includes(BETA) && graph.text.includes(BETA) ? true : undefined;
  }, 'the correlation and service-graph side tables', 60_000);
  // RED minutes are written on their own flush (200 ms here).
  await waitFor(async () => ((await callTool(probe, 'anomalies', { window: '1m', lookback: '4h' })).text.includes(`${BETA},beta-secret-op,`) ? true : undefined), 'the RED minutes', 30_000);
  // The alert rule has seen betasvc's minutes.
  await waitFor(async () => ((await get('/api/alerts/firing?limit=1000', admin)).body.includes('beta-secret-op') ? true : undefined), 'the alerts about betasvc', 30_000);
}, 180_000);

afterAll(async () => {
  for (const client of mcpClients) await client.close().catch(() => undefined);
});

describe('authentication of the new faces (API off loopback)', () => {
  it('answers 401 without credentials and 403 to an ingest-only token, on every face and /mcp', async () => {
    for (const path of FACES) {
      const none = await get(path, undefined);
      expect(none.status, `${path} without credentials: ${none.body}`).toBe(401);
      const ingestOnly = await get(path, ingest);
      expect(ingestOnly.status, `${path} with an ingest token: ${ingestOnly.body}`).toBe(403);
      expect(ingestOnly.body, path).toContain('read');
    }
    expect((await postMcp(undefined)).status).toBe(401);
    expect((await postMcp('ft_' + 'Z'.repeat(43))).status).toBe(401);
    expect((await postMcp(ingest)).status).toBe(403);
    expect((await postMcp(alphaReader)).status).toBe(200);
  });

  it('serves the OpenAPI document to a reader, and it names no stored data', async () => {
    const res = await get('/api/openapi.json', alphaReader);
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { paths: Record<string, unknown> }).paths).toHaveProperty('/api/search');
    expect(leaked(res.body, '')).toEqual([]);
  });
});

describe('a token limited to alphasvc reading betasvc', () => {
  it('sees none of betasvc through any REST face, while admin does through the same calls', async () => {
    for (const { name, path } of READS) {
      const mine = await get(path, alphaReader);
      expect(mine.status, `${name}: ${mine.body}`).toBeLessThan(500);
      expect(leaked(mine.body, path), `${name} leaked to alpha-reader: ${mine.body.slice(0, 2000)}`).toEqual([]);
    }
    // Positive controls: the calls can return betasvc's data.
    for (const name of ['search beta service', 'insights beta', 'critical-path mixed', 'hotspots all', 'jaeger services', 'jaeger trace beta', 'jaeger dependencies', 'insights mixed', 'alerts all', 'alerts beta', 'alerts firing', 'alerts firing beta', 'skeleton mixed', 'span beta in mixed', 'flame all', 'trace flame mixed', 'logs all', 'logs beta service', 'logs beta span', 'logs correlation', 'logs of mixed trace']) {
      const path = READS.find((r) => r.name === name)!.path;
      const theirs = await get(path, admin);
      expect(theirs.status, `${name} as admin: ${theirs.body}`).toBe(200);
      expect(BETA_MARKERS.filter((m) => theirs.body.includes(m)).length, `${name} as admin shows betasvc`).toBeGreaterThan(0);
    }
  });

  it('gets 404 for a betasvc-only trace and counts only alphasvc spans in a mixed one', async () => {
    for (const path of [`/api/traces/${T_B}/critical-path`, `/api/traces/${T_B}/insights`, `/api/compare?a=${T_A}&b=${T_B}`, `/api/compare?a=${T_B}&b=${T_A}`]) {
      const res = await get(path, alphaReader);
      expect(res.status, `${path}: ${res.body}`).toBe(404);
    }
    const path = JSON.parse((await get(`/api/traces/${T_MIX}/critical-path`, alphaReader)).body) as { spanCount: number };
    expect(path.spanCount).toBe(2);
    const insights = JSON.parse((await get(`/api/traces/${T_MIX}/insights`, alphaReader)).body) as { spanCount: number; readRestricted: boolean };
    expect(insights).toMatchObject({ spanCount: 2, readRestricted: true });
    const cmp = JSON.parse((await get(`/api/compare?a=${T_MIX}&b=${T_A}`, alphaReader)).body) as { a: { spanCount: number } };
    expect(cmp.a.spanCount).toBe(2);
    const hot = JSON.parse((await get('/api/hotspots?limit=100', alphaReader)).body) as { totalCalls: number; hotspots: Array<{ service: string }> };
    expect(hot.totalCalls).toBe(alphaSpanCount);
    expect(new Set(hot.hotspots.map((h) => h.service))).toEqual(new Set([ALPHA]));
    const adminHot = JSON.parse((await get('/api/hotspots?limit=100', admin)).body) as { totalCalls: number };
    expect(adminHot.totalCalls).toBe(alphaSpanCount + 8);
    const search = await get(`/api/search?q=${enc('trace.spans > 0')}&limit=1000`, alphaReader);
    expect(search.status, search.body).toBe(200);
    const found = JSON.parse(search.body) as { traces: Array<{ traceId: string; spanCount?: number }> };
    expect(found.traces.map((t) => t.traceId).sort()).toEqual([T_A, T_MIX].sort());
    for (const t of found.traces) if (t.spanCount !== undefined) expect(t.spanCount, t.traceId).toBeLessThanOrEqual(4);
    const jaeger = JSON.parse((await get(`/jaeger/api/traces/${T_MIX}`, alphaReader)).body) as { data: Array<{ spans: unknown[] }> };
    expect(jaeger.data[0]!.spans).toHaveLength(2);
    const byId = JSON.parse((await get(`/jaeger/api/traces/${T_B}`, alphaReader)).body) as { data: unknown };
    expect(byId.data ?? []).toEqual([]);
    const services = JSON.parse((await get('/jaeger/api/services', alphaReader)).body) as { data: string[]; total: number };
    expect(services).toMatchObject({ data: [ALPHA], total: 1 });
    const deps = JSON.parse((await get(READS.find((r) => r.name === 'jaeger dependencies')!.path, alphaReader)).body) as { data: unknown[] };
    expect(deps.data).toEqual([]);
  });

  it('sees none of betasvc through any MCP tool, while admin does', async () => {
    const mine = await mcp(alphaReader);
    const theirs = await mcp(admin);
    const calls: Array<[string, Record<string, unknown>]> = [
      ['find_traces', { lookback: '24h', limit: 100 }],
      ['find_traces', { service: BETA, lookback: '24h' }],
      ['find_traces', { correlationId: CORRELATION, lookback: '24h' }],
      ['find_traces', { query: 'span.db.statement contains "vault"', lookback: '24h' }],
      ['find_traces', { query: `{ service = ${ALPHA} } >> { name =~ "secret" }`, lookback: '24h' }],
      ['critical_path', { traceId: T_B }],
      ['critical_path', { traceId: T_MIX, top: 50 }],
      ['insights', { traceId: T_B }],
      ['insights', { traceId: T_MIX }],
      ['hotspots', { lookback: '24h', limit: 100 }],
      ['hotspots', { service: BETA, lookback: '24h' }],
      ['hotspots', { traceId: T_MIX }],
      ['compare_traces', { a: T_MIX, b: T_B }],
      ['compare_traces', { a: T_B, b: T_MIX }],
      ['lookup_correlation', { correlationId: CORRELATION }],
      ['trace_outline', { traceId: T_B }],
      ['trace_outline', { traceId: T_MIX }],
      ['get_span', { traceId: T_B, spanId: spanId(BETA_SPAN + 3) }],
      ['get_span', { traceId: T_MIX, spanId: spanId(BETA_SPAN + 3) }],
      ['get_span', { traceId: T_MIX, spanId: spanId(BETA_SPAN + 3), field: 'attributes:db.statement', offset: 0 }],
      ['service_neighbourhood', { service: BETA, hops: 5, lookback: '24h' }],
      ['service_neighbourhood', { service: ALPHA, hops: 5, lookback: '24h' }],
      ['red', { lookback: '24h', limit: 500 }],
      ['red', { service: BETA, lookback: '24h', step: '1h' }],
      ['red', { operation: 'beta-secret-op', spanKind: 'Server', lookback: '24h' }],
      ['anomalies', { window: '1m', lookback: '4h' }],
      ['anomalies', { service: BETA, window: '1m', lookback: '4h', minRequests: 1, threshold: 1 }],
      ['alerts', { since: '24h' }],
      ['alerts', { service: BETA, state: 'firing' }],
      ['alerts', { rule: 'every-op', state: 'all', service: BETA, since: '1h' }],
      ['get_logs', { traceId: T_MIX }],
      ['get_logs', { traceId: T_MIX, spanId: spanId(BETA_SPAN) }],
      ['get_logs', { traceId: T_B }],
      ['get_logs', { correlationId: CORRELATION }],
    ];
    // Every tool the server lists is attacked here: a new tool fails this until it has its cases.
    const listed = (await mine.listTools()).tools.map((t) => t.name);
    expect(new Set([...calls.map(([tool]) => tool), 'sql'])).toEqual(new Set(listed));
    let adminSawBeta = 0;
    const blind: string[] = [];
    for (const [tool, args] of calls) {
      const sent = JSON.stringify(args);
      const answer = await callTool(mine, tool, args);
      expect(leaked(answer.text, sent), `${tool} ${sent} leaked to alpha-reader: ${answer.text.slice(0, 2000)}`).toEqual([]);
      const control = await callTool(theirs, tool, args);
      if (leaked(control.text, sent).length > 0) adminSawBeta++;
      else blind.push(`${tool} ${sent}: ${control.text.slice(0, 300)}`);
    }
    // Positive control: each of these calls shows betasvc to admin.
    expect(blind).toEqual([]);
    expect(adminSawBeta).toBe(calls.length);
    const schema = await mine.readResource({ uri: 'flowtrace://schema' });
    expect(leaked(JSON.stringify(schema), '')).toEqual([]);
  });

  it('is refused the SQL tool without the sql scope, and with it reads only alphasvc', async () => {
    const mine = await mcp(alphaReader);
    const refused = await callTool(mine, 'sql', { query: 'SELECT ServiceName, count() FROM otel_traces GROUP BY ServiceName' });
    expect(refused.isError).toBe(true);
    expect(refused.text).toContain('"sql"');
    expect(leaked(refused.text, '')).toEqual([]);

    const analyst = await mcp(alphaSql);
    const everything = "SELECT ServiceName, SpanName, SpanAttributes, ResourceAttributes, StatusMessage, `Events.Attributes` FROM otel_traces";
    for (const query of [
      everything,
      `SELECT count() AS n FROM otel_traces`,
      `SELECT count() FROM otel_traces WHERE ServiceName = '${BETA}'`,
      `SELECT * FROM otel_traces WHERE TraceId = '${T_B}'`,
      'SELECT ServiceName, TraceId, Body, LogAttributes, ResourceAttributes, CorrelationId FROM otel_logs',
    ]) {
      const answer = await callTool(analyst, 'sql', { query });
      expect(leaked(answer.text, query), `${query}: ${answer.text.slice(0, 2000)}`).toEqual([]);
    }
    const counted = await callTool(analyst, 'sql', { query: 'SELECT count() AS n FROM otel_traces' });
    expect(counted.isError, counted.text).toBe(false);
    expect(counted.text).toMatch(new RegExp(`\\b${alphaSpanCount}\\b`));
    const control = await callTool(await mcp(admin), 'sql', { query: everything });
    expect(leaked(control.text, '').length).toBeGreaterThan(0);
    const logControl = await callTool(await mcp(admin), 'sql', { query: 'SELECT ServiceName, Body FROM otel_logs' });
    expect(leaked(logControl.text, '').length).toBeGreaterThan(0);
  });

  it('sees none of betasvc on the live tail, while admin sees it', async () => {
    const open = async (token: string, query = '') => {
      const ctl = new AbortController();
      const res = await fetch(`${c.apiUrl}/api/tail${query}`, { headers: bearer(token), signal: ctl.signal });
      expect(res.status).toBe(200);
      const state = { text: '' };
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      const done = (async () => {
        for (;;) {
          const { value, done: end } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (end) return;
          state.text += decoder.decode(value, { stream: true });
        }
      })();
      return { state, close: async () => { ctl.abort(); await done; } };
    };
    const streams = { mine: await open(alphaReader), aimed: await open(alphaReader, `?service=${BETA}`), theirs: await open(admin) };
    try {
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const tailTrace = 'd4'.repeat(16);
      expect(await postTraces(c.httpEndpoint, request([[BETA, betaSpans(tailTrace, undefined, t0), [kv('beta.resource', 'beta-resource-val')]]]), 'application/json')).toMatchObject({ status: 200 });
      expect(await postTraces(c.httpEndpoint, request([[ALPHA, [span(tailTrace, 9, undefined, 'alpha-tail-done', t0, 1_000_000n)], []]]), 'application/json')).toMatchObject({ status: 200 });
      await waitFor(async () => (streams.theirs.state.text.includes('alpha-tail-done') && streams.theirs.state.text.includes('beta-secret-op') ? true : undefined), 'admin to see both services on the tail');
      await waitFor(async () => (streams.mine.state.text.includes('alpha-tail-done') ? true : undefined), 'alpha-reader to see its own span on the tail');
    } finally {
      for (const s of Object.values(streams)) await s.close();
    }
    expect(leaked(streams.mine.state.text, '')).toEqual([]);
    expect(leaked(streams.aimed.state.text, BETA)).toEqual([]);
    expect(leaked(streams.theirs.state.text, '').length).toBeGreaterThan(0);
  });
});

describe('hostile inputs', () => {
  const SQLISH = [
    "' OR 1=1 --",
    `'); DROP TABLE otel_traces; --`,
    `" UNION SELECT * FROM system.users --`,
    '{q:String}',
    '\\',
    '\u0000',
    '%',
    '${jndi:ldap://x}',
    '🙂'.repeat(50),
  ];
  const BAD_IDS = ['zz', 'a'.repeat(31), 'a'.repeat(33), 'a'.repeat(64), 'g'.repeat(32), '..%2F..%2Fetc%2Fpasswd', '%00', '-1', ' ', "'; DROP TABLE otel_traces; --"];
  /** A query every trace matches, so the other parameters are what is judged. */
  const ANY = enc('trace.spans > 0');
  const BAD_LIMITS = ['1e12', '-1', '0', 'NaN', '99999999999999999999999', '1.5', 'Infinity', '0x10'];

  /** Requests that must each be answered with a status below 500, and leak nothing of betasvc. */
  function hostileRequests(): string[] {
    const out: string[] = [];
    const nest = (n: number) => '('.repeat(n) + 'service = a' + ')'.repeat(n);
    const queries = [
      'a'.repeat(5000),
      'x = "' + 'a'.repeat(4000) + '"',
      nest(1000),
      nest(33),
      '{'.repeat(500),
      'NOT '.repeat(1000) + 'service = a',
      Array.from({ length: 200 }, (_, i) => `span.k${i} = ${i}`).join(' AND '),
      `span.n in (${Array.from({ length: 500 }, (_, i) => i).join(',')})`,
      `kind in (${Array.from({ length: 500 }, (_, i) => `"k${i}"`).join(',')})`,
      'name =~ "(a+)+$"',
      'name =~ "(a|aa)*b"',
      'name =~ "("',
      'name =~ "a{1000}{1000}"',
      'name =~ "(?<x>a)"',
      'name =~ "\\\\"',
      `name =~ "${'a*'.repeat(300)}"`,
      `name =~ "${'('.repeat(200)}a${')'.repeat(200)}"`,
      'span.a = "\\q"',
      'duration > 99999999999999999999h',
      'trace.spans > 1e400',
      'span.x >= -',
      '{ a = 1 } >> >> { b = 2 }',
      ...SQLISH.map((s) => `name = "${s.replace(/["\\]/g, '\\$&')}"`),
      ...SQLISH.map((s) => `span."${s.replace(/["\\]/g, '\\$&')}" = 1`),
      ...SQLISH,
    ];
    for (const q of queries) out.push(`/api/search?q=${enc(q)}`);
    for (const p of ['start', 'end', 'lookback', 'cursor']) for (const s of [...SQLISH, 'a'.repeat(3000), '-99999999999999999999', '9'.repeat(40)]) out.push(`/api/search?q=${ANY}&${p}=${enc(s)}`);
    for (const l of BAD_LIMITS) out.push(`/api/search?q=${ANY}&limit=${enc(l)}`, `/api/hotspots?limit=${enc(l)}`, `/api/traces/${T_A}/critical-path?limit=${enc(l)}`, `/api/compare?a=${T_A}&b=typical&limit=${enc(l)}&n=${enc(l)}`, `/jaeger/api/traces?service=${ALPHA}&limit=${enc(l)}`);
    out.push('/api/search?q=a&q=b', `/api/search?q=${ANY}&limit=1&limit=2`, '/api/hotspots?service=a&service=b', `/api/compare?a=${T_A}&a=${T_MIX}&b=typical`);
    for (const id of BAD_IDS) {
      const e = id.includes('%') ? id : enc(id);
      out.push(
        `/api/traces/${e}/critical-path`,
        `/api/traces/${e}/insights`,
        `/api/compare?a=${e}&b=${T_A}`,
        `/api/compare?a=${T_A}&b=${e}`,
        `/api/hotspots?traceId=${e}`,
        `/jaeger/api/traces/${e}`,
        `/jaeger/api/traces?traceID=${e}`,
      );
    }
    for (const s of [...SQLISH, 'a'.repeat(3000)]) {
      const v = enc(s);
      out.push(
        `/api/hotspots?service=${v}&operation=${v}`,
        `/api/hotspots?start=${v}`,
        `/api/hotspots?lookback=${v}`,
        `/api/compare?a=${T_A}&b=typical&lookback=${v}`,
        `/api/compare?a=${T_A}&b=${v}`,
        `/jaeger/api/services/${v}/operations`,
        `/jaeger/api/operations?service=${v}&spanKind=${v}`,
        `/jaeger/api/traces?service=${v}&operation=${v}&minDuration=${v}&maxDuration=${v}`,
        `/jaeger/api/traces?service=${ALPHA}&tags=${v}`,
        `/jaeger/api/traces?service=${ALPHA}&tag=${v}`,
        `/jaeger/api/traces?service=${ALPHA}&tag=${enc(`k:${s}`)}&tags=${enc(JSON.stringify({ [s]: s }))}`,
        `/jaeger/api/traces?service=${ALPHA}&start=${v}&end=${v}&lookback=${v}`,
        `/jaeger/api/dependencies?endTs=${v}&lookback=${v}&service=${v}`,
      );
    }
    out.push('/api/hotspots?lookback=100000d', '/api/hotspots?start=0&end=99999999999999999999', `/jaeger/api/dependencies?endTs=${'9'.repeat(16)}&lookback=${'9'.repeat(16)}`, `/jaeger/api/traces?service=${ALPHA}&minDuration=10s&maxDuration=1s`);
    for (const s of [...SQLISH, 'a'.repeat(3000)]) {
      const v = enc(s);
      out.push(`/api/alerts?rule=${v}&service=${v}`, `/api/alerts?state=${v}`, `/api/alerts?since=${v}`, `/api/alerts/firing?rule=${v}&service=${v}`);
    }
    for (const l of BAD_LIMITS) out.push(`/api/alerts?limit=${enc(l)}`, `/api/alerts/firing?limit=${enc(l)}`);
    out.push('/api/alerts?state=firing&state=resolved', `/api/alerts?service=${ALPHA}&service=${BETA}`, '/api/alerts/firing?rule=a&rule=b', '/api/alerts?since=99999999999999999999h', '/api/alerts?since=-1h');
    out.push(`/jaeger/api/traces?${Array.from({ length: 200 }, () => `traceID=${T_B}`).join('&')}`, `/jaeger/api/traces?service=${ALPHA}&tags=${enc(JSON.stringify(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v']))))}`);
    return out;
  }

  it('answers every hostile REST request with a clear 4xx or a 200 that leaks nothing, never a 500', async () => {
    const failures: string[] = [];
    for (const path of hostileRequests()) {
      const res = await get(path, alphaReader);
      if (res.status >= 500) failures.push(`${res.status} ${path.slice(0, 200)}: ${res.body.slice(0, 300)}`);
      else if (res.status >= 400 && res.status !== 404 && res.status !== 431 && res.status !== 414) {
        // A refusal says what is wrong: a JSON error (or Jaeger's envelope) with a message.
        const msg = /"(error|msg)":"([^"]+)"/.exec(res.body)?.[2];
        if (!msg) failures.push(`${res.status} without a message ${path.slice(0, 200)}: ${res.body.slice(0, 300)}`);
      }
      const leaks = leaked(res.body, decodeURIComponent(path));
      if (leaks.length > 0) failures.push(`leaked ${leaks.join(',')} on ${path.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it('refuses oversized requests before they reach a face (huge query string)', async () => {
    for (const path of [`/api/search?q=${'a'.repeat(100_000)}`, `/api/hotspots?service=${'a'.repeat(100_000)}`, `/jaeger/api/traces?service=${'a'.repeat(100_000)}`, `/api/tail?service=${'a'.repeat(100_000)}`]) {
      const res = await get(path, alphaReader);
      expect(res.status, path.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(res.status, path.slice(0, 40)).toBeLessThan(500);
    }
  });

  it('answers hostile tail parameters with 400 naming the parameter', async () => {
    for (const [query, name] of [
      ['minDuration=abc', 'minDuration'],
      ["minDuration=' OR 1=1", 'minDuration'],
      ['errorsOnly=maybe', 'errorsOnly'],
      ['service=a&service=b', 'service'],
      [`service=${'a'.repeat(5000)}`, 'service'],
    ] as const) {
      const res = await get(`/api/tail?${query}`, alphaReader);
      expect(res.status, `${query}: ${res.body}`).toBe(400);
      expect(res.body).toContain(name);
    }
  });

  it('answers hostile MCP inputs with tool errors, never a crash, and the server keeps serving', async () => {
    const client = await mcp(alphaSql);
    const big = 'a'.repeat(300_000);
    const calls: Array<[string, Record<string, unknown>]> = [
      ['find_traces', { service: big }],
      ['find_traces', { service: SQLISH[1], operation: SQLISH[0], minDuration: SQLISH[3], lookback: 'forever' }],
      ['find_traces', { limit: 1e12 }],
      ['find_traces', { limit: -1 }],
      ['find_traces', { cursor: 'not-a-cursor' }],
      ['find_traces', { cursor: Buffer.from(JSON.stringify({ service: BETA, limit: 100000 })).toString('base64url') }],
      ['find_traces', { start: "2020-01-01'; DROP TABLE otel_traces; --", end: '9999-99-99' }],
      ['find_traces', { query: `name =~ "(a+)+$"` }],
      ['find_traces', { query: 'name =~ "("' }],
      ['find_traces', { query: '('.repeat(1000) + 'service = a' + ')'.repeat(1000) }],
      ['find_traces', { query: `name = "${SQLISH[1]}"` }],
      ['critical_path', { traceId: "'; DROP TABLE otel_traces; --" }],
      ['critical_path', { traceId: T_A, top: 1e12 }],
      ['critical_path', { traceId: T_A, cursor: SQLISH[0] }],
      ['insights', { traceId: 'g'.repeat(32) }],
      ['insights', { traceId: T_A, cursor: 'x'.repeat(4096) }],
      ['hotspots', { service: SQLISH[0], operation: SQLISH[3], lookback: '100000h' }],
      ['hotspots', { traceId: '../../etc/passwd' }],
      ['hotspots', { start: SQLISH[1], end: SQLISH[2] }],
      ['hotspots', { limit: 1e12 }],
      ['compare_traces', { a: SQLISH[0], b: T_A }],
      ['compare_traces', { a: T_A, b: 'typical', n: 1e9, lookback: SQLISH[1] }],
      ['compare_traces', { a: T_A, b: T_MIX, cursor: 'not-a-cursor' }],
      ['lookup_correlation', { correlationId: SQLISH[2] }],
      ['lookup_correlation', { correlationId: '' }],
      ['trace_outline', { traceId: "'; DROP TABLE otel_traces; --" }],
      ['trace_outline', { traceId: 'g'.repeat(32) }],
      ['trace_outline', { traceId: T_A, maxDepth: 1e9 }],
      ['trace_outline', { traceId: T_A, cursor: 'x'.repeat(4096) }],
      ['get_span', { traceId: T_A, spanId: "' OR 1=1" }],
      ['get_span', { traceId: T_A, spanId: spanId(2), field: SQLISH[0], offset: 1e15 }],
      ['get_span', { traceId: T_A, spanId: spanId(2), offset: -5 }],
      ['service_neighbourhood', { service: SQLISH[1], hops: 1000 }],
      ['service_neighbourhood', { service: ALPHA, hops: 5, lookback: '99999999h' }],
      ['red', { service: SQLISH[0], operation: SQLISH[1], lookback: '100000h' }],
      ['red', { start: SQLISH[2], end: SQLISH[3], step: SQLISH[0] }],
      ['red', { end: '9999-12-31T00:00:00Z', step: '1m' }],
      ['red', { spanKind: SQLISH[1], limit: 1e12 }],
      ['anomalies', { service: SQLISH[0], operation: SQLISH[2], window: SQLISH[1], lookback: '99999h' }],
      ['anomalies', { window: '1m', lookback: '24h' }],
      ['anomalies', { baseline: -1, threshold: 1e12, minRequests: 0.5 }],
      ['alerts', { state: 'burning' }],
      ['alerts', { since: SQLISH[1], rule: SQLISH[0], service: SQLISH[2] }],
      ['alerts', { since: '99999999999h' }],
      ['alerts', { rule: big }],
      ['alerts', { cursor: 'x'.repeat(1000) }],
      // A forged cursor pinning all time and the rule that fires for betasvc: the read rules still apply.
      ['alerts', { cursor: Buffer.from(JSON.stringify(['alerts', 0, { state: 'all', since: '0', until: '99999999999999', rule: 'every-op', service: '' }])).toString('base64url') }],
      ['alerts', { cursor: Buffer.from(JSON.stringify(['alerts', 1e9, { state: 'all', since: '0', until: '1', rule: '', service: '' }])).toString('base64url') }],
      ['sql', { query: 'SELECT * FROM file(\'/etc/passwd\')' }],
      ['sql', { query: `SELECT * FROM otel_traces; DROP TABLE otel_traces` }],
      ['sql', { query: big }],
      ['no_such_tool', {}],
    ];
    for (const [tool, args] of calls) {
      const answer = await callTool(client, tool, args);
      const sent = JSON.stringify(args);
      expect(leaked(answer.text, sent), `${tool} ${sent.slice(0, 200)}`).toEqual([]);
      expect(answer.text, `${tool} ${sent.slice(0, 200)}`).not.toMatch(/internal error/i);
    }
    // Garbage JSON-RPC straight at the transport: a 4xx or a JSON-RPC error, never a 500.
    for (const body of [{ jsonrpc: '2.0' }, [], 'x'.repeat(1000), { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sql', arguments: { query: 'SELECT 1' } } }]) {
      const res = await postMcp(alphaReader, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBeLessThan(500);
    }
    const alive = await callTool(client, 'find_traces', { lookback: '24h' });
    expect(alive.isError, alive.text).toBe(false);
    expect(alive.text).toContain(T_A);
  }, 120_000);

  it('still serves every stored span afterwards: nothing was dropped or altered', async () => {
    expect((await get('/healthz', undefined)).status).toBe(200);
    for (const [id, n] of [[T_A, 4], [T_MIX, 6], [T_B, 4]] as const) {
      const res = await get(`/api/traces/${id}`, admin);
      expect(res.status).toBe(200);
      expect((JSON.parse(res.body) as { spans: unknown[] }).spans).toHaveLength(n);
    }
    expect(c.logs.join('\n')).not.toMatch(/query API request failed|Jaeger API request failed|internal error/);
  });
});
