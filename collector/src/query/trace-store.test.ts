/**
 * TraceStore.locate on the embedded engine: the span count that lets analysis refuse an
 * oversized trace before loading it, counted from otel_traces (the lookup table holds one row
 * per trace per insert, not per span), and getTrace reading through a known location.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseExporter, openClickHouse, tableName, TRACE_ID_SUFFIX, type ClickHouseClients, type ClickHouseConfig } from '../../../exporters/clickhouse/index.js';
import { span, traceId } from '../processors/stitch/stitch-fixtures.js';
import { TraceStore } from './trace-store.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ft-trace-store-'));
let clients: ClickHouseClients;
let store: TraceStore;
let exporter: ClickHouseExporter;

beforeAll(async () => {
  // The fixtures' times are in November 2026: a long retention keeps the TTL from dropping them.
  const config: ClickHouseConfig = { url: '', username: 'default', password: '', database: 'trace_store_test', tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
  clients = openClickHouse(config);
  exporter = new ClickHouseExporter(clients, config);
  await exporter.start();
  store = new TraceStore(clients.reader, { traces: tableName(config), traceIds: tableName(config, TRACE_ID_SUFFIX) });
  // Trace 1: three spans in one insert. Trace 2: five spans over two inserts (two lookup rows).
  await exporter.consume([1, 2, 3].map((id) => span({ trace: 1, id, parent: id === 1 ? 0 : 1, service: 'a', startMs: id, endMs: id + 10 })));
  await exporter.consume([1, 2, 3].map((id) => span({ trace: 2, id, parent: id === 1 ? 0 : 1, service: 'a', startMs: 100 + id, endMs: 200 })));
  await exporter.consume([4, 5].map((id) => span({ trace: 2, id, parent: 1, service: 'b', startMs: 150 + id, endMs: 180 })));
});
afterAll(async () => {
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('TraceStore.locate', () => {
  it('counts the spans of a trace, whatever number of inserts it came in', async () => {
    expect(await store.locate(traceId(1))).toMatchObject({ traceId: traceId(1), spans: 3 });
    const two = await store.locate(traceId(2));
    expect(two?.spans).toBe(5);
    const [lookupRows] = await (await clients.reader.query({ query: `SELECT count() AS n FROM trace_store_test.otel_traces_trace_id_ts WHERE TraceId = '${traceId(2)}'`, format: 'JSONEachRow' })).json<{ n: number }>();
    expect(Number(lookupRows!.n)).toBe(2);
  });

  it('answers undefined for a trace that is not stored', async () => {
    expect(await store.locate(traceId(99))).toBeUndefined();
  });

  it('gives getTrace bounds that read the same spans as without them', async () => {
    const location = (await store.locate(traceId(2)))!;
    const direct = await store.getTrace(traceId(2));
    const located = await store.getTrace(traceId(2), location);
    expect(located).toHaveLength(5);
    expect(located).toEqual(direct);
    // A location of another trace is not used for this one.
    expect(await store.getTrace(traceId(1), location)).toHaveLength(3);
    expect(await store.getTrace(traceId(99))).toBeUndefined();
  });
});
