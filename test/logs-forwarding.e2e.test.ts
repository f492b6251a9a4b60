/**
 * Log forwarding through the real OpenTelemetry Collector (test/peers/otelcol, v0.140.0):
 * collector A has two otlp exporters with `logs` in their `signals` — one over gRPC
 * (`signals: [traces, logs]`), one over HTTP (`signals: [logs]`, so no span queue) — both to the
 * Collector's OTLP receiver, whose logs pipeline forwards with its `otlphttp` exporter to
 * collector B. Records sent to A must come out of B's otel_logs as they went in, once per
 * exporter: the Collector decoding our hand-written ExportLogsServiceRequests is the check.
 */
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { cleanupPeers, ensurePeer, PEER_HOOK_TIMEOUT_MS, startOtelcol, type RunningOtelcol } from './helpers/peers.js';

let a: RunningCollector;
let b: RunningCollector;
let otelcol: RunningOtelcol;

beforeAll(async () => {
  await ensurePeer('otelcol');
  b = await startCollector();
  otelcol = await startOtelcol('otlphttp', `  otlphttp:\n    endpoint: ${b.httpEndpoint}\n`, { signals: ['logs'], grpc: true });
  a = await startCollector({
    config: [
      'exporters:',
      '  otlp/grpc-peer:',
      `    endpoint: ${otelcol.otlpGrpcEndpoint}`,
      '    signals: [traces, logs]',
      '  otlp/http-peer:',
      '    protocol: http/protobuf',
      `    endpoint: ${otelcol.otlpHttpEndpoint}`,
      '    signals: [logs]',
      '',
    ].join('\n'),
  });
}, PEER_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await a?.stop();
  await otelcol?.stop();
  await b?.stop();
  await cleanupPeers();
  await cleanup();
});

interface Row {
  Body: string;
  SeverityNumber: number;
  TraceId: string;
  SpanId: string;
  LogAttributes: Record<string, string>;
  AttributeKinds: Record<string, string>;
  ScopeName: string;
  EventName: string;
}

const rows = (c: RunningCollector) =>
  sql<Row>(c.apiUrl, "SELECT Body, SeverityNumber, TraceId, SpanId, LogAttributes, AttributeKinds, ScopeName, EventName FROM otel_logs WHERE ServiceName = 'logs-forward' ORDER BY Body");

describe('otlp exporters with signals: [logs] forward log records through the OpenTelemetry Collector', () => {
  it('delivers every record over gRPC and HTTP, as sent, and stores it locally too', async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'logs-forward' }),
      processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${a.httpEndpoint}/v1/logs` }) })],
    });
    const logger = provider.getLogger('forwarder', '2.0.0');
    const traced = trace.setSpanContext(context.active(), { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: TraceFlags.SAMPLED });
    logger.emit({ body: 'a: order placed', severityNumber: SeverityNumber.INFO, attributes: { 'order.id': 7, express: true }, context: traced, eventName: 'order.placed' });
    logger.emit({ body: { b: 'structured', n: [1, 2] }, severityNumber: SeverityNumber.ERROR });
    await provider.forceFlush();
    await provider.shutdown();

    const local = await waitFor(async () => ((await rows(a)).length === 2 ? rows(a) : undefined), 'the records in A');
    const forwarded = await waitFor(
      async () => ((await rows(b)).length === 4 ? rows(b) : undefined),
      'two copies of each record in B (one per exporter)',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\notelcol log:\n${readFileSync(otelcol.logFile, 'utf8').slice(-3000)}`);
    });
    // Each record arrives once per exporter, and as A stored it.
    expect(forwarded).toEqual([local[0], local[0], local[1], local[1]]);
    expect(local[0]).toMatchObject({
      Body: 'a: order placed',
      TraceId: '5b8efff798038103d269b633813fc60c',
      SpanId: 'eee19b7ec3c1b174',
      LogAttributes: { 'order.id': '7', express: 'true' },
      AttributeKinds: { 'log:order.id': 'int', 'log:express': 'bool' },
      ScopeName: 'forwarder',
      EventName: 'order.placed',
    });
    expect(local[1]).toMatchObject({ Body: '{"b":"structured","n":[1,2]}', SeverityNumber: 17, AttributeKinds: { body: 'kvlist' } });
    // Each exporter's log queue is its own; the logs-only exporter has no span queue.
    expect(existsSync(join(a.dataDir, 'queues', 'logs', 'otlp~grpc-peer'))).toBe(true);
    expect(existsSync(join(a.dataDir, 'queues', 'logs', 'otlp~http-peer'))).toBe(true);
    expect(existsSync(join(a.dataDir, 'queues', 'otlp~grpc-peer'))).toBe(true);
    expect(existsSync(join(a.dataDir, 'queues', 'otlp~http-peer'))).toBe(false);
  }, 120_000);
});
