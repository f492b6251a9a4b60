import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { describe, expect, it } from 'vitest';
import { encodeLogsRequest } from '../../../../exporters/otlp/logs-encoder.js';
import type { LogRecord } from '../../model/log-record.js';
import { OtlpDecodeError } from './errors.js';
import { decodeLogsJsonBody } from './logs-json-decoder.js';
import { decodeLogsRequest } from './logs-proto-decoder.js';
import { encodeExportLogsResponse, exportLogsResponseJson } from './logs-response.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

/** Records made by the official SDK, as its OTLP exporters serialize them. */
function sdkRecords(): ReadableLogRecord[] {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.cores': 4 }), processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('app.orders', '1.2.3');
  logger.emit({
    timestamp: 1_765_000_000_123,
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: 'payment failed for order 42',
    attributes: { 'order.id': 42, 'flowtrace.correlation_id': 'corr-1', retry: true, ratio: 0.5, tags: ['a', 'b'] },
    eventName: 'payment.failed',
    context: undefined,
  });
  logger.emit({ severityNumber: SeverityNumber.INFO, body: { kind: 'structured', n: 1 } });
  return exporter.getFinishedLogRecords();
}

function withTraceContext(bytes: Uint8Array): Uint8Array {
  // Decoded, given IDs, and encoded again by our encoder: the IDs path through both directions.
  const decoded = decodeLogsRequest(bytes);
  decoded.records[0]!.traceId = TRACE;
  decoded.records[0]!.spanId = SPAN;
  decoded.records[0]!.flags = 1;
  return encodeLogsRequest(decoded.records);
}

const plain = (records: readonly LogRecord[]) =>
  records.map(({ resource, scope, ...rest }) => ({ ...rest, resource: { ...resource }, scope: { ...scope } }));

