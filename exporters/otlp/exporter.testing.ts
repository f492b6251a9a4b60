/** Shared by the OTLP exporter's transport tests. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { expect } from 'vitest';
import type { InstrumentationScope, Resource, Span } from '../../collector/src/model/span.js';
import { ExportError } from '../exporter.js';
import { otlpConfigSchema } from './config.js';
import { encodeTraceRequest } from './encoder.js';
import { OtlpExporter } from './exporter.js';
import { testSpan } from '../../collector/src/model/span.testing.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every log record written so far, parsed. */
  records: Array<Record<string, unknown>>;
}

export function captureLogs(): CapturedLogs {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), records };
}

const resource: Resource = { attributes: { 'service.name': 'checkout', 'host.cpus': '8' }, attributeKinds: { 'host.cpus': 'int' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'checkout' };
const scope: InstrumentationScope = { name: 'test', version: '1.0', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

/** `count` spans of one trace, with typed attributes. */
export function sampleSpans(count: number, traceByte = 'ab'): Span[] {
  return Array.from({ length: count }, (_, i) =>
    testSpan({
      resource,
      scope,
      traceId: traceByte.repeat(16),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      parentSpanId: i === 0 ? '' : '0000000000000001',
      flags: 1,
      name: `op-${i}`,
      kind: i === 0 ? 2 : 1,
      startTimeUnixNano: 1_700_000_000_000_000_000n,
      endTimeUnixNano: 1_700_000_000_001_000_000n,
      attributes: { 'http.status_code': '200', ok: 'true', route: '/orders' },
      attributeKinds: { 'http.status_code': 'int', ok: 'bool' },
    }),
  );
}

export function payloadOf(...batches: Span[][]): Buffer {
  return Buffer.concat(batches.map((spans) => encodeTraceRequest(spans)));
}

/** A started exporter for `config` (validated by the real schema). */
export async function startedExporter(config: Record<string, unknown>, logger: Logger = pino({ level: 'silent' })): Promise<OtlpExporter> {
  const exporter = new OtlpExporter('otlp/test', otlpConfigSchema.parse(config), { logger });
  await exporter.start();
  return exporter;
}

/** What `send` failed with: must be an ExportError. */
export async function sendError(exporter: OtlpExporter, payload = payloadOf(sampleSpans(1))): Promise<ExportError> {
  const err = await exporter.send(payload, 1, 'batch-1').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExportError);
  return err as ExportError;
}
