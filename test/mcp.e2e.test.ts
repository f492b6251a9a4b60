import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

/**
 * The MCP server through the SDK's own client, over both transports: Streamable HTTP at /mcp
 * on a real collector, and stdio by spawning `flowtrace mcp` against it. Known traces:
 * - CHECKOUT: checkout → payments with 5 identical SELECTs (one failing, with an exception and
 *   a 5,000-character statement), all under correlation ID req-42;
 * - BALANCE: payments only;
 * - BULK: 10,000 spans of service bulk: a root, 99 stages of 100 distinct steps (nothing merges);
 * - SPIKY: service spiky's `GET /spike`, 30 requests a minute at 10…39 ms for nine minutes, then
 *   one minute at 200…229 ms, three hours ago, sent with past timestamps (RED counts a span in
 *   the minute it started): a latency anomaly with known example traces.
 * Tokens: admin; reader (read, payments only); paymentsSql (read + sql, payments only).
 */

const CHECKOUT = '1'.repeat(32);
const BALANCE = '2'.repeat(32);
const BULK = '3'.repeat(32);
const STATEMENT = `SELECT card FROM cards WHERE id IN (${Array.from({ length: 1500 }, (_, i) => i).join(',')})`;
const BUDGETS: Record<string, number> = {
  find_traces: 2000,
  lookup_correlation: 2000,
  trace_outline: 6000,
  critical_path: 3000,
  insights: 3000,
  hotspots: 2500,
  compare_traces: 3000,
  get_span: 4000,
  get_logs: 3000,
  service_neighbourhood: 2000,
  red: 2500,
  anomalies: 2500,
  alerts: 2000,
  sql: 4000,
};

let c: RunningCollector;
let admin: string;
let reader: string;
let paymentsSql: string;

const kv = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const spanId = (n: number) => n.toString(16).padStart(16, '0');

function otlpSpan(traceId: string, id: number, parent: number | undefined, name: string, startNs: bigint, durNs: bigint, extra: Partial<OtlpSpan> = {}): OtlpSpan {
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

function request(byService: Record<string, OtlpSpan[]>): string {
  const body: OtlpRequest = {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ scope: { name: 'mcp-test' }, spans }] })),
  };
  return JSON.stringify(body);
}

/** Three hours ago: outside the 2h windows the other tests count traces in. */
const SPIKE_MINUTE_S = Math.floor(Date.now() / 60_000) * 60 - 180 * 60;
/** Trace IDs of the spike minute's requests, slowest last. */
const spikeTrace = (i: number) => `5${(1_000 + i).toString(16).padStart(31, '0')}`;

function spiky(): string {
  const ms = 1_000_000n;
  const spans: OtlpSpan[] = [];
  for (let m = 9; m >= 0; m--) {
    for (let i = 0; i < 30; i++) {
      const start = (BigInt(SPIKE_MINUTE_S - m * 60) * 1000n + 1000n + BigInt(i) * 100n) * ms;
      const traceId = m === 0 ? spikeTrace(i) : `5${(m * 100 + i).toString(16).padStart(31, '0')}`;
      spans.push(otlpSpan(traceId, 1, undefined, 'GET /spike', start, BigInt(m === 0 ? 200 + i : 10 + i + (m % 3)) * ms, { kind: 2 }));
    }
  }
  return request({ spiky: spans });
}

