import { z } from 'zod';
import { kafkaConnectionFields } from './connection-config.js';

/**
 * The `kafka` exporter's settings (`exporters: kafka[/<name>]: …`), after the OpenTelemetry
 * Collector's kafka exporter in this project's snake_case. The connection settings (brokers,
 * client_id, tls, sasl) are shared with `receivers.kafka` (connection-config.ts).
 */

export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

/** What the `process` tier's `receivers.kafka` reads by default, and the OTel Collector's default too. */
export const DEFAULT_KAFKA_TOPIC = 'otlp_spans';

/** Kafka's own rule for topic names. */
export const topicSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name: letters, digits, . _ - (at most 249 characters)')
  .refine((t) => t !== '.' && t !== '..', 'a topic cannot be named . or ..');

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

export const kafkaExporterConfigSchema = z
  .object({
    ...kafkaConnectionFields,
    /** Every trace goes to this topic, keyed by its trace ID (one partition per trace). */
    topic: topicSchema.default(DEFAULT_KAFKA_TOPIC),
    /** Record-batch compression. zstd needs Node >= 22.15 (checked when the exporter starts). */
    compression: z.enum(KAFKA_COMPRESSIONS, { error: `expected one of ${KAFKA_COMPRESSIONS.join(', ')}` }).default('none'),
    /** Per send (all its messages acknowledged by every in-sync replica): longer is abandoned and retried. */
    timeout_ms: positiveInt.default(10_000),
    /**
     * The largest message the brokers take (their `message.max.bytes`, 1 MB by default): a
     * trace bigger than this is cut into several messages of the same key, and messages are
     * sent in produce requests of at most this many bytes.
     */
    max_message_bytes: z.number().int('expected a whole number').min(1024, 'must be at least 1024').default(1_000_000),
  })
  .strict();

export type KafkaExporterConfig = z.output<typeof kafkaExporterConfigSchema>;
