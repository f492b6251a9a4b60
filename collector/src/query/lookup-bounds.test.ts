/**
 * The trace-ID lookup table as the OpenTelemetry Collector's ClickHouse exporter creates it keeps
 * Start/End as DateTime (whole seconds): End is cut down to its second, before the trace's last
 * span. FlowTrace keeps such a table; every reader widens the bounds (lookup-bounds.ts) so that
 * a trace whose spans straddle a second boundary is read whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../model/span.js';
import { traceWindow } from '../analysis/hotspots.js';
import { ClickHouseExporter } from '../../../exporters/clickhouse/exporter.js';
import { openTestStore, type TestStore } from '../../../exporters/clickhouse/embedded.testing.js';
import { tableName, TRACE_ID_SUFFIX } from '../../../exporters/clickhouse/schema.js';
import { JaegerReads } from './jaeger/reads.js';
import { readSkeleton } from './skeleton-routes.js';
import { TraceStore } from './trace-store.js';

const TRACE = 'abcdef0123456789abcdef0123456789';
/** A whole second, some minutes ago. */
const SECOND_NS = BigInt(Math.floor(Date.now() / 1000) - 300) * 1_000_000_000n;
/** Starts at sub-second offsets around the boundary: 0.3 s before, then 0.2, 0.9 and 1.4 s after. */
const OFFSETS_MS = [-300n, 200n, 900n, 1400n];

let store: TestStore;
const databases = { otel: 'otel_made', flowtrace: 'flowtrace_made' };

function span(i: number, offsetMs: bigint): Span {
  const start = SECOND_NS + offsetMs * 1_000_000n + 123_456n;
  return {
    resource: { attributes: { 'service.name': 'edge' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'edge' },
    scope: { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    traceId: TRACE,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? '' : '0000000000000001',
    traceState: '',
    flags: 0,
    name: `op-${i}`,
    kind: 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_000n,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
  };
}

function config(database: string) {
  return { url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays: 7, concurrency: 1 };
}

beforeAll(async () => {
  store = openTestStore('ft-bounds-');
  // The lookup table exactly as the OpenTelemetry Collector exporter creates it, before FlowTrace starts on that database.
  await store.clients.writer.command({ query: `CREATE DATABASE ${databases.otel}` });
  await store.clients.writer.command({
    query: `CREATE TABLE ${databases.otel}.otel_traces_trace_id_ts (
      TraceId String CODEC(ZSTD(1)), Start DateTime CODEC(Delta, ZSTD(1)), End DateTime CODEC(Delta, ZSTD(1)),
      INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
    ) ENGINE = MergeTree() PARTITION BY toDate(Start) ORDER BY (TraceId, Start)
    TTL toDateTime(Start) + toIntervalDay(180) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
  });
  for (const database of Object.values(databases)) {
    const exporter = new ClickHouseExporter(store.clients, config(database));
    await exporter.start();
    await exporter.consume(OFFSETS_MS.map((offset, i) => span(i, offset)));
  }
}, 120_000);
afterAll(async () => store?.close());

describe.each(Object.entries(databases))('trace bounds from a lookup table made by %s', (made, database) => {
  const tables = () => ({ traces: tableName(config(database)), traceIds: tableName(config(database), TRACE_ID_SUFFIX) });

  it('keeps the column type it found', async () => {
    const [row] = await (
      await store.clients.reader.query({ query: `SELECT toTypeName(End) AS t FROM ${tables().traceIds} LIMIT 1`, format: 'JSONEachRow' })
    ).json<{ t: string }>();
    expect(row!.t).toBe(made === 'otel' ? 'DateTime' : 'DateTime64(9)');
  });

  it('reads every span of a trace that crosses a second boundary', async () => {
    const store_ = new TraceStore(store.clients.reader, tables());
    const location = await store_.locate(TRACE);
    expect(location?.spans).toBe(4);
    expect((await store_.getTrace(TRACE))?.map((s) => s.name)).toEqual(['op-0', 'op-1', 'op-2', 'op-3']);
    expect((await store_.getTrace(TRACE, location))?.length).toBe(4);
    const [summary] = await store_.searchTraces({ service: 'edge', tags: [], startNs: SECOND_NS - 10_000_000_000n, endNs: SECOND_NS + 10_000_000_000n, limit: 10 });
    expect(summary?.spanCount).toBe(4);
    const jaeger = await new JaegerReads(store.clients.reader, tables()).traces([TRACE], 100);
    expect(jaeger[0]?.rows).toHaveLength(4);
    const skeleton = await readSkeleton(store.clients.reader, { traceId: TRACE, ...tables() });
    expect(skeleton).toBeDefined();
    expect(JSON.stringify(skeleton)).toContain('op-3');
    const window = await traceWindow(store.clients.reader, tables().traceIds, TRACE);
    expect(window).toBeDefined();
    expect(window!.startNs).toBeLessThanOrEqual(SECOND_NS - 300_000_000n + 123_456n);
    expect(window!.endNs).toBeGreaterThanOrEqual(SECOND_NS + 1_400_000_000n + 123_456n);
  });
});
