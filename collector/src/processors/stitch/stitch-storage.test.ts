import { RecordedDrops } from '../../pipeline/drops.testing.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackApiAuth } from '../../auth/api-auth.testing.js';
import { ClickHouseExporter, openClickHouse, tableName, TRACE_ID_SUFFIX, type ClickHouseClients, type ClickHouseConfig } from '../../../../exporters/clickhouse/index.js';
import { SpanKind, type Span } from '../../model/span.js';
import { createQueryApi } from '../../query/api.js';
import { adjustClockSkew } from '../../query/stitch-routes.js';
import { TraceStore } from '../../query/trace-store.js';
import { ReadScopes } from '../../query/read-scope.js';
import { userSqlConfigSchema } from '../../query/sql/config.js';
import { UserSql } from '../../query/sql/user-sql.js';
import { CollectorMetrics } from '../../telemetry.js';
import type { ProcessorContext } from '../processor.js';
import { stitchConfigSchema } from './config.js';
import { StitchProcessor } from './stitch.js';
import { span, spanId, T0_NS, threeServiceTrace, traceId } from './stitch-fixtures.js';
import { migrateStitchTables, STITCH_TABLES } from './tables.js';

// One embedded engine per process: every test uses its own database inside it.
const dataDir = mkdtempSync(join(tmpdir(), 'ft-stitch-'));
let clients: ClickHouseClients;
beforeAll(() => {
  clients = openClickHouse(chConfig('default'));
});
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function chConfig(database: string): ClickHouseConfig {
  return { url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 };
}

async function rows<T>(query: string): Promise<T[]> {
  const r = await clients.reader.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
  return r.json<T>();
}

const RETENTION = { serviceGraphDays: 30, correlationsDays: 7, clockSkewDays: 7 };
const SECOND = 1_000_000_000n;
/** Retention TTLs drop old rows on insert: move the fixtures' times to a minute ago. */
const SHIFT_NS = (BigInt(Date.now()) * 1_000_000n - 60n * SECOND - T0_NS) / (60n * SECOND) * (60n * SECOND);
function recent(spans: Span[]): Span[] {
  for (const s of spans) {
    s.startTimeUnixNano += SHIFT_NS;
    s.endTimeUnixNano += SHIFT_NS;
  }
  return spans;
}

function context(database: string): ProcessorContext {
  return { logger: pino({ level: 'silent' }), registry: new Registry(), storage: { writer: clients.writer, reader: clients.reader, database }, drops: new RecordedDrops() };
}

async function storedTrace(database: string) {
  const c = chConfig(database);
  const exporter = new ClickHouseExporter(clients, c);
  await exporter.start();
  const store = new TraceStore(clients.reader, { traces: tableName(c), traceIds: tableName(c, TRACE_ID_SUFFIX) });
  return { exporter, store };
}