function fixtures(nowNs: bigint) {
  const ms = 1_000_000n;
  const t0 = nowNs - 60_000n * ms;
  const corr = [kv('flowtrace.correlation_id', 'req-42')];
  const checkout = [
    otlpSpan(CHECKOUT, 1, undefined, 'POST /checkout', t0, 100n * ms, { kind: 2, attributes: corr }),
    otlpSpan(CHECKOUT, 2, 1, 'POST /pay', t0 + 5n * ms, 80n * ms, { kind: 3, attributes: corr }),
  ];
  const payments = [
    otlpSpan(CHECKOUT, 3, 2, 'POST /pay', t0 + 6n * ms, 78n * ms, { kind: 2, attributes: corr }),
    ...[0, 1, 2, 3, 4].map((i) =>
      otlpSpan(CHECKOUT, 10 + i, 3, 'SELECT card', t0 + (10n + BigInt(i) * 10n) * ms, 8n * ms, {
        kind: 3,
        attributes: [...corr, kv('db.statement', i === 3 ? STATEMENT : 'SELECT card FROM cards WHERE id = ?')],
        ...(i === 3
          ? {
              status: { code: 2, message: 'deadlock' },
              events: [{ timeUnixNano: (t0 + 48n * ms).toString(), name: 'exception', attributes: [kv('exception.type', 'SQLException'), kv('exception.message', 'deadlock detected')] }],
            }
          : {}),
      }),
    ),
    otlpSpan(BALANCE, 1, undefined, 'GET /balance', t0 + 1000n * ms, 20n * ms, { kind: 2 }),
  ];
  const bulk: OtlpSpan[] = [otlpSpan(BULK, 1, undefined, 'batch run', t0, 60_000n * ms, { kind: 2 })];
  for (let i = 0; i < 99; i++) {
    const parent = 2 + i * 101;
    bulk.push(otlpSpan(BULK, parent, 1, `stage-${i}`, t0 + BigInt(i) * 500n * ms, 450n * ms));
    for (let j = 0; j < 100; j++) bulk.push(otlpSpan(BULK, parent + 1 + j, parent, `step-${i}-${j}`, t0 + (BigInt(i) * 500n + BigInt(j) * 4n) * ms, 3n * ms));
  }
  return { main: request({ checkout, payments }), bulk: request({ bulk }) };
}

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

type Transport = 'http' | 'stdio';
const clients: Client[] = [];

