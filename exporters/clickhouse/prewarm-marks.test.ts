import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { INSERT_COLUMNS, encodeRowBinary } from './rowbinary.js';
import { migrate, tableName, TRACE_ID_SUFFIX } from './schema.js';
import type { ClickHouseConfig } from './config.js';
import { testSpan } from '../../collector/src/model/span.testing.js';

let store: TestStore;
beforeAll(() => {
  store = openTestStore('ft-prewarm-');
});
afterAll(async () => {
  await store.close();
});

const config = (database: string): ClickHouseConfig => ({ url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays: 7, concurrency: 1 });

async function rows<T>(query: string): Promise<T[]> {
  return (await store.clients.reader.query({ query, format: 'JSONEachRow' })).json<T>();
}

const markCacheMisses = async () => Number((await rows<{ value: string }>(`SELECT value FROM system.events WHERE event = 'MarkCacheMisses'`))[0]?.value ?? 0);

describe('mark cache of the span table', () => {
  it('is filled when a part is written, so the first read of a trace does not load marks from disk', async () => {
    const c = config('prewarm');
    await migrate(store.clients.writer, c);
    await migrate(store.clients.writer, c); // idempotent
    for (const table of ['otel_traces', `otel_traces${TRACE_ID_SUFFIX}`]) {
      const [row] = await rows<{ engine_full: string }>(`SELECT engine_full FROM system.tables WHERE database = 'prewarm' AND name = '${table}'`);
      expect(row!.engine_full.match(/prewarm_mark_cache = 1/g), table).toHaveLength(1);
    }
    const now = BigInt(Date.now()) * 1_000_000n;
    const traceId = '5b8efff798038103d269b633813fc60c';
    await store.clients.insertRowBinary(tableName(c), INSERT_COLUMNS, encodeRowBinary([
        testSpan({
          resource: { attributes: { 'service.name': 'svc' }, attributeKinds: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'svc' },
          scope: { name: 'lib', version: '1', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
          traceId,
          spanId: 'eee19b7ec3c1b174',
          name: 'GET /x',
          kind: 2,
          startTimeUnixNano: now,
          endTimeUnixNano: now + 1000n,
          attributes: { 'http.route': '/x' },
        }),
      ]));

    const before = await markCacheMisses();
    const found = await rows<{ n: string }>(`SELECT count() AS n FROM (SELECT * FROM ${tableName(c)} WHERE TraceId = '${traceId}')`);
    const lookup = await rows<{ n: string }>(`SELECT count() AS n FROM (SELECT * FROM ${tableName(c, TRACE_ID_SUFFIX)} WHERE TraceId = '${traceId}')`);
    expect([found[0]!.n, lookup[0]!.n].map(Number)).toEqual([1, 1]);
    expect(await markCacheMisses()).toBe(before);
  });
});