function readScopes(database: string): ReadScopes {
  return new ReadScopes(clients.writer, { database, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
}

function api(database: string, store: TraceStore) {
  const app = createQueryApi(
    { endpoint: '127.0.0.1:0', allowedHosts: [], corsOrigins: [] },
    {
      ...loopbackApiAuth(clients, database),
      store,
      reader: clients.reader,
      database,
      userSql: new UserSql({ engine: clients, scopeFor: () => readScopes(database).forRules({}), config: userSqlConfigSchema.parse({ max_rows: 100, max_execution_seconds: 5 }) }),
      readScopes: readScopes(database),
      metrics: new CollectorMetrics(),
      isReady: () => true,
    },
    pino({ level: 'silent' }),
  );
  return app;
}

describe('stitch side tables', () => {
  it('are created idempotently, each with its own retention, altered when it changes', async () => {
    await migrateStitchTables(clients.writer, 'stitch_schema', RETENTION);
    await migrateStitchTables(clients.writer, 'stitch_schema', RETENTION);
    const tables = await rows<{ name: string; engine: string; engine_full: string }>(
      "SELECT name, engine, engine_full FROM system.tables WHERE database = 'stitch_schema' ORDER BY name",
    );
    expect(tables.map((t) => [t.name, t.engine])).toEqual([
      ['flowtrace_clock_skew', 'ReplacingMergeTree'],
      ['flowtrace_correlations', 'AggregatingMergeTree'],
      ['flowtrace_service_graph', 'AggregatingMergeTree'],
    ]);
    expect(tables[2]!.engine_full).toContain('TTL Minute + toIntervalDay(30)');
    expect(tables[1]!.engine_full).toContain('TTL toDateTime(LastSeen) + toIntervalDay(7)');

    await migrateStitchTables(clients.writer, 'stitch_schema', { ...RETENTION, serviceGraphDays: 3 });
    const [graph] = await rows<{ engine_full: string }>("SELECT engine_full FROM system.tables WHERE database = 'stitch_schema' AND name = 'flowtrace_service_graph'");
    expect(graph!.engine_full).toContain('TTL Minute + toIntervalDay(3) ');
  });

  it('stores what stitching found, and the query API reads it back', async () => {
    const db = 'stitch_flow';
    const { exporter, store } = await storedTrace(db);
    const processor = new StitchProcessor(stitchConfigSchema.parse({ decision_wait_ms: 60_000 }), exporter, context(db));
    await processor.start();

    // Trace A: frontend → orders (its clock a second behind) → payments, correlation req-A.
    const a = recent(threeServiceTrace(1, 0, 'req-A'));
    for (const s of a.filter((x) => x.resource.serviceName === 'orders')) {
      s.startTimeUnixNano -= SECOND;
      s.endTimeUnixNano -= SECOND;
    }
    a[5]!.statusCode = 2; // payments failed
    // Trace B: a proxy dropped traceparent, so the rest of request req-A started a trace of its own.
    const b = recent([
      span({ trace: 2, id: 900, service: 'billing', kind: SpanKind.SERVER, name: 'POST /invoice', startMs: 200, endMs: 260, attributes: { 'flowtrace.correlation_id': 'req-A' } }),
      span({ trace: 2, id: 901, parent: 900, service: 'billing', startMs: 210, endMs: 250, attributes: { 'flowtrace.correlation_id': 'req-A' } }),
    ]);
    await processor.consume([...a, ...b]);
    await processor.shutdown(); // releases, hands on to storage, flushes the side tables

    const edges = await rows<{ Caller: string; Callee: string; Calls: string; Errors: string }>(
      `SELECT Caller, Callee, sum(Calls) AS Calls, sum(Errors) AS Errors FROM ${db}.${STITCH_TABLES.serviceGraph} GROUP BY Caller, Callee ORDER BY Caller`,
    );
    expect(edges).toEqual([
      { Caller: 'frontend', Callee: 'orders', Calls: '1', Errors: '0' },
      { Caller: 'orders', Callee: 'payments', Calls: '1', Errors: '1' },
    ]);

    const app = api(db, store);
    const startUs = ((T0_NS + SHIFT_NS) / 1000n - 60_000_000n).toString();
    const endUs = ((T0_NS + SHIFT_NS) / 1000n + 60_000_000n).toString();
    const graph = await app.inject({ method: 'GET', url: `/api/service-graph?start=${startUs}&end=${endUs}` });
    expect(graph.statusCode).toBe(200);
    expect(graph.json().edges).toEqual([
      { caller: 'frontend', callee: 'orders', operation: 'POST /orders', calls: 1, errors: 0, avgMs: 70, p50Ms: 70, p90Ms: 70, p99Ms: 70 },
      { caller: 'orders', callee: 'payments', operation: 'POST /pay', calls: 1, errors: 1, avgMs: 30, p50Ms: 30, p90Ms: 30, p99Ms: 30 },
    ]);
    const filtered = await app.inject({ method: 'GET', url: `/api/service-graph?start=${startUs}&end=${endUs}&service=payments` });
    expect(filtered.json().edges.map((e: { callee: string }) => e.callee)).toEqual(['payments']);
    const before = await app.inject({ method: 'GET', url: `/api/service-graph?end=${startUs}&lookback=1h` });
    expect(before.json().edges).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/api/service-graph?start=yesterday' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/api/service-graph?start=${endUs}&end=${startUs}` })).statusCode).toBe(400);

    // Every trace of the correlation ID, with summaries; the later one links to the earlier.
    const corr = await app.inject({ method: 'GET', url: '/api/correlations/req-A' });
    expect(corr.statusCode).toBe(200);
    const body = corr.json();
    expect(body.traces.map((t: { traceId: string }) => t.traceId)).toEqual([traceId(1), traceId(2)]);
    expect(body.traces[0]).toMatchObject({ rootServiceName: 'frontend', spanCount: 6, errorCount: 1 });
    expect(body.services).toEqual(['billing', 'frontend', 'orders', 'payments']);
    expect(body.missingTraceIds).toEqual([]);
    const bStored = await store.getTrace(traceId(2));
    expect(bStored!.find((s) => s.spanId === spanId(900))!.links).toEqual([
      expect.objectContaining({ traceId: traceId(1), spanId: spanId(101), attributes: { 'flowtrace.link.reason': 'correlation_id', 'flowtrace.correlation_id': 'req-A' } }),
    ]);
    expect((await app.inject({ method: 'GET', url: '/api/correlations/nope' })).statusCode).toBe(404);
    // Fastify refuses a path parameter over its maxParamLength (100) with 414 before the route's own 512 check.
    expect([400, 414]).toContain((await app.inject({ method: 'GET', url: `/api/correlations/${'x'.repeat(600)}` })).statusCode);
    expect((await app.inject({ method: 'GET', url: '/api/correlations/req-A?limit=0' })).statusCode).toBe(400);

    // Clock skew: adjusted on request, stored times untouched.
    const stored = (await store.getTrace(traceId(1)))!;
    const adjusted = await adjustClockSkew(clients.reader, db, stored);
    const start = (spans: typeof stored, id: number) => BigInt(spans.find((s) => s.spanId === spanId(id))!.startTimeUnixNano);
    for (const id of [103, 104, 105]) expect(start(adjusted, id) - start(stored, id)).toBe(SECOND);
    for (const id of [101, 102, 106]) expect(start(adjusted, id)).toBe(start(stored, id));
    expect(start((await store.getTrace(traceId(1)))!, 103)).toBe(a[2]!.startTimeUnixNano);
    // The same through the query API, on request only.
    const viaApi = async (query: string) => (await app.inject({ method: 'GET', url: `/api/traces/${traceId(1)}${query}` })).json().spans as typeof stored;
    expect(start(await viaApi('?adjust=clock-skew'), 103) - start(await viaApi(''), 103)).toBe(SECOND);
    expect((await app.inject({ method: 'GET', url: `/api/traces/${traceId(1)}?adjust=everything` })).statusCode).toBe(400);
    await app.close();
  });

  it('answers "nothing" rather than failing before the side tables exist', async () => {
    const db = 'stitch_none';
    const { store } = await storedTrace(db);
    const app = api(db, store);
    expect((await app.inject({ method: 'GET', url: '/api/correlations/req-A' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/service-graph' })).json().edges).toEqual([]);
    const spans = [{ traceId: traceId(1), spanId: spanId(1), parentSpanId: '', serviceName: 's', startTimeUnixNano: '1', endTimeUnixNano: '2', events: [] }];
    const views = spans as unknown as Parameters<typeof adjustClockSkew>[2];
    expect(await adjustClockSkew(clients.reader, db, views)).toBe(views);
    await app.close();
  });

  it('keeps side-table rows through a failing ClickHouse and writes them once it is back', async () => {
    const db = 'stitch_retry';
    const { exporter } = await storedTrace(db);
    const ctx = context(db);
    let now = Date.now();
    const processor = new StitchProcessor(stitchConfigSchema.parse({ decision_wait_ms: 10, flush: { interval_ms: 10 } }), exporter, ctx, { clock: () => now });
    await processor.start();
    await clients.writer.command({ query: `DROP TABLE ${db}.${STITCH_TABLES.correlations}` });
    await processor.consume(recent(threeServiceTrace(3, 0, 'req-R')));
    await processor.tick((now += 20));
    const failures = await ctx.registry.getSingleMetric('flowtrace_processor_stitch_write_failures_total')!.get();
    expect(failures.values.find((v) => v.labels.table === STITCH_TABLES.correlations)?.value).toBe(1);

    await migrateStitchTables(clients.writer, db, RETENTION);
    await processor.tick((now += 1_000)); // the first retry is due a second later
    await processor.shutdown();
    const found = await rows<{ TraceId: string }>(`SELECT TraceId FROM ${db}.${STITCH_TABLES.correlations} WHERE CorrelationId = 'req-R'`);
    expect(found).toEqual([{ TraceId: traceId(3) }]);
  });
});
