import { z } from 'zod';
import { kafkaConnectionFields } from '../../../../exporters/kafka/connection-config.js';
import { DEFAULT_KAFKA_TOPIC, topicSchema } from '../../../../exporters/kafka/config.js';

/**
 * `receivers.kafka`: the `process` tier reads what the `ingest` tier's `kafka` exporter
 * published (one OTLP protobuf ExportTraceServiceRequest per message, keyed by trace ID), in a
 * consumer group, so replicas share the partitions. Off by default. The connection settings
 * (brokers, client_id, tls, sasl) are those of the exporter (exporters/kafka/connection-config.ts).
 */
const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

export const kafkaReceiverConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    ...kafkaConnectionFields,
    // Required only when enabled (checked below), so an absent block stays valid.
    brokers: kafkaConnectionFields.brokers.optional(),
    topic: topicSchema.default(DEFAULT_KAFKA_TOPIC),
    /** Replicas with the same group share the topic's partitions; each partition is read by one of them. */
    group_id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,255}$/, 'expected letters, digits, . _ - (at most 255 characters)')
      .default('flowtrace-process'),
    /** Where a group with no committed offset for a partition starts: its oldest message, or only new ones. */
    initial_offset: z.enum(['earliest', 'latest'], { error: 'expected earliest or latest' }).default('earliest'),
    /** The most bytes one fetch from the brokers may return. */
    max_bytes_per_poll: positiveInt.default(16 * 1024 * 1024),
    /** Messages fetched and not yet accepted, in MiB: past it fetching pauses until the pipeline catches up. */
    max_buffered_mib: positiveInt.default(64),
    /** The group coordinator gives a silent member's partitions to the others after this long. */
    session_timeout_ms: z.number().int('expected a whole number').min(6000, 'must be at least 6000 (the brokers’ group.min.session.timeout.ms)').default(30_000),
    heartbeat_interval_ms: positiveInt.default(3000),
    /** How often flowtrace_kafka_partition_lag is refreshed. */
    lag_interval_ms: positiveInt.default(10_000),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.enabled && config.brokers === undefined) {
      ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'required when enabled: a list of Kafka brokers, e.g. [kafka-0:9092]' });
    }
    if (config.heartbeat_interval_ms >= config.session_timeout_ms) {
      ctx.addIssue({ code: 'custom', path: ['heartbeat_interval_ms'], message: 'must be less than session_timeout_ms (a third of it is usual)' });
    }
  });

export type KafkaReceiverConfig = z.output<typeof kafkaReceiverConfigSchema>;