describe('OTLP logs decoders', () => {
  it('decode the official SDK protobuf: body, severity, typed attributes, event name, resource, scope', () => {
    const bytes = ProtobufLogsSerializer.serializeRequest(sdkRecords())!;
    const { records, rejectedRecords } = decodeLogsRequest(bytes);
    expect(rejectedRecords).toBe(0);
    expect(records).toHaveLength(2);
    const [first, second] = records;
    expect(first!.resource.serviceName).toBe('checkout');
    expect(first!.resource.attributeKinds).toEqual({ 'host.cores': 'int' });
    expect(first!.scope).toMatchObject({ name: 'app.orders', version: '1.2.3' });
    expect(first!).toMatchObject({ severityNumber: 17, severityText: 'ERROR', body: 'payment failed for order 42', eventName: 'payment.failed', traceId: '', spanId: '' });
    expect(first!.timeUnixNano).toBe(1_765_000_000_123_000_000n);
    expect(first!.observedTimeUnixNano).toBeGreaterThan(0n);
    expect(first!.attributes).toEqual({ 'order.id': '42', 'flowtrace.correlation_id': 'corr-1', retry: 'true', ratio: '0.5', tags: '["a","b"]' });
    expect(first!.attributeKinds).toEqual({ 'order.id': 'int', retry: 'bool', ratio: 'double', tags: 'array' });
    expect(second!.body).toBe('{"kind":"structured","n":1}');
    expect(second!.bodyKind).toBe('kvlist');
    expect(second!.resource).toBe(first!.resource); // shared, as for spans
  });

  it('decode the official SDK JSON to the same records as its protobuf', () => {
    const sdk = sdkRecords();
    const fromProto = decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(sdk)!);
    const fromJson = decodeLogsJsonBody(JsonLogsSerializer.serializeRequest(sdk)!);
    expect(fromJson.rejectedRecords).toBe(0);
    expect(plain(fromJson.records)).toEqual(plain(fromProto.records));
  });

  it('encode → decode gives back the records (trace context, flags, every value kind)', () => {
    const bytes = withTraceContext(ProtobufLogsSerializer.serializeRequest(sdkRecords())!);
    const again = decodeLogsRequest(bytes);
    expect(again.records[0]).toMatchObject({ traceId: TRACE, spanId: SPAN, flags: 1 });
    expect(plain(decodeLogsRequest(encodeLogsRequest(again.records)).records)).toEqual(plain(again.records));
  });

  it('refuse invalid records with partial success and keep the rest', () => {
    const json = (logRecords: unknown[]) =>
      Buffer.from(JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeLogs: [{ scope: { name: 'sc' }, logRecords }] }] }));
    const now = Date.UTC(2026, 11, 7);
    const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
    const decoded = decodeLogsJsonBody(
      json([
        { timeUnixNano: ns(now), body: { stringValue: 'ok' } },
        { timeUnixNano: ns(now), traceId: 'abcdef', body: { stringValue: 'short trace id' } },
        { timeUnixNano: ns(now), spanId: SPAN, body: { stringValue: 'span without trace' } },
        { timeUnixNano: ns(now), severityNumber: 300 },
        { timeUnixNano: ns(now - 40 * 86_400_000), body: { stringValue: 'too old' } },
        { body: { stringValue: 'no time at all' } },
        { timeUnixNano: ns(now), traceId: TRACE.toUpperCase(), spanId: SPAN, body: { stringValue: 'with context' } },
      ]),
      { retentionDays: 30, now: () => now },
    );
    expect(decoded.records.map((r) => r.body)).toEqual(['ok', 'with context']);
    expect(decoded.records[1]).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(decoded.rejectedRecords).toBe(5);
    expect(decoded.rejectionMessage).toContain("log record 1 of scope 'sc': trace_id has 3 bytes, want 16 or none");
    expect(decoded.rejectionMessage).toContain("log record 2 of scope 'sc': span_id without a trace_id");
    expect(decoded.rejectionMessage).toContain('log record 3 of scope \'sc\': severity_number 300 is outside 0–255');
    expect(decoded.rejectionMessage).toContain('1 log record older than retention_days=30');
    expect(decoded.rejectionMessage).toContain('1 log record without a time');
    expect(decoded.rejections).toEqual(expect.arrayContaining([{ service: 'svc', reason: 'invalid', spans: 4 }, { service: 'svc', reason: 'too_old', spans: 1 }]));
    // The response carries it back to the client, in both encodings.
    expect(exportLogsResponseJson(decoded.rejectedRecords, 'x')).toEqual({ partialSuccess: { rejectedLogRecords: '5', errorMessage: 'x' } });
    expect(Buffer.from(encodeExportLogsResponse(5, '')).toString('hex')).toBe('0a020805');
  });

  it('the same refusals in protobuf, with the retention rules for logs (status=error is severity ≥ 17)', () => {
    const now = Date.UTC(2026, 11, 7);
    const old = BigInt(now - 10 * 86_400_000) * 1_000_000n;
    const base = decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(sdkRecords())!).records;
    for (const r of base) r.timeUnixNano = old;
    const bytes = encodeLogsRequest(base);
    const retention = { defaultDays: 7, rules: [{ name: 'errors', match: { status: 'error' as const }, days: 30 }] };
    const decoded = decodeLogsRequest(bytes, { retention, now: () => now });
    // The ERROR record is kept 30 days; the INFO record only 7, so it is refused.
    expect(decoded.records.map((r) => r.severityNumber)).toEqual([17]);
    expect(decoded.rejectedRecords).toBe(1);
    expect(decoded.rejectionMessage).toContain('older than retention_days=7');
  });

  it('refuse malformed bodies whole, naming where', () => {
    const bytes = encodeLogsRequest(decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(sdkRecords())!).records);
    expect(() => decodeLogsRequest(bytes.subarray(0, bytes.length - 3))).toThrow(OtlpDecodeError);
    expect(() => decodeLogsJsonBody(Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"LOUD"}]}]}]}'))).toThrow(
      'resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: expected an enum number or name, got "LOUD"',
    );
    expect(() => decodeLogsJsonBody(Buffer.from('not json'))).toThrow(/invalid JSON body/);
    expect(() => decodeLogsJsonBody(Buffer.from([0xff, 0xfe]))).toThrow('invalid JSON body: not valid UTF-8');
  });

  it('refuse a record with invalid UTF-8 in its body, and cut oversized attribute values', () => {
    const [record] = decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(sdkRecords())!).records;
    record!.body = 'MARKER';
    record!.bodyKind = undefined;
    record!.attributes['big'] = 'x'.repeat(5000);
    const bytes = Buffer.from(encodeLogsRequest([record!]));
    const cut = decodeLogsRequest(bytes, { maxAttributeValueBytes: 1024 });
    expect(Buffer.byteLength(cut.records[0]!.attributes['big']!)).toBeLessThanOrEqual(1024);
    expect(cut.records[0]!.attributes['flowtrace.truncated.big']).toBe('5000');
    expect(cut.truncations).toEqual([{ service: 'checkout', values: 1 }]);
    const at = bytes.indexOf('MARKER');
    bytes[at] = 0xff;
    const bad = decodeLogsRequest(bytes);
    expect(bad.records).toHaveLength(0);
    expect(bad.rejectionMessage).toBe("log record 0 of scope 'app.orders': invalid UTF-8 in body");
  });
});