async function connect(transport: Transport, token: string): Promise<Client> {
  const client = new Client({ name: 'flowtrace-mcp-test', version: '1.0.0' });
  const channel =
    transport === 'http'
      ? new StreamableHTTPClientTransport(new URL(`${c.apiUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } })
      : new StdioClientTransport({
          command: process.execPath,
          args: [FLOWTRACE_BIN, 'mcp'],
          env: { PATH: process.env.PATH ?? '', FLOWTRACE_API_URL: c.apiUrl, FLOWTRACE_TOKEN: token },
          stderr: 'pipe',
        });
  try {
    await client.connect(channel);
  } catch (err) {
    // Ends the spawned `flowtrace mcp` too.
    await channel.close();
    throw err;
  }
  clients.push(client);
  return client;
}

/** Calls a tool and checks its answer stays within the tool's documented budget. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
  expect(Math.ceil(text.length / 4), `${name} answer within its budget`).toBeLessThanOrEqual(BUDGETS[name]!);
  return { text, isError: result.isError === true };
}

function cursorOf(text: string): string | undefined {
  return /cursor="([^"]+)"/.exec(text)?.[1];
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-mcp-boot-'), 'admin.token');
  c = await startCollector({
    args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile],
    config: 'processors:\n  stitch:\n    decision_wait_ms: 200\n    flush:\n      interval_ms: 200\nred:\n  flush_interval_ms: 200\n',
  });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  reader = await createToken({ name: 'payments-reader', scopes: ['read'], services: ['payments'] });
  paymentsSql = await createToken({ name: 'payments-sql', scopes: ['read', 'sql'], services: ['payments'] });

  const { main, bulk } = fixtures(BigInt(Date.now()) * 1_000_000n);
  expect(await postTraces(c.httpEndpoint, main, 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  expect(await postTraces(c.httpEndpoint, bulk, 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  expect(await postTraces(c.httpEndpoint, spiky(), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  const count = async (id: string) => {
    const res = await fetch(`${c.apiUrl}/api/traces/${id}`, { headers: { authorization: `Bearer ${admin}` } });
    return res.ok ? ((await res.json()) as { spans: unknown[] }).spans.length : 0;
  };
  let counts: number[] = [];
  await waitFor(async () => {
    counts = [await count(CHECKOUT), await count(BALANCE), await count(BULK)];
    return counts.join() === '8,1,10000' ? true : undefined;
  }, 'every span to be stored', 90_000).catch((err: Error) => {
    throw new Error(`${err.message}: stored ${counts.join()} of 8,1,10000\n${c.logs.slice(-20).join('\n')}`);
  });
  // The stitch processor's side tables (correlations, service graph) are written on their own flush.
  const probe = await connect('http', admin);
  await waitFor(async () => {
    const corr = await call(probe, 'lookup_correlation', { correlationId: 'req-42' });
    const graph = await call(probe, 'service_neighbourhood', { service: 'payments' });
    return !corr.text.includes('not found') && graph.text.includes('checkout') ? true : undefined;
  }, 'the correlation and service-graph side tables', 60_000);
  // RED minutes are written on their own flush (200 ms here); the spike's example traces must be stored.
  await waitFor(
    async () => ((await call(probe, 'red', { service: 'spiky', lookback: '4h' })).text.includes('spiky,GET /spike,Server,300,') && (await count(spikeTrace(27))) === 1 ? true : undefined),
    'the RED minutes and the spike traces',
    30_000,
  );
}, 180_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await cleanup();
});

describe('/mcp authentication', () => {
  it('refuses a request without a token (401) and a token without the read scope (403)', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const post = (headers: Record<string, string>) =>
      fetch(`${c.apiUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(init) });
    expect((await post({})).status).toBe(401);
    const ingestOnly = await createToken({ name: 'ingest-only', scopes: ['ingest'] });
    expect((await post({ authorization: `Bearer ${ingestOnly}` })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${reader}` })).status).toBe(200);
    expect((await fetch(`${c.apiUrl}/mcp`, { headers: { authorization: `Bearer ${reader}` } })).status).toBe(405);
  });

  it('flowtrace mcp (stdio) answers with what to fix when the token is refused', async () => {
    await expect(connect('stdio', 'not-a-token')).rejects.toThrow(/refused the credentials \(401\): set FLOWTRACE_TOKEN or --token-file/);
  });
});

describe.each<Transport>(['http', 'stdio'])('MCP tools over %s', (transport) => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(transport, admin);
  }, 30_000);

  it('lists the tools with JSON schemas, the prompts, the schema resource and instructions that teach the drill-down', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['find_traces', 'lookup_correlation', 'trace_outline', 'critical_path', 'insights', 'hotspots', 'compare_traces', 'get_span', 'get_logs', 'service_neighbourhood', 'red', 'anomalies', 'alerts', 'sql']);
    const outline = tools.find((t) => t.name === 'trace_outline')!;
    expect(outline.inputSchema.required).toEqual(['traceId']);
    expect(outline.annotations?.readOnlyHint).toBe(true);
    expect(outline.description).toContain('at most ~6000 tokens');
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['explain_error', 'find_n_plus_one', 'investigate_slow_endpoint']);
    const prompt = await client.getPrompt({ name: 'investigate_slow_endpoint', arguments: { service: 'payments' } });
    const text = (prompt.messages[0]!.content as { text: string }).text;
    expect(text.indexOf('find_traces')).toBeLessThan(text.indexOf('trace_outline'));
    expect(text.indexOf('trace_outline')).toBeLessThan(text.lastIndexOf('get_span'));
    expect(client.getInstructions()).toMatch(/find_traces[\s\S]*trace_outline[\s\S]*critical_path[\s\S]*hotspots[\s\S]*get_span/);
    const schema = await client.readResource({ uri: 'flowtrace://schema' });
    expect((schema.contents[0] as { text: string }).text).toMatch(/otel_traces:\n {2}Timestamp DateTime64\(9/);
  });

  it('find_traces: by service, errors only, with aggregates and a cursor', async () => {
    const byService = await call(client, 'find_traces', { service: 'checkout', lookback: '2h' });
    expect(byService.text).toContain(`${CHECKOUT},`);
    expect(byService.text).not.toContain(BALANCE);
    expect(byService.text).toMatch(/this page: duration p50 /);
    const errors = await call(client, 'find_traces', { errorsOnly: true, lookback: '2h' });
    expect(errors.text).toContain(CHECKOUT);
    expect(errors.text).not.toContain(BALANCE);
    expect(errors.text).not.toContain(BULK);
    const first = await call(client, 'find_traces', { lookback: '2h', limit: 1 });
    const cursor = cursorOf(first.text)!;
    expect(cursor).toBeDefined();
    const second = await call(client, 'find_traces', { cursor });
    expect(second.text).toMatch(/# traces 2-2 /);
    const bad = await call(client, 'find_traces', { minDuration: 'soon' });
    expect(bad).toMatchObject({ isError: true });
    expect(bad.text).toContain('minDuration: expected a duration such as 250ms');
  });

  it('trace_outline: the checkout trace, with the 5 SELECTs merged and the error marked', async () => {
    const { text } = await call(client, 'trace_outline', { traceId: CHECKOUT });
    expect(text).toContain(`# trace ${CHECKOUT}: 8 of 8 spans`);
    expect(text).toContain('1 checkout "POST /checkout" 100.00ms self=20.00ms #0000000000000001');
    expect(text).toMatch(/\n {3}1\.1\.1\.1-5 ×5 payments "SELECT card" total=40\.00ms max=8\.00ms ERR×1 #000000000000000a\.\.#000000000000000e\n/);
    expect(text).toContain('# end (4 lines)');
  });

  it('trace_outline: a 10,000-span trace stays within its budget on every page, and the pages cover every span once', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { text, isError } = await call(client, 'trace_outline', cursor ? { traceId: BULK, cursor } : { traceId: BULK });
      expect(isError).toBe(false);
      for (const m of text.matchAll(/ #([0-9a-f]{16})$/gm)) {
        expect(seen.has(m[1]!)).toBe(false);
        seen.add(m[1]!);
      }
      cursor = cursorOf(text);
      pages++;
    } while (cursor !== undefined && pages < 200);
    expect(seen.size).toBe(10_000);
    expect(pages).toBeGreaterThan(1);
  }, 180_000);

  it('find_traces: a query in the search grammar, paged with a cursor; a bad query points at its column', async () => {
    const failed = await call(client, 'find_traces', { query: '{ service = payments AND status = error }', lookback: '2h' });
    expect(failed.text).toMatch(/^# traces 1-1 \(newest first\) .* matching \{ service = payments AND status = error \}; this page: /);
    expect(failed.text).toContain(`${CHECKOUT},`);
    expect(failed.text).not.toContain(BALANCE);
    expect(failed.text).toContain('# end of matches');
    const big = await call(client, 'find_traces', { query: 'trace.spans > 100' });
    expect(big.text).toContain(`${BULK},`);
    expect(big.text).not.toContain(CHECKOUT);
    const first = await call(client, 'find_traces', { query: 'trace.spans >= 1', lookback: '2h', limit: 1 });
    const seen = [/^([0-9a-f]{32}),/m.exec(first.text)![1]];
    let cursor = cursorOf(first.text);
    let last = first.text;
    while (cursor !== undefined && seen.length < 10) {
      last = (await call(client, 'find_traces', { cursor })).text;
      expect(last).toMatch(new RegExp(`^# traces ${seen.length + 1}-${seen.length + 1} `));
      seen.push(/^([0-9a-f]{32}),/m.exec(last)![1]);
      cursor = cursorOf(last);
    }
    // Every match once, and the last page says it is the last (no empty page after it).
    expect(seen.sort()).toEqual([CHECKOUT, BALANCE, BULK].sort());
    expect(last).toMatch(/# end of matches$/);
    const bad = await call(client, 'find_traces', { query: 'service = ' });
    expect(bad).toMatchObject({ isError: true });
    expect(bad.text).toMatch(/^find_traces: query: at column \d+: /);
    const mixed = await call(client, 'find_traces', { query: 'service = api', errorsOnly: true });
    expect(mixed).toMatchObject({ isError: true });
    expect(mixed.text).toContain('query: not with errorsOnly; write them in the query instead');
    // Nothing matched because of a mistyped key: the attribute-key catalog names the close one.
    const typo = await call(client, 'find_traces', { query: 'span.db.statment exists', lookback: '2h' });
    expect(typo.text).toContain('\n# span.db.statment: no span carried this key in the last 7 days; did you mean span.db.statement?\n');
  });

  it('critical_path: the spans by self time and the chain that makes up the latency', async () => {
    const { text } = await call(client, 'critical_path', { traceId: CHECKOUT });
    expect(text).toContain(`# critical path of trace ${CHECKOUT}: 100.00ms end to end from #0000000000000001; 8 spans,`);
    // payments' POST /pay: 78ms less 5 × 8ms of SELECTs; then checkout's root: 100ms less the 80ms call.
    expect(text).toMatch(/span_id,service,name,duration_ms,self_ms,self_share,on_path_ms\n0000000000000003,payments,POST \/pay,78,38,38\.0%,[\d.]+\n0000000000000001,checkout,POST \/checkout,100,20,20\.0%,/);
    expect(text).toMatch(/\nat_ms,duration_ms,share,span_id,service,name\n0,[\d.]+,[\d.]+%,0000000000000001,checkout,POST \/checkout\n/);
    expect(text).toMatch(/# end \(\d+ lines\)$/);
    const one = await call(client, 'critical_path', { traceId: CHECKOUT, top: 1 });
    expect(one.text).toContain('# top 1 spans by self time');
    expect(one.text).not.toContain('0000000000000001,checkout,POST /checkout,100,20');
    // A loop of 9,900 short calls is one line, so the 10,000-span trace's path fits one page.
    const bulk = await call(client, 'critical_path', { traceId: BULK });
    expect(bulk.text).toMatch(/\n0,49450,82\.4%,…\d+ segments of \d+ spans,,bulk step-0-0; bulk stage-0; \+\d+ more names\n49450,10550,17\.6%,0000000000000001,bulk,batch run\n# end /);
    const missing = await call(client, 'critical_path', { traceId: 'f'.repeat(32) });
    expect(missing).toMatchObject({ isError: true });
    expect(missing.text).toContain(`trace ${'f'.repeat(32)} not found`);
  });

  it('insights: the error origin names its span, and the whole trace is complete', async () => {
    const { text } = await call(client, 'insights', { traceId: CHECKOUT });
    expect(text).toMatch(new RegExp(`^# insights of trace ${CHECKOUT} \\(8 spans\\): \\d+ insight\\(s\\); completeness: complete\n`));
    expect(text).toMatch(/\nerror-origin impact=8\.00ms spans=1 parent=#0000000000000003: .*\n {2}spans: #000000000000000d\n/);
    expect(text).toContain('SQLException');
    expect(text).toMatch(/# end \(\d+ lines\)$/);
  });

  it('hotspots: methods by self time over a window and in one trace', async () => {
    const trace = await call(client, 'hotspots', { traceId: CHECKOUT });
    expect(trace.text).toMatch(/^# hotspots in .*; traceId=1{32}: 4 method\(s\), 8 calls, 100\.00ms self time in all\n/);
    expect(trace.text).toContain('service,method,calls,errors,self_ms,total_ms,share\npayments,SELECT card,5,1,40,40,40.0%\npayments,POST /pay,1,0,38,78,38.0%\n');
    expect(trace.text).toContain('# end (4 methods)');
    const window = await call(client, 'hotspots', { lookback: '2h', limit: 2 });
    expect(window.text).toMatch(/\nbulk,/);
    expect(window.text).toMatch(/# top 2 of \d+ methods; raise limit/);
    const wide = await call(client, 'hotspots', { lookback: '200h' });
    expect(wide).toMatchObject({ isError: true });
    expect(wide.text).toContain('lookback: the window is at most 7 days (168h) wide');
  });

  it('red: rate, errors and quantiles per operation, over the window or by step; bad steps refused', async () => {
    const payments = await call(client, 'red', { service: 'payments', lookback: '2h' });
    expect(payments.text).toMatch(/^# RED in \S+ \.\. \S+; service=payments: counted before sampling/);
    expect(payments.text).toContain('\nservice,operation,kind,requests,errors,rate_per_s,error_pct,p50_ms,p90_ms,p99_ms,max_ms\n');
    expect(payments.text).toMatch(/\npayments,SELECT card,Client,5,1,[\d.]+,20,[\d.]+,[\d.]+,[\d.]+,8\n/);
    expect(payments.text).toMatch(/\npayments,POST \/pay,Server,1,0,/);
    expect(payments.text).not.toMatch(/checkout|bulk|spiky/);
    expect(payments.text).toMatch(/# end \(3 rows\)$/);
    const stepped = await call(client, 'red', { service: 'spiky', start: new Date((SPIKE_MINUTE_S - 600) * 1000).toISOString(), end: new Date((SPIKE_MINUTE_S + 60) * 1000).toISOString(), step: '1m' });
    const rows = stepped.text.split('\n').filter((l) => l.startsWith('spiky,'));
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => /^spiky,GET \/spike,Server,\S+Z,30,0,0\.5,0,/.test(r))).toBe(true);
    expect(rows[9]).toContain(`,${new Date(SPIKE_MINUTE_S * 1000).toISOString().replace('.000Z', 'Z')},`);
    const wide = await call(client, 'red', { lookback: '2h', limit: 500 });
    expect(wide.text).toMatch(/\n# cut: \d+ more row\(s\) did not fit/);
    for (const [args, message] of [
      [{ step: '30s' }, 'step: must be a whole number of minutes'],
      [{ step: '1m', lookback: '24h' }, 'step: at most 60 points per series'],
      [{ lookback: '800h' }, 'lookback: the window is at most 31 days'],
    ] as const) {
      const bad = await call(client, 'red', args);
      expect(bad, JSON.stringify(args)).toMatchObject({ isError: true });
      expect(bad.text).toContain(message);
    }
  });

  it('anomalies: the latency spike with its baseline, score and slowest traces; nothing above a high threshold', async () => {
    const found = await call(client, 'anomalies', { window: '1m', lookback: '4h' });
    expect(found.text).toMatch(/^# anomalies judged in \S+ \.\. \S+ by 1m windows: 1 found \(baseline 12 windows, threshold 5, minRequests 20\)/);
    const row = found.text.split('\n').find((l) => l.startsWith('spiky,'));
    expect(row).toBeDefined();
    const [service, operation, kind, metric, start, requests, errors, current, median, score, examples] = row!.split(',');
    expect([service, operation, kind, metric, start, requests, errors]).toEqual(['spiky', 'GET /spike', 'Server', 'latency_p99', new Date(SPIKE_MINUTE_S * 1000).toISOString().replace('.000Z', 'Z'), '30', '0']);
    expect(Number(current)).toBeGreaterThan(180);
    expect(Number(median)).toBeLessThan(50);
    expect(Number(score)).toBeGreaterThanOrEqual(5);
    expect(examples).toBe([29, 28, 27].map(spikeTrace).join(' '));
    expect(found.text).toMatch(/# end \(1 anomalies\)$/);
    const calm = await call(client, 'anomalies', { service: 'spiky', window: '1m', lookback: '4h', threshold: 100 });
    expect(calm.text).toMatch(/: 0 found .*\n# none: nothing rose above its baseline/);
    const bad = await call(client, 'anomalies', { window: '90s' });
    expect(bad).toMatchObject({ isError: true });
    expect(bad.text).toContain('window: must be a whole number of minutes');
    const long = await call(client, 'anomalies', { window: '1m', lookback: '6h' });
    expect(long.text).toContain('lookback: at most 288 windows');
  });

  it('compare_traces: paths only in one trace, and a trace with no typical shape to compare with', async () => {
    const { text } = await call(client, 'compare_traces', { a: CHECKOUT, b: BALANCE });
    expect(text).toContain(`# A = trace ${CHECKOUT}: 8 spans, 100.00ms\n# B = trace ${BALANCE}: 1 spans, 20.00ms\n# 1 path(s) only in A, 1 only in B, 0 changed, 0 unchanged;`);
    expect(text).toContain('# only in A\npath,depth,count,total_ms,paths_below\ncheckout:POST /checkout,0,1,100,');
    expect(text).toContain('# only in B\npath,depth,count,total_ms,paths_below\npayments:GET /balance,0,1,20,0');
    const same = await call(client, 'compare_traces', { a: CHECKOUT, b: CHECKOUT });
    expect(same.text).toContain('# the two have the same paths with the same counts and durations');
    const typical = await call(client, 'compare_traces', { a: CHECKOUT, b: 'typical', lookback: '2h' });
    expect(typical).toMatchObject({ isError: true });
    expect(typical.text).toContain(`no other trace of trace ${CHECKOUT}'s root operation in the window`);
  });

  it('get_span: one span in full, a long value cut with where to read the rest', async () => {
    const { text } = await call(client, 'get_span', { traceId: CHECKOUT, spanId: spanId(13) });
    expect(text).toContain('status: Error deadlock');
    expect(text).toContain('  - 0: +8.00ms exception');
    expect(text).toContain('      exception.type: SQLException');
    expect(text).toContain(`[cut at 1000 of ${STATEMENT.length} chars: get_span field="attributes:db.statement" offset=1000]`);
    let whole = '';
    let offset = 0;
    for (;;) {
      const part = await call(client, 'get_span', { traceId: CHECKOUT, spanId: spanId(13), field: 'attributes:db.statement', offset });
      const lines = part.text.split('\n');
      whole += lines.slice(1, -1).join('\n');
      const next = /offset=(\d+)$/.exec(lines[lines.length - 1]!);
      if (!next) break;
      offset = Number(next[1]);
    }
    expect(whole).toBe(STATEMENT);
    const missing = await call(client, 'get_span', { traceId: CHECKOUT, spanId: 'ffffffffffffffff' });
    expect(missing).toMatchObject({ isError: true });
    expect(missing.text).toContain('take span IDs from trace_outline');
  });

  it('lookup_correlation: the traces and services of one correlation ID', async () => {
    const { text } = await call(client, 'lookup_correlation', { correlationId: 'req-42' });
    expect(text).toContain('# services: checkout, payments');
    expect(text).toContain(`${CHECKOUT},`);
    expect(text).toMatch(/1 stored trace\(s\), 1 with errors/);
  });

  it('service_neighbourhood: the caller of payments, with call counts', async () => {
    const { text } = await call(client, 'service_neighbourhood', { service: 'payments', hops: 2 });
    expect(text).toContain('hop,caller,callee,operation,calls,errors');
    expect(text).toMatch(/\n1,checkout,payments,POST \/pay,1,0,/);
  });

  it('sql: read-only SQL through the guest path, as CSV', async () => {
    const { text } = await call(client, 'sql', { query: 'SELECT ServiceName, count() AS n FROM otel_traces GROUP BY ServiceName ORDER BY ServiceName' });
    expect(text).toContain('ServiceName,n\nbulk,10000\ncheckout,2\npayments,7\nspiky,300\n# end');
    const write = await call(client, 'sql', { query: 'DROP TABLE otel_traces' });
    expect(write.isError).toBe(true);
    // The N+1 prompt's SQL runs as given, and finds the 5 SELECTs.
    const prompt = await client.getPrompt({ name: 'find_n_plus_one', arguments: { service: 'payments' } });
    const nPlusOne = /^ {3}(SELECT .*)$/m.exec((prompt.messages[0]!.content as { text: string }).text)![1]!;
    expect((await call(client, 'sql', { query: nPlusOne })).text).toContain('SpanName,loops,avg_calls,max_calls\nSELECT card,1,5,5\n');
    // Audited as /api/sql is: action sql, statement kept.
    await waitFor(async () => (c.logs.some((l) => l.includes('"action":"sql"') && l.includes('"route":"/mcp"') && l.includes('DROP TABLE otel_traces')) ? true : undefined), 'the audit record');
  });
});

describe.each<Transport>(['http', 'stdio'])('a token limited to payments, over %s, reads nothing of other services', (transport) => {
  let limited: Client;
  let limitedSql: Client;
  beforeAll(async () => {
    limited = await connect(transport, reader);
    limitedSql = await connect(transport, paymentsSql);
  }, 30_000);

  it('find_traces finds no trace by another service and names none', async () => {
    expect((await call(limited, 'find_traces', { service: 'checkout', lookback: '2h' })).text).toMatch(/^# no traces/);
    const all = await call(limited, 'find_traces', { lookback: '2h' });
    expect(all.text).toContain(BALANCE);
    expect(all.text).not.toMatch(/checkout|bulk/);
  });

  it('trace_outline shows only its own spans, and another service\'s trace is not found', async () => {
    const own = await call(limited, 'trace_outline', { traceId: CHECKOUT });
    expect(own.text).toContain('6 of 6 spans');
    expect(own.text).not.toContain('checkout');
    const other = await call(limited, 'trace_outline', { traceId: BULK });
    expect(other).toMatchObject({ isError: true });
    expect(other.text).toContain(`trace ${BULK} not found`);
  });

  it('get_span refuses another service\'s span', async () => {
    const other = await call(limited, 'get_span', { traceId: CHECKOUT, spanId: spanId(1) });
    expect(other.isError).toBe(true);
    expect(other.text).not.toContain('POST /checkout');
  });

  it('lookup_correlation and service_neighbourhood show nothing that involves another service', async () => {
    const corr = await call(limited, 'lookup_correlation', { correlationId: 'req-42' });
    expect(corr.text).toMatch(/not found/);
    expect(corr.text).not.toContain(CHECKOUT);
    const graph = await call(limited, 'service_neighbourhood', { service: 'payments', hops: 3 });
    expect(graph.text).toMatch(/^# no calls/);
    expect(graph.text).not.toMatch(/checkout,/);
  });

  it('find_traces with a query finds nothing of another service', async () => {
    const other = await call(limited, 'find_traces', { query: '{ service = checkout }', lookback: '2h' });
    expect(other.text).toMatch(/^# no traces/);
    expect(other.text).not.toContain(CHECKOUT);
    const all = await call(limited, 'find_traces', { query: 'trace.spans >= 1', lookback: '2h' });
    expect(all.text).toContain(BALANCE);
    expect(all.text).not.toMatch(/checkout|bulk/);
  });

  it('critical_path and insights analyse only its own spans; another service\'s trace is not found', async () => {
    const path = await call(limited, 'critical_path', { traceId: CHECKOUT });
    expect(path.text).toContain('; 6 spans,');
    expect(path.text).toContain('0000000000000003,payments,POST /pay,78,38,');
    expect(path.text).not.toMatch(/checkout|0000000000000001|0000000000000002/);
    const found = await call(limited, 'insights', { traceId: CHECKOUT });
    expect(found.text).toContain('(6 spans; your token reads only some services');
    expect(found.text).toMatch(/\norphan \S+ #0000000000000003 payments "POST \/pay": /);
    expect(found.text).not.toMatch(/checkout|POST \/checkout/);
    for (const tool of ['critical_path', 'insights']) {
      const other = await call(limited, tool, { traceId: BULK });
      expect(other).toMatchObject({ isError: true });
      expect(other.text).toContain(`trace ${BULK} not found`);
    }
  });

  it('hotspots and compare_traces show nothing of another service', async () => {
    const all = await call(limited, 'hotspots', { lookback: '2h', limit: 100 });
    expect(all.text).toMatch(/\npayments,SELECT card,5,1,40,40,/);
    expect(all.text).not.toMatch(/checkout|bulk|step-|stage-/);
    const other = await call(limited, 'hotspots', { service: 'checkout', lookback: '2h' });
    expect(other.text).toContain('# nothing matched');
    const bulk = await call(limited, 'hotspots', { traceId: BULK });
    expect(bulk.text).toContain('# nothing matched');
    const compared = await call(limited, 'compare_traces', { a: CHECKOUT, b: BALANCE });
    expect(compared.text).toContain(`# A = trace ${CHECKOUT}: 6 spans`);
    expect(compared.text).not.toMatch(/checkout:|POST \/checkout/);
    const refused = await call(limited, 'compare_traces', { a: BULK, b: CHECKOUT });
    expect(refused).toMatchObject({ isError: true });
    expect(refused.text).toContain(`a: trace ${BULK} not found`);
    expect(refused.text).not.toContain('batch run');
  });

  it('red and anomalies show nothing of another service', async () => {
    const red = await call(limited, 'red', { lookback: '24h', limit: 500 });
    expect(red.text).toMatch(/\npayments,SELECT card,Client,5,1,/);
    expect(red.text).not.toMatch(/checkout|bulk|spiky|step-|stage-/);
    const otherRed = await call(limited, 'red', { service: 'spiky', lookback: '24h' });
    expect(otherRed.text).toContain('# nothing matched');
    expect(otherRed.text).not.toContain('GET /spike');
    for (const args of [{ window: '1m', lookback: '4h' }, { service: 'spiky', window: '1m', lookback: '4h', minRequests: 1 }]) {
      const anomalies = await call(limited, 'anomalies', args);
      expect(anomalies.text).toMatch(/: 0 found /);
      expect(anomalies.text).not.toMatch(/GET \/spike|latency_p99|5000/);
    }
  });

  it('sql needs the sql scope, and with it reads only the filtered rows', async () => {
    const refused = await call(limited, 'sql', { query: 'SELECT 1' });
    expect(refused).toMatchObject({ isError: true });
    expect(refused.text).toContain('lacks the scope "sql"');
    const counted = await call(limitedSql, 'sql', { query: 'SELECT ServiceName, count() AS n FROM otel_traces GROUP BY ServiceName ORDER BY ServiceName' });
    expect(counted.text).toContain('ServiceName,n\npayments,7\n# end');
    const raw = await call(limitedSql, 'sql', { query: 'SELECT count() FROM flowtrace.otel_traces' });
    expect(raw.isError).toBe(true);
    const schema = await limitedSql.readResource({ uri: 'flowtrace://schema' });
    expect((schema.contents[0] as { text: string }).text).toContain('reads only some services');
  });
});
