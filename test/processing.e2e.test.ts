import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorrelationTraces, ServiceGraphEdge } from '../collector/src/query/stitch-routes.js';
import { cleanup, getJson, newTempDir, sql, startCollector, type RunningCollector } from './helpers/collector.js';
import { inspectStore } from './helpers/store-inspect.js';
import { SECRETS, ThreeServices, type Request } from './helpers/three-services.js';

/**
 * Issue 4 end to end: three services with the official OpenTelemetry SDK, secrets in attributes,
 * method arguments and exception messages, failures in some requests and a proxy hop that loses
 * `traceparent`, through a collector running every processor (filter, redact, stitch, tail
 * sampling at a 1% floor plus "keep errors").
 *
 * Everything is sent, then the collector is stopped gracefully — which decides every held trace
 * and flushes it — and started again on the same store to be queried: no wait on any timer.
 */
const REQUESTS = 60;
const failing = (i: number) => i % 4 === 0;

const CONFIG = `
processors:
  stitch:
    decision_wait_ms: 60000
  sample:
    tail:
      enabled: true
      decision_wait_ms: 60000
      policies:
        - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
        - { name: floor, type: probabilistic, probabilistic: { sampling_percentage: 1 } }
`;

let collector: RunningCollector;
let requests: Request[];
let sentFromMs: number;
/** Every table of the store, and how many of its rows hold each secret (read with the engine's full rights). */
let storedTables: string[];
let secretHits: Array<{ table: string; needle: string; rows: number }>;
const NEEDLES = [SECRETS.email, SECRETS.card, SECRETS.cardPlain, SECRETS.bearer.slice('Bearer '.length), SECRETS.password];

beforeAll(async () => {
  const dir = newTempDir('ft-processing-');
  const configFile = join(dir, 'flowtrace.yaml');
  writeFileSync(configFile, CONFIG);
  const args = ['--config', configFile];
  const first = await startCollector({ args, dataDir: join(dir, 'data') });
  const services = new ThreeServices(first.grpcEndpoint);
  sentFromMs = Date.now() - 60_000;
  requests = Array.from({ length: REQUESTS }, (_, i) => services.request(i, failing(i)));
  await services.flush(); // every span acknowledged by the collector
  await services.shutdown();
  expect(await first.stop()).toBe(0);
  // Every table, including those user SQL may not read (tokens, audit): scanned while stopped.
  const [tables] = await inspectStore<{ name: string }>(first.dataDir, [
    "SELECT name FROM system.tables WHERE database = 'default' AND engine NOT IN ('MaterializedView', 'View') ORDER BY name",
  ]);
  storedTables = tables!.map((t) => t.name);
  const probes = storedTables.flatMap((table) => NEEDLES.map((needle) => ({ table, needle })));
  const counts = await inspectStore<{ n: string }>(
    first.dataDir,
    probes.map(({ table, needle }) => `SELECT count() AS n FROM default.${table} WHERE positionCaseInsensitive(formatRow('TSV', *), '${needle}') > 0`),
  );
  secretHits = probes.map((p, i) => ({ ...p, rows: Number(counts[i]![0]!.n) }));
  collector = await startCollector({ args, dataDir: first.dataDir });
});
afterAll(cleanup);

const traceIdsIn = async (ids: string[]) =>
  new Set(
    (await sql<{ TraceId: string }>(collector.apiUrl, `SELECT DISTINCT TraceId FROM otel_traces WHERE TraceId IN (${ids.map((id) => `'${id}'`).join(',')})`)).map(
      (r) => r.TraceId,
    ),
  );

describe('processing end to end', () => {
  it('stores no raw secret in any ClickHouse table', async () => {
    expect(storedTables).toEqual(expect.arrayContaining(['otel_traces', 'flowtrace_correlations', 'flowtrace_service_graph', 'flowtrace_audit']));
    const [{ n: stored }] = await sql<{ n: string }>(collector.apiUrl, 'SELECT count() AS n FROM otel_traces');
    expect(Number(stored)).toBeGreaterThan(0);
    expect(secretHits.filter((h) => h.rows > 0)).toEqual([]);
    expect(secretHits).toHaveLength(storedTables.length * NEEDLES.length);
    // …and the spans say what was redacted.
    const [marked] = await sql<{ n: string }>(collector.apiUrl, "SELECT count() AS n FROM otel_traces WHERE SpanAttributes['flowtrace.redacted'] != ''");
    expect(Number(marked!.n)).toBeGreaterThan(0);
  });

  it('keeps every error trace, both halves, under a 1% floor, with its adjusted count', async () => {
    const failed = requests.filter((r) => r.failed);
    const errorTraces = failed.flatMap((r) => [r.frontTraceId, r.backTraceId]);
    expect(await traceIdsIn(errorTraces)).toEqual(new Set(errorTraces));

    const healthy = requests.filter((r) => !r.failed).flatMap((r) => [r.frontTraceId, r.backTraceId]);
    // 1% of 90 traces: almost always none, a handful at the very most.
    expect((await traceIdsIn(healthy)).size).toBeLessThanOrEqual(10);

    const counts = await sql<{ c: string }>(
      collector.apiUrl,
      `SELECT DISTINCT SpanAttributes['sampling.adjusted_count'] AS c FROM otel_traces WHERE TraceId IN (${errorTraces.map((id) => `'${id}'`).join(',')})`,
    );
    expect(counts.map((r) => Number(r.c))).toEqual([1]);
  });

  it('writes the service-graph edge gateway → orders from every request, sampled or not', async () => {
    const graph = await getJson<{ edges: ServiceGraphEdge[] }>(`${collector.apiUrl}/api/service-graph?start=${sentFromMs}000&end=${Date.now()}000`);
    const edge = graph!.edges.find((e) => e.caller === 'gateway' && e.callee === 'orders');
    expect(edge).toMatchObject({ operation: 'POST /orders', calls: REQUESTS, errors: requests.filter((r) => r.failed).length });
    // The hop through the proxy lost its parent: no edge is invented for it.
    expect(graph!.edges.find((e) => e.caller === 'orders' && e.callee === 'payments')).toBeUndefined();
  });

  it('joins the two halves of a broken trace by correlation ID', async () => {
    for (const r of requests) {
      const found = await getJson<CorrelationTraces>(`${collector.apiUrl}/api/correlations/${r.correlationId}`);
      expect(found, r.correlationId).toBeDefined();
      const all = [...found!.traces.map((t) => t.traceId), ...found!.missingTraceIds];
      expect(new Set(all)).toEqual(new Set([r.frontTraceId, r.backTraceId]));
      expect(found!.services).toEqual(['gateway', 'orders', 'payments']);
      if (r.failed) expect(found!.traces.map((t) => t.traceId)).toEqual([r.frontTraceId, r.backTraceId]);
    }
  });
});
