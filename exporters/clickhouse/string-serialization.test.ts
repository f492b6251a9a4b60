import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { INSERT_COLUMNS, encodeRowBinary } from './rowbinary.js';
import { migrate, tableName } from './schema.js';
import type { ClickHouseConfig } from './config.js';
import type { Span } from '../../collector/src/model/span.js';
import { testSpan } from '../../collector/src/model/span.testing.js';

let store: TestStore;
beforeAll(() => {
  store = openTestStore('ft-strser-');
});
afterAll(async () => {
  await store.close();
});

const config = (database: string): ClickHouseConfig => ({ url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays: 7, concurrency: 1 });

async function rows<T>(query: string): Promise<T[]> {
  return (await store.clients.reader.query({ query, format: 'JSONEachRow' })).json<T>();
}

const engineFull = async (database: string) => (await rows<{ engine_full: string }>(`SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = 'otel_traces'`))[0]!.engine_full;

/** The substreams of the TraceId column in the table's active parts ('TraceId.size' when sizes are a stream of their own). */
const traceIdStreams = async (database: string) =>
  (await rows<{ substreams: string[] }>(`SELECT substreams FROM system.parts_columns WHERE database = '${database}' AND table = 'otel_traces' AND active AND column = 'TraceId'`)).flatMap((r) => r.substreams).sort();

function span(traceId: string): Span {
  const now = BigInt(Date.now()) * 1_000_000n;
  return testSpan({
    resource: { attributes: { 'service.name': 'svc' }, attributeKinds: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'svc' },
    scope: { name: 'lib', version: '1', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    traceId,
    spanId: 'b7ad6b7169203331',
    name: 'GET /x',
    kind: 2,
    startTimeUnixNano: now,
    endTimeUnixNano: now + 1000n,
    attributes: { 'http.route': '/x' },
  });
}

describe('string serialization of the span table', () => {
  it('writes strings with their sizes inline, on a new table and on one that had the size-stream format, idempotently', async () => {
    // A table as an earlier version left it: strings with a size stream (the engine's default).
    const legacy = config('strser_legacy');
    await migrate(store.clients.writer, legacy);
    await store.clients.writer.command({ query: `ALTER TABLE ${tableName(legacy)} MODIFY SETTING string_serialization_version = 'with_size_stream'` });
    await store.clients.insertRowBinary(tableName(legacy), INSERT_COLUMNS, encodeRowBinary([span('0af7651916cd43dd8448eb211c80319c')]));
    expect(await traceIdStreams('strser_legacy')).toEqual(['TraceId', 'TraceId.size']);

    await migrate(store.clients.writer, legacy);
    await migrate(store.clients.writer, config('strser_new'));
    for (const database of ['strser_legacy', 'strser_new']) {
      const engine = await engineFull(database);
      expect(engine).toContain("string_serialization_version = 'single_stream'");
      expect(engine.match(/string_serialization_version/g)).toHaveLength(1);
    }
    // New parts, and merges of old ones, are written inline; every span reads back.
    await store.clients.insertRowBinary(tableName(legacy), INSERT_COLUMNS, encodeRowBinary([span('1af7651916cd43dd8448eb211c80319c')]));
    await store.clients.writer.command({ query: `OPTIMIZE TABLE ${tableName(legacy)} FINAL` });
    expect(await traceIdStreams('strser_legacy')).toEqual(['TraceId']);
    const read = await rows<{ TraceId: string; route: string }>(`SELECT TraceId, SpanAttributes['http.route'] AS route FROM ${tableName(legacy)} ORDER BY TraceId`);
    expect(read).toEqual([
      { TraceId: '0af7651916cd43dd8448eb211c80319c', route: '/x' },
      { TraceId: '1af7651916cd43dd8448eb211c80319c', route: '/x' },
    ]);
  });
});
