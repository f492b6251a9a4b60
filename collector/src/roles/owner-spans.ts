import type { Logger } from 'pino';
import { otlpConfigSchema, type OtlpExporterConfig } from '../../../exporters/otlp/config.js';
import { OtlpExporter } from '../../../exporters/otlp/exporter.js';
import { queueConfigSchema, type QueueConfig } from '../pipeline/persistent-queue/config.js';

/**
 * The spans of a `process` collector with `storage.owner`: OTLP/HTTP to the owner's receiver,
 * in storage's place (first in the fan-out, behind its own durable queue: `queues/owner/`).
 */
export function ownerSpanExporter(owner: { endpoint: string; token: string }, logger: Logger): OtlpExporter {
  return new OtlpExporter('owner', ownerOtlpConfig(owner), { logger });
}

/** OTLP/HTTP to the owner's receiver with its ingest token: spans here, log records too (logs/logs-pipeline.ts). */
export function ownerOtlpConfig(owner: { endpoint: string; token: string }): OtlpExporterConfig {
  return otlpConfigSchema.parse({
    protocol: 'http/protobuf',
    endpoint: owner.endpoint,
    headers: owner.token === '' ? {} : { authorization: `Bearer ${owner.token}` },
  });
}

/**
 * Batches the owner's receiver takes whole (its body limit is 16 MiB by default; storage's own
 * queue batches 100,000 spans, far more than one OTLP request should carry).
 */
export const OWNER_QUEUE: QueueConfig = queueConfigSchema.parse({ batch: { max_spans: 10_000, max_bytes: 8 * 1024 * 1024 } });
