/**
 * OTLP logs into a real collector (`flowtrace serve`, ingest auth on): the official
 * OpenTelemetry JS SDK sends them over OTLP/HTTP protobuf and OTLP/gRPC; the rows in otel_logs
 * are read back through /api/sql. Redaction applied, an invalid record refused with partial
 * success (and in the drop ledger), unauthenticated requests refused, and acknowledged records
 * kept across a crash (SIGKILL right after the acknowledgement, restart on the same data dir).
 */
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector, type StartOptions } from './helpers/collector.js';

const CONFIG = 'auth:\n  ingest:\n    required: true\n';
let c: RunningCollector;
let options: StartOptions;
let admin: string;
let ingest: string;

async function adminSql<T>(query: string): Promise<T[]> {
  const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { rows?: T[]; error?: string };
  if (!res.ok) throw new Error(`SQL failed (${res.status}): ${body.error}`);
  return body.rows!;
}

/** Emits records through the official SDK and exporter, and waits for the export's result. */
async function emit(exporter: LogRecordExporter, service: string, records: Array<{ body: string; severity: SeverityNumber; attributes?: Record<string, string>; traced?: boolean }>): Promise<void> {
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service }), processors: [new BatchLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('logs-e2e', '1.0.0');
  const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
  for (const r of records) {
    logger.emit({
      body: r.body,
      severityNumber: r.severity,
      severityText: SeverityNumber[r.severity],
      attributes: r.attributes,
      context: r.traced ? trace.setSpanContext(context.active(), spanContext) : undefined,
    });
  }
  // The batch processor's flush resolves once the export's response came back (the simple one's does not wait for it).
  await provider.forceFlush();
  await provider.shutdown();
}

/** The exporter, with the result of each of its exports kept: an acknowledged export is a SUCCESS (0). */
function recording(exporter: LogRecordExporter): { exporter: LogRecordExporter; results: number[] } {
  const results: number[] = [];
  return {
    results,
    exporter: {
      export: (records, done) => exporter.export(records, (result) => {
        results.push(result.code);
        done(result);
      }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    },
  };
}

interface LogRow {
  Body: string;
  SeverityNumber: number;
  SeverityText: string;
  TraceId: string;
  SpanId: string;
  LogAttributes: Record<string, string>;
  CorrelationId: string;
  ScopeName: string;
}

const rowsOf = (service: string, expected: number) =>
  waitFor(async () => {
    const rows = await adminSql<LogRow>(`SELECT Body, SeverityNumber, SeverityText, TraceId, SpanId, LogAttributes, CorrelationId, ScopeName FROM otel_logs WHERE ServiceName = '${service}' ORDER BY Timestamp`);
    return rows.length >= expected ? rows : undefined;
  }, `${expected} log rows of ${service}`);

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-boot-'), 'admin.token');
  options = { args: ['--bootstrap-token-file', tokenFile], config: CONFIG };
  c = await startCollector(options);
  admin = readFileSync(tokenFile, 'utf8').trim();
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'logs-agent', scopes: ['ingest'] }) });
  expect(res.status).toBe(201);
  ingest = ((await res.json()) as { token: string }).token;
}, 120_000);

afterAll(async () => {
  await c?.stop();
  await cleanup();
});

