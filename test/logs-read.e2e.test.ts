/**
 * Logs end to end on the real collector: a trace sent over OTLP/gRPC, log records sent by the
 * official OpenTelemetry SDK (`@opentelemetry/sdk-logs` with its OTLP/HTTP protobuf exporter) to
 * `/v1/logs` — two inside the trace's spans, one with no trace context but the request's
 * correlation ID — and read back through `GET /api/traces/:id/logs`, `GET /api/logs` and
 * `flowtrace logs`. Build first: `npx tsc -p tsconfig.build.json`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogView } from '../collector/src/query/logs/log-view.js';
import { cleanup, FLOWTRACE_BIN, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { grpcExport } from './helpers/grpc.js';
import { protobufRequest, sdkSpans } from './helpers/spans.js';

const exec = promisify(execFile);
const CORRELATION_ID = `req-${randomBytes(6).toString('hex')}`;

let collector: RunningCollector;
let traceId: string;
let rootSpanId: string;
let childSpanId: string;

beforeAll(async () => {
  collector = await startCollector();
  const made = await sdkSpans(2, 'logs-e2e-orders');
  traceId = made.traceId;
  rootSpanId = made.spans.find((s) => s.name === 'root')!.spanContext().spanId;
  childSpanId = made.spans.find((s) => s.name !== 'root')!.spanContext().spanId;
  expect((await grpcExport(collector.grpcEndpoint, protobufRequest(made.spans))).error).toBeUndefined();

  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'logs-e2e-orders' }),
    processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${collector.httpEndpoint}/v1/logs` }) })],
  });
  const inSpan = (spanId: string) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
  const logger = provider.getLogger('orders');
  const t0 = Date.now() - 30_000;
  logger.emit({ context: inSpan(rootSpanId), timestamp: t0, severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'order 7 received', attributes: { 'flowtrace.correlation_id': CORRELATION_ID } });
  logger.emit({ context: inSpan(childSpanId), timestamp: t0 + 5, severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: { order: 7, reason: 'card declined' }, attributes: { attempt: 2 } });
  // A queue consumer that lost the trace context: only the correlation ID ties it to the request.
  provider.getLogger('mailer').emit({ context: ROOT_CONTEXT, timestamp: t0 + 50, severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'receipt mail delayed', attributes: { 'flowtrace.correlation_id': CORRELATION_ID } });
  await provider.forceFlush();
  await provider.shutdown();
}, 120_000);

afterAll(cleanup);

interface TraceLogs {
  correlationIds: string[];
  logs: LogView[];
}

describe('logs sent by the OpenTelemetry SDK', () => {
  it("are read back as the trace's logs, the one without trace context found by correlation ID", async () => {
    const answer = await waitFor(async () => {
      const res = await fetch(`${collector.apiUrl}/api/traces/${traceId}/logs`);
      const body = (await res.json()) as TraceLogs;
      return body.logs?.length === 3 ? body : undefined;
    }, 'the three records to be stored');
    expect(answer.correlationIds).toEqual([CORRELATION_ID]);
    expect(answer.logs.map((l) => [l.body, l.severityText, l.severityNumber, l.spanId, l.foundBy])).toEqual([
      ['order 7 received', 'INFO', 9, rootSpanId, 'trace'],
      [{ order: 7, reason: 'card declined' }, 'ERROR', 17, childSpanId, 'trace'],
      ['receipt mail delayed', 'WARN', 13, '', 'correlation'],
    ]);
    expect(answer.logs[1]).toMatchObject({ traceId, serviceName: 'logs-e2e-orders', attributes: { attempt: 2 }, scope: { name: 'orders' } });
    expect(answer.logs[2]).toMatchObject({ traceId: '', correlationId: CORRELATION_ID, scope: { name: 'mailer' } });
  });

  it('are found by span, by correlation ID and by severity, and printed by flowtrace logs', async () => {
    const bySpan = (await (await fetch(`${collector.apiUrl}/api/logs?trace_id=${traceId}&span_id=${childSpanId}`)).json()) as { logs: LogView[] };
    expect(bySpan.logs.map((l) => l.severityText)).toEqual(['ERROR']);
    const byCorrelation = (await (await fetch(`${collector.apiUrl}/api/logs?correlation_id=${CORRELATION_ID}`)).json()) as { logs: LogView[] };
    expect(byCorrelation.logs.map((l) => l.body)).toEqual(['order 7 received', 'receipt mail delayed']);
    const { stdout } = await exec(process.execPath, [FLOWTRACE_BIN, 'logs', traceId, '--severity', 'warn', '--api', collector.apiUrl]);
    expect(stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`ERROR  logs-e2e-orders  span ${childSpanId}  \\{"order":7,"reason":"card declined"\\}$`)),
      expect.stringMatching(new RegExp(`WARN   logs-e2e-orders  no span \\[by correlation ID ${CORRELATION_ID}\\]  receipt mail delayed$`)),
    ]);
  });
});
