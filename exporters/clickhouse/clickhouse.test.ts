import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../collector/src/model/span.js';
import type { ClickHouseConfig } from './config.js';
import { openClickHouse, type ClickHouseClients } from './connection.js';
import { ClickHouseExporter } from './exporter.js';
import { FLOWTRACE_COLUMNS, migrate, tableName } from './schema.js';
import { SPAN_COLUMNS, spanView, type SpanRow } from '../../collector/src/query/span-view.js';

// One embedded engine per process: every test uses its own database inside it.
const dataDir = mkdtempSync(join(tmpdir(), 'ft-ch-'));
let clients: ClickHouseClients;
beforeAll(() => {
  clients = openClickHouse(config('default'));
});
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function config(database: string, retentionDays = 7): ClickHouseConfig {
  return { url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir, retentionDays, concurrency: 1 };
}

async function rows<T>(query: string): Promise<T[]> {
  const r = await clients.reader.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
  return r.json<T>();
}

function span(overrides: Partial<Span> = {}): Span {
  const now = BigInt(Date.now()) * 1_000_000n + 123n;
  return {
    resource: { attributes: { 'service.name': 'svc', 'host.cpus': '8' }, attributeKinds: { 'host.cpus': 'int' }, droppedAttributesCount: 1, schemaUrl: 'https://r', serviceName: 'svc' },
    scope: { name: 'lib', version: '1.0', attributes: { 'scope.k': 'v' }, droppedAttributesCount: 0, schemaUrl: 'https://s' },
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: 'a=1',
    flags: 257,
    name: 'GET /x',
    kind: 2,
    startTimeUnixNano: now,
    endTimeUnixNano: now + 1_500_000n,
    attributes: { 'text': 'quote " backslash \\ newline \n tab \t unicode ☕ \u0001', 'n': '42' },
    attributeKinds: { n: 'int' },
    droppedAttributesCount: 2,
    events: [{ timeUnixNano: now + 1n, name: 'ev', attributes: { a: 'b' }, droppedAttributesCount: 3 }],
    droppedEventsCount: 4,
    links: [{ traceId: '11111111111111111111111111111111', spanId: '2222222222222222', traceState: 'l=2', flags: 1, attributes: { x: 'true' }, attributeKinds: { x: 'bool' }, droppedAttributesCount: 5 }],
    droppedLinksCount: 6,
    statusCode: 2,
    statusMessage: 'boom',
    ...overrides,
  };
}