describe('OTLP logs into otel_logs', () => {
  it('stores what the official SDK sends over OTLP/HTTP protobuf, redacted, with trace context and correlation ID', async () => {
    const exporter = new ProtoLogExporter({ url: `${c.httpEndpoint}/v1/logs`, headers: { authorization: `Bearer ${ingest}` } });
    await emit(exporter, 'logs-e2e-http', [
      { body: 'order 42 paid by alice@example.com', severity: SeverityNumber.INFO, attributes: { 'flowtrace.correlation_id': 'corr-logs-1', password: 'hunter2' }, traced: true },
      { body: 'payment gateway timeout', severity: SeverityNumber.ERROR },
    ]);
    const rows = await rowsOf('logs-e2e-http', 2);
    expect(rows).toHaveLength(2);
    const [info, error] = rows;
    expect(info).toMatchObject({ Body: 'order 42 paid by [REDACTED:email]', SeverityNumber: 9, SeverityText: 'INFO', TraceId: '4bf92f3577b34da6a3ce929d0e0e4736', SpanId: '00f067aa0ba902b7', CorrelationId: 'corr-logs-1', ScopeName: 'logs-e2e' });
    expect(info!.LogAttributes).toMatchObject({ password: '[REDACTED:key]', 'flowtrace.correlation_id': 'corr-logs-1', 'flowtrace.redacted': '2' });
    expect(error).toMatchObject({ Body: 'payment gateway timeout', SeverityNumber: 17, TraceId: '' });
  }, 60_000);

  it('stores what the official SDK sends over OTLP/gRPC', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${ingest}`);
    await emit(new GrpcLogExporter({ url: c.grpcEndpoint, metadata }), 'logs-e2e-grpc', [{ body: 'hello over gRPC', severity: SeverityNumber.WARN }]);
    expect(await rowsOf('logs-e2e-grpc', 1)).toMatchObject([{ Body: 'hello over gRPC', SeverityNumber: 13 }]);
  }, 60_000);

  it('refuses requests without an ingest token, on both transports', async () => {
    const http = await fetch(`${c.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(http.status).toBe(401);
    const client = new Client(c.grpcEndpoint.replace('http://', ''), credentials.createInsecure());
    const code = await new Promise<number | undefined>((resolve) =>
      client.makeUnaryRequest('/opentelemetry.proto.collector.logs.v1.LogsService/Export', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new Metadata(), (err) => resolve(err?.code)),
    );
    client.close();
    expect(code).toBe(16); // UNAUTHENTICATED
  });

  it('refuses an invalid record with partial success, stores the rest, and counts it in the drop ledger under logs/receiver', async () => {
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'logs-e2e-partial' } }] },
          scopeLogs: [{ scope: { name: 'raw' }, logRecords: [{ timeUnixNano: now, body: { stringValue: 'kept' } }, { timeUnixNano: now, traceId: 'abcd', body: { stringValue: 'bad id' } }] }],
        },
      ],
    };
    const res = await fetch(`${c.httpEndpoint}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${ingest}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ partialSuccess: { rejectedLogRecords: '1', errorMessage: "log record 1 of scope 'raw': trace_id has 2 bytes, want 16 or none" } });
    expect((await rowsOf('logs-e2e-partial', 1)).map((r) => r.Body)).toEqual(['kept']);
    const drops = await waitFor(async () => {
      const res = await fetch(`${c.apiUrl}/api/drops?since=1h&service=logs-e2e-partial`, { headers: { authorization: `Bearer ${admin}` } });
      const body = (await res.json()) as { drops: Array<{ stage: string; reason: string; droppedSpans: number }> };
      return body.drops.find((d) => d.stage === 'logs/receiver');
    }, 'the refused record in the drop ledger');
    expect(drops).toMatchObject({ stage: 'logs/receiver', reason: 'invalid', droppedSpans: 1 });
  }, 60_000);

  it('keeps acknowledged records across a crash: SIGKILL right after the acknowledgement, then a restart', async () => {
    const { exporter, results } = recording(new ProtoLogExporter({ url: `${c.httpEndpoint}/v1/logs`, headers: { authorization: `Bearer ${ingest}` } }));
    const records = Array.from({ length: 50 }, (_, i) => ({ body: `durable ${i}`, severity: SeverityNumber.INFO }));
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'logs-e2e-crash' }), processors: [new BatchLogRecordProcessor({ exporter })] });
    const logger = provider.getLogger('crash');
    for (const r of records) logger.emit({ body: r.body, severityNumber: r.severity });
    await provider.forceFlush();
    // Acknowledged (200): on disk in the log queue, whether or not it reached otel_logs yet.
    expect(results).toEqual([0]);
    await c.kill();
    c = await startCollector({ ...options, dataDir: c.dataDir });
    const rows = await rowsOf('logs-e2e-crash', 50);
    expect(rows.map((r) => r.Body).sort()).toEqual(records.map((r) => r.body).sort());
    // Once: a batch sent again after the restart carries the same deduplication token.
    expect(Number((await adminSql<{ n: string }>("SELECT count() AS n FROM otel_logs WHERE ServiceName = 'logs-e2e-crash'"))[0]!.n)).toBe(50);
  }, 120_000);
});
