import type { Context } from '@opentelemetry/api';
import type { AnyValue, LogAttributes } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type LogRecordProcessor, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import { isCardInteger } from './cards.js';
import type { Protocol } from './config.js';
import { correlationOf, CORRELATION_BAGGAGE_KEY } from './correlation.js';
import { isSecretKey, MASK, maskSecretsInText } from './redact.js';

/** The OTLP logs exporter for the configured protocol; headers, TLS and compression come from OTEL_* as usual. */
export function createLogExporter(protocol: Protocol, url: string): LogRecordExporter {
  switch (protocol) {
    case 'grpc':
      return new GrpcLogExporter({ url });
    case 'http/protobuf':
      return new ProtobufLogExporter({ url });
    case 'http/json':
      return new JsonLogExporter({ url });
  }
}

// Deeper structures are cut rather than walked: a log call's arguments are the application's.
const MAX_DEPTH = 8;

/** A log value with secrets masked the way captured span values are: by key, then by what text looks like. */
export function maskLogValue(value: AnyValue, key: string, depth = 0): AnyValue {
  if (value === null || value === undefined) return value;
  if (key !== '' && key !== CORRELATION_BAGGAGE_KEY && isSecretKey(key)) return MASK;
  if (typeof value === 'string') return maskSecretsInText(value, key);
  if (typeof value === 'number') return Number.isInteger(value) && isCardInteger(value, key) ? MASK : value;
  if (typeof value === 'boolean' || value instanceof Uint8Array) return value;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.map((v) => maskLogValue(v, key, depth + 1));
  const out: LogAttributes = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskLogValue(v, k, depth + 1);
  return out;
}

/**
 * Gives each record the request's correlation ID (the SDK puts the span's IDs in the
 * record's own fields) and masks its body and attributes before the batch takes it.
 */
export class CorrelatingMaskingProcessor implements LogRecordProcessor {
  onEmit(record: SdkLogRecord, ctx?: Context): void {
    const correlationId = ctx === undefined ? undefined : correlationOf(ctx);
    if (correlationId !== undefined) record.setAttribute(CORRELATION_BAGGAGE_KEY, correlationId);
    for (const [key, value] of Object.entries(record.attributes)) {
      const masked = maskLogValue(value, key);
      if (masked !== value) record.setAttribute(key, masked);
    }
    if (record.body !== undefined) record.setBody(maskLogValue(record.body, ''));
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The batch processor, counting records since the last flush (exit handling sends only when something waits). */
export class CountingLogProcessor implements LogRecordProcessor {
  pending = 0;
  private readonly batch: BatchLogRecordProcessor;

  constructor(exporter: LogRecordExporter) {
    this.batch = new BatchLogRecordProcessor({ exporter });
  }

  onEmit(record: SdkLogRecord): void {
    this.pending++;
    this.batch.onEmit(record);
  }

  forceFlush(): Promise<void> {
    this.pending = 0;
    return this.batch.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.batch.shutdown();
  }
}

export interface LogExport {
  readonly provider: LoggerProvider;
  readonly processor: CountingLogProcessor;
}

export function createLogExport(resource: Resource, exporter: LogRecordExporter): LogExport {
  const processor = new CountingLogProcessor(exporter);
  const provider = new LoggerProvider({ resource, processors: [new CorrelatingMaskingProcessor(), processor] });
  return { provider, processor };
}