describe('ClickHouse exporter', () => {
  it('creates the OpenTelemetry exporter schema, idempotently', async () => {
    const c = config('schema_test');
    await migrate(clients.writer, c);
    await migrate(clients.writer, c);
    const tables = await rows<{ name: string; engine: string }>("SELECT name, engine FROM system.tables WHERE database = 'schema_test' ORDER BY name");
    expect(tables).toEqual([
      // The attribute-key catalog (collector/src/query/search/catalog-table.ts), on unless storage.attribute_catalog is false.
      { name: 'flowtrace_attribute_catalog', engine: 'AggregatingMergeTree' },
      { name: 'flowtrace_attribute_catalog_resource_mv', engine: 'MaterializedView' },
      { name: 'flowtrace_attribute_catalog_span_mv', engine: 'MaterializedView' },
      // Logs beside the spans (logs-schema.ts).
      { name: 'otel_logs', engine: 'MergeTree' },
      { name: 'otel_traces', engine: 'MergeTree' },
      { name: 'otel_traces_trace_id_ts', engine: 'MergeTree' },
      { name: 'otel_traces_trace_id_ts_mv', engine: 'MaterializedView' },
    ]);
    const [meta] = await rows<{ partition_key: string; sorting_key: string }>(
      "SELECT partition_key, sorting_key FROM system.tables WHERE database = 'schema_test' AND name = 'otel_traces'",
    );
    expect(meta).toEqual({ partition_key: 'toDate(Timestamp)', sorting_key: 'ServiceName, SpanName, toDateTime(Timestamp)' });
    const indexes = await rows<{ name: string }>("SELECT name FROM system.data_skipping_indices WHERE database = 'schema_test' AND table = 'otel_traces' ORDER BY name");
    // The exporter's own, plus one per hot attribute column (collector/src/storage/hot-attributes/).
    const hot = ['idx_attr_db_system', 'idx_attr_flowtrace_correlation_id', 'idx_attr_http_route', 'idx_attr_peer_service'];
    expect(indexes.map((i) => i.name)).toEqual([...hot, 'idx_duration', 'idx_res_attr_key', 'idx_res_attr_value', 'idx_span_attr_key', 'idx_span_attr_value', 'idx_trace_id']);
  });

  it('upgrades a table created by the OpenTelemetry exporter with FlowTrace columns', async () => {
    await clients.writer.command({ query: 'CREATE DATABASE IF NOT EXISTS legacy' });
    await clients.writer.command({
      query: `CREATE TABLE legacy.otel_traces (Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String, TraceState String,
        SpanName LowCardinality(String), SpanKind LowCardinality(String), ServiceName LowCardinality(String),
        ResourceAttributes Map(LowCardinality(String), String), ScopeName String, ScopeVersion String,
        SpanAttributes Map(LowCardinality(String), String), Duration UInt64, StatusCode LowCardinality(String), StatusMessage String,
        Events Nested (Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String)),
        Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String)))
        ENGINE = MergeTree PARTITION BY toDate(Timestamp) ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))`,
    });
    await migrate(clients.writer, config('legacy'));
    const columns = await rows<{ name: string }>("SELECT name FROM system.columns WHERE database = 'legacy' AND table = 'otel_traces'");
    for (const [name] of FLOWTRACE_COLUMNS) expect(columns.map((c) => c.name)).toContain(name);
    // Small compressed blocks for trace reads by ID, set on the existing table as on a new one.
    for (const database of ['legacy', 'schema_test']) {
      const [table] = await rows<{ engine_full: string }>(`SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = 'otel_traces'`);
      expect(table!.engine_full).toContain('min_compress_block_size = 8192');
      expect(table!.engine_full).toContain('max_compress_block_size = 65536');
    }
  });

  it('stores every field, escaping what needs it', async () => {
    const c = config('insert_test');
    const exporter = new ClickHouseExporter(clients, c);
    await exporter.start();
    const s = span();
    const other = span({ spanId: 'c7ad6b7169203332', parentSpanId: s.spanId, name: 'child', kind: 1, events: [], links: [], attributes: {}, attributeKinds: undefined, statusCode: 0, statusMessage: '' });
    await exporter.consume([s, other]);
    const [row] = await rows<Record<string, unknown>>(
      `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, * EXCEPT Timestamp FROM ${tableName(c)} WHERE SpanId = '${s.spanId}'`,
    );
    expect(row).toMatchObject({
      ts: String(s.startTimeUnixNano),
      TraceId: s.traceId,
      ParentSpanId: '',
      TraceState: 'a=1',
      SpanName: 'GET /x',
      SpanKind: 'Server',
      ServiceName: 'svc',
      ResourceAttributes: { 'service.name': 'svc', 'host.cpus': '8' },
      ScopeName: 'lib',
      ScopeVersion: '1.0',
      SpanAttributes: s.attributes,
      Duration: '1500000',
      StatusCode: 'Error',
      StatusMessage: 'boom',
      'Events.Name': ['ev'],
      'Events.Attributes': [{ a: 'b' }],
      'Links.TraceId': ['11111111111111111111111111111111'],
      'Links.TraceState': ['l=2'],
      SpanFlags: 257,
      DroppedAttributesCount: 2,
      DroppedEventsCount: 4,
      DroppedLinksCount: 6,
      ResourceSchemaUrl: 'https://r',
      ResourceDroppedAttributesCount: 1,
      ScopeAttributes: { 'scope.k': 'v' },
      ScopeSchemaUrl: 'https://s',
      EventsDroppedAttributesCount: [3],
      LinksFlags: [1],
      LinksDroppedAttributesCount: [5],
      AttributeKinds: { 'span:n': 'int', 'resource:host.cpus': 'int', 'link.0:x': 'bool' },
    });
    const lookup = await rows<{ TraceId: string }>(`SELECT TraceId FROM ${tableName(c, '_trace_id_ts')}`);
    expect(lookup.map((r) => r.TraceId)).toContain(s.traceId);
  });

  it('keeps an end sent before the start: Duration 0, the end read back as sent and flagged', async () => {
    const c = config('end_before_start');
    const exporter = new ClickHouseExporter(clients, c);
    await exporter.start();
    const start = span().startTimeUnixNano;
    const backwards = span({ spanId: '0000000000000001', endTimeUnixNano: start - 2_500n });
    const noEnd = span({ spanId: '0000000000000002', endTimeUnixNano: 0n });
    const normal = span({ spanId: '0000000000000003' });
    await exporter.consume([backwards, noEnd, normal]);
    const views = (await rows<SpanRow>(`SELECT ${SPAN_COLUMNS} FROM ${tableName(c)} ORDER BY SpanId`)).map(spanView);
    expect(views.map((v) => [v.endTimeUnixNano, v.durationNano, v.endBeforeStart])).toEqual([
      [String(start - 2_500n), '0', true],
      ['0', '0', true],
      [String(normal.endTimeUnixNano), '1500000', undefined],
    ]);
    expect(Object.keys(views[2]!)).not.toContain('endBeforeStart');
  });

  it('stores rows an older collector queued (record format 1, without EndBeforeStart)', async () => {
    const c = config('queued_before_upgrade');
    const exporter = new ClickHouseExporter(clients, c);
    await exporter.start();
    // EndBeforeStart is the last column, a UInt64: a row of the old format is the new one without its last 8 bytes.
    const row = exporter.encode([span()]);
    await exporter.send(Buffer.from(row.subarray(0, row.length - 8)), 1, 'old-batch', 1);
    const views = (await rows<SpanRow>(`SELECT ${SPAN_COLUMNS} FROM ${tableName(c)}`)).map(spanView);
    expect(views.map((v) => [v.spanId, v.name, v.endBeforeStart])).toEqual([[span().spanId, 'GET /x', undefined]]);
  });

  it('stores long strings and large maps whole', async () => {
    const c = config('long_test');
    const exporter = new ClickHouseExporter(clients, c);
    await exporter.start();
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key.${i}`, `value ${i}`]));
    const medium = 'é'.repeat(100); // 200 bytes: a two-byte length
    const long = 'x'.repeat(70_000); // a three-byte length
    await exporter.consume([span({ attributes: { ...many, medium, long }, attributeKinds: undefined, name: long })]);
    const [row] = await rows<{ n: string; medium: string; long: string; name: string }>(
      `SELECT length(SpanAttributes) AS n, SpanAttributes['medium'] AS medium, SpanAttributes['long'] AS long, SpanName AS name FROM ${tableName(c)}`,
    );
    expect(row).toEqual({ n: '302', medium, long, name: long });
  });

  it('changes the TTL only when the retention changes', async () => {
    const ttlOf = async () =>
      (await rows<{ engine_full: string }>("SELECT engine_full FROM system.tables WHERE database = 'ttl_test' AND name = 'otel_traces'"))[0]!.engine_full;
    await migrate(clients.writer, config('ttl_test', 7));
    expect(await ttlOf()).toContain('TTL toDateTime(Timestamp) + toIntervalDay(7)');
    await migrate(clients.writer, config('ttl_test', 14));
    expect(await ttlOf()).toContain('TTL toDateTime(Timestamp) + toIntervalDay(14)');
  });

  it('stores a batch sent twice with the same batch ID once, down to the trace-ID table', async () => {
    const c = config('dedup_test');
    const exporter = new ClickHouseExporter(clients, c);
    await exporter.start();
    const a = exporter.encode([span({ spanId: '00000000000000a1' }), span({ spanId: '00000000000000a2' })]);
    const b = exporter.encode([span({ spanId: '00000000000000b1', traceId: 'f'.repeat(32) })]);
    const payload = Buffer.concat([a, b]); // queue records concatenate into one INSERT
    await exporter.send(payload, 3, 'q1-1-2');
    await exporter.send(payload, 3, 'q1-1-2'); // retried after a crash: same ID
    await exporter.send(Buffer.from(a), 2, 'q1-3-3'); // the same rows in another batch are another insert
    const [traces] = await rows<{ n: string }>(`SELECT count() AS n FROM ${tableName(c)}`);
    const [lookup] = await rows<{ n: string }>(`SELECT count() AS n FROM ${tableName(c, '_trace_id_ts')}`);
    expect([traces!.n, lookup!.n]).toEqual(['5', '3']);
  });

  it('inserts a batch given as its records, unconcatenated, as the same rows and under the same dedup token', async () => {
    const c = config('records_test');
    const exporter = new ClickHouseExporter(clients, c);
    await exporter.start();
    const a = Buffer.from(exporter.encode([span({ spanId: '00000000000000a1' }), span({ spanId: '00000000000000a2' })]));
    const b = Buffer.from(exporter.encode([span({ spanId: '00000000000000b1' })]));
    await exporter.sendRecords([a, b], 3, 'q2-1-2');
    await exporter.send(Buffer.concat([a, b]), 3, 'q2-1-2'); // the same batch, concatenated: deduplicated
    const stored = await rows<{ SpanId: string }>(`SELECT SpanId FROM ${tableName(c)} ORDER BY SpanId`);
    expect(stored.map((r) => r.SpanId)).toEqual(['00000000000000a1', '00000000000000a2', '00000000000000b1']);
  });
});
