import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../collector/src/model/log-record.js';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { ClickHouseLogsExporter } from './logs-exporter.js';
import { encodeLogRows } from './logs-rowbinary.js';
import { LOGS_TABLE, migrateLogs } from './logs-schema.js';

// The real engine: rows encoded here must be read back by ClickHouse as the records that were sent.
let store: TestStore;
const DB = 'logs_rows';
beforeAll(async () => {
  store = openTestStore('ft-logs-rows-');
  await store.clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  await migrateLogs(store.clients.writer, { database: DB, retentionDays: 7 });
});
afterAll(() => store.close());

const resource = { attributes: { 'service.name': 'checkout', 'host.cores': '4' }, attributeKinds: { 'host.cores': 'int' as const }, droppedAttributesCount: 2, schemaUrl: 'https://opentelemetry.io/schemas/1.30.0', serviceName: 'checkout' };
const scope = { name: 'app.orders', version: '1.2.3', attributes: { lib: 'pino' }, droppedAttributesCount: 0, schemaUrl: '' };
const now = BigInt(Date.now()) * 1_000_000n;

const RECORDS: LogRecord[] = [
  {
    resource,
    scope,
    timeUnixNano: now + 123n,
    observedTimeUnixNano: now + 456n,
    severityNumber: 17,
    severityText: 'ERROR',
    body: 'payment failed — ünïcödé, long '.padEnd(300, 'x'),
    attributes: { 'order.id': '42', 'flowtrace.correlation_id': 'corr-7', note: '' },
    attributeKinds: { 'order.id': 'int' },
    droppedAttributesCount: 1,
    flags: 0x101,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    eventName: 'payment.failed',
  },
  {
    resource,
    scope,
    timeUnixNano: 0n, // stored under its observed time, as the OpenTelemetry exporter does
    observedTimeUnixNano: now,
    severityNumber: 9,
    severityText: '',
    body: '{"a":[1,2]}',
    bodyKind: 'kvlist',
    attributes: {},
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
  },
];

interface Row {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  TraceFlags: number;
  SeverityText: string;
  SeverityNumber: number;
  ServiceName: string;
  Body: string;
  ResourceAttributes: Record<string, string>;
  ResourceSchemaUrl: string;
  ResourceDroppedAttributesCount: number;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttributes: Record<string, string>;
  LogAttributes: Record<string, string>;
  EventName: string;
  ObservedTimestamp: string;
  Flags: number;
  DroppedAttributesCount: number;
  AttributeKinds: Record<string, string>;
  CorrelationId: string;
  TimestampTime: number;
}

describe('otel_logs RowBinary', () => {
  it('inserts rows that read back as the records sent, once per batch ID', async () => {
    const exporter = new ClickHouseLogsExporter(store.clients, { database: DB });
    const rows = encodeLogRows(RECORDS);
    // Two records of one batch, sent twice (a retry after a crash): stored once.
    await exporter.sendRecords([rows.subarray(0, rows.length)], 2, 'batch-1');
    await exporter.sendRecords([rows], 2, 'batch-1');
    const result = await store.clients.reader.query({
      query: `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
        ResourceAttributes, ResourceSchemaUrl, ResourceDroppedAttributesCount, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, EventName,
        toString(toUnixTimestamp64Nano(ObservedTimestamp)) AS ObservedTimestamp, Flags, DroppedAttributesCount, AttributeKinds, CorrelationId, toUnixTimestamp(TimestampTime) AS TimestampTime
        FROM ${DB}.${LOGS_TABLE} ORDER BY SeverityNumber DESC`,
      format: 'JSONEachRow',
    });
    const got = await result.json<Row>();
    expect(got).toHaveLength(2);
    const [error, info] = got;
    expect(error).toMatchObject({
      Timestamp: String(now + 123n),
      TraceId: RECORDS[0]!.traceId,
      SpanId: RECORDS[0]!.spanId,
      TraceFlags: 1,
      SeverityText: 'ERROR',
      SeverityNumber: 17,
      ServiceName: 'checkout',
      Body: RECORDS[0]!.body,
      ResourceAttributes: resource.attributes,
      ResourceSchemaUrl: resource.schemaUrl,
      ResourceDroppedAttributesCount: 2,
      ScopeName: 'app.orders',
      ScopeVersion: '1.2.3',
      ScopeAttributes: { lib: 'pino' },
      LogAttributes: RECORDS[0]!.attributes,
      EventName: 'payment.failed',
      ObservedTimestamp: String(now + 456n),
      Flags: 0x101,
      DroppedAttributesCount: 1,
      AttributeKinds: { 'log:order.id': 'int', 'resource:host.cores': 'int' },
      CorrelationId: 'corr-7',
    });
    expect(info).toMatchObject({ Timestamp: String(now), Body: '{"a":[1,2]}', AttributeKinds: { 'resource:host.cores': 'int', body: 'kvlist' }, CorrelationId: '', TraceId: '' });
    // TimestampTime is the engine's DEFAULT from Timestamp: the TTL and partition work on it.
    expect(info!.TimestampTime).toBe(Number(now / 1_000_000_000n));
  });
});
