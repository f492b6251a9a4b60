/**
 * Scale-out on the embedded store: `process` collectors keep no spans of their own; they send
 * them to the `query` collector that owns the store (OTLP/HTTP) together with their side rows
 * (service graph, correlations, RED, drops: POST /api/internal/rows/:table), which deduplicates
 * what arrives twice. Real collectors as child processes, real embedded ClickHouse.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { otlpBody, scaleTrace, sendAcknowledged, type ScaleTrace } from './helpers/scale-traffic.js';

const TRACES = 40;
let owner: RunningCollector;
let processor: RunningCollector;
const traces: ScaleTrace[] = [];

// Traces are held long enough for all their parts, whatever the machine's pace; the process
// collector's graceful stop (below) hands everything it holds on, so nothing waits on a timer.
const CONFIG = `
processors:
  stitch:
    decision_wait_ms: 120000
  sample:
    tail:
      enabled: true
      decision_wait_ms: 120000
      policies:
        - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
red:
  flush_interval_ms: 300
`;
const processHealth: Record<string, number> = {};
let processMetrics = '';
let processRole = '';

beforeAll(async () => {
  owner = await startCollector({ args: ['--role', 'query'], config: CONFIG });
  processor = await startCollector({
    args: ['--role', 'process'],
    config: `${CONFIG}storage:\n  owner:\n    endpoint: ${owner.httpEndpoint}\n    api: ${owner.apiUrl}\n`,
  });
  for (let i = 0; i < TRACES; i++) traces.push(scaleTrace(i));
  // Each service's spans in a request of its own, services interleaved across traces.
  for (const service of [0, 1, 2]) {
    await Promise.all(traces.map((t) => sendAcknowledged(processor.httpEndpoint, otlpBody(t.parts[service]!.spans))));
  }
  for (const path of ['/healthz', '/readyz', `/api/traces/${traces[0]!.traceId}`, '/api/service-graph']) {
    processHealth[path] = (await fetch(`${processor.apiUrl}${path}`)).status;
  }
  processMetrics = await (await fetch(`${processor.apiUrl}/metrics`)).text();
  processRole = ((await (await fetch(`${processor.apiUrl}/api/status`)).json()) as { role: string }).role;
  expect(await processor.stop()).toBe(0);
}, 180_000);

afterAll(async () => {
  await owner?.stop();
  await cleanup();
});

async function count(apiUrl: string, query: string): Promise<number> {
  const [row] = await sql<{ n: string }>(apiUrl, query);
  return Number(row?.n ?? 0);
}

describe('process collectors storing through the owner', () => {
  it('every span the process collector kept reaches the owner once', async () => {
    // Tail sampling keeps the failing traces (every fifth), whole.
    const spans = traces.filter((t) => t.failed).length * 6;
    // The owner's own queue writes them a moment after it acknowledged them.
    await waitFor(async () => ((await count(owner.apiUrl, 'SELECT count() AS n FROM otel_traces')) >= spans ? true : undefined), `${spans} spans at the owner`, 60_000);
    expect(await count(owner.apiUrl, 'SELECT count() AS n FROM otel_traces')).toBe(spans);
    expect(await count(owner.apiUrl, 'SELECT uniqExact(TraceId, SpanId) AS n FROM otel_traces')).toBe(spans);
  });

  it('the service graph, RED and the drop ledger the process collector wrote are read at the owner', async () => {
    const answer = (await (await fetch(`${owner.apiUrl}/api/service-graph?lookback=1h`)).json()) as { edges: Array<{ caller: string; callee: string; calls: number | string }> };
    const { edges } = answer;
    const calls = (caller: string, callee: string) => edges.filter((e) => e.caller === caller && e.callee === callee).reduce((n, e) => n + Number(e.calls), 0);
    expect(calls('gateway', 'orders')).toBe(TRACES);
    expect(calls('orders', 'payments')).toBe(TRACES);
    // RED minutes counted by the process collector (before sampling), stored at the owner.
    expect(await count(owner.apiUrl, "SELECT sum(Requests) AS n FROM flowtrace_red WHERE ServiceName = 'payments'")).toBe(TRACES);
    // What tail sampling did not keep is in the owner's drop ledger.
    const kept = traces.filter((t) => t.failed).length;
    expect(await count(owner.apiUrl, "SELECT sum(DroppedSpans) AS n FROM flowtrace_drops WHERE Stage = 'sample' AND Reason = 'sampled_out'")).toBe((TRACES - kept) * 6);
  });

  it('a span sent twice is stored once and counted as a duplicate', async () => {
    const again = scaleTrace(1_000);
    const body = otlpBody(again.parts[0]!.spans);
    await sendAcknowledged(owner.httpEndpoint, body);
    await sendAcknowledged(owner.httpEndpoint, body);
    const where = `TraceId = '${again.traceId}'`;
    await waitFor(async () => ((await count(owner.apiUrl, `SELECT count() AS n FROM otel_traces WHERE ${where}`)) >= 2 ? true : undefined), 'the resent spans', 30_000);
    expect(await count(owner.apiUrl, `SELECT count() AS n FROM otel_traces WHERE ${where}`)).toBe(2);
    const metrics = await (await fetch(`${owner.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^flowtrace_dedupe_duplicate_spans_total 2$/m);
  });

  it('says its role in /api/status', async () => {
    expect(((await (await fetch(`${owner.apiUrl}/api/status`)).json()) as { role: string }).role).toBe('query');
  });

  it('the owner takes side rows only for its side tables, and only well-formed ones', async () => {
    const post = (table: string, body: unknown) =>
      fetch(`${owner.apiUrl}/api/internal/rows/${table}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const spans = await post('otel_traces', { rows: [{ TraceId: 'x' }] });
    expect(spans.status).toBe(404);
    expect(((await spans.json()) as { error: string }).error).toMatch(/no table "otel_traces" takes rows here/);
    expect((await post('flowtrace_api_tokens', { rows: [] })).status).toBe(404);
    const unknownField = await post('flowtrace_drops', { rows: [{ Minute: '2026-01-01 00:00:00', Nope: 1 }] });
    expect(unknownField.status).toBe(400);
    expect(((await unknownField.json()) as { error: string }).error).toMatch(/rows refused by flowtrace_drops/);
    expect((await post('flowtrace_drops', { rows: 'nope' })).status).toBe(400);
    // Small bodies only: what a parsed body costs the process holding the store is bounded.
    expect(await postStatus(`${owner.apiUrl}/api/internal/rows/flowtrace_drops`, JSON.stringify({ rows: [{ Service: 'x'.repeat(5 * 1024 * 1024) }] }))).toBe(413);
  });

  it('a process collector serves health and metrics, not the data', () => {
    expect(processHealth).toEqual({ '/healthz': 200, '/readyz': 200, [`/api/traces/${traces[0]!.traceId}`]: 404, '/api/service-graph': 404 });
    expect(processMetrics).toMatch(/flowtrace_receiver_/);
    expect(processRole).toBe('process');
  });
});

/**
 * The status of a POST whose body the server may refuse before reading it: the answer is taken as
 * it arrives, and the connection the server then closes under the rest of the body (EPIPE, reset)
 * is not the outcome (fetch reports that write error instead of the answer it already has).
 */
function postStatus(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(body);
  });
}
