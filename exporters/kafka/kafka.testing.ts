/** Shared by the Kafka exporter's and receiver's tests (real broker: test/helpers/kafka.ts). */
import { randomBytes } from 'node:crypto';
import { Consumer } from '@platformatic/kafka';
import { pino } from 'pino';
import type { Span } from '../../collector/src/model/span.js';
import { sampleSpans } from '../otlp/exporter.testing.js';
import { kafkaExporterConfigSchema } from './config.js';
import { KafkaExporter } from './exporter.js';

export const silentLogger = pino({ level: 'silent' });

/** A trace of `count` spans with a random trace ID (32 hex digits). */
export function traceSpans(count: number): Span[] {
  const traceId = randomBytes(16).toString('hex');
  return sampleSpans(count).map((s) => ({ ...s, traceId }));
}

/** A started exporter for `config` (validated by the real schema). */
export async function startedKafkaExporter(config: Record<string, unknown>, name = 'kafka/test'): Promise<KafkaExporter> {
  const exporter = new KafkaExporter(name, kafkaExporterConfigSchema.parse(config), { logger: silentLogger });
  await exporter.start();
  return exporter;
}

/**
 * The partition Kafka's Java client (and franz-go, librdkafka's murmur2_random) picks for a
 * key: toPositive(murmur2(key)) % partitions. Written out here so the test does not check the
 * client against itself.
 */
export function javaPartition(key: Uint8Array, partitions: number): number {
  const m = 0x5bd1e995;
  const length = key.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length >> 2;
  for (let i = 0; i < whole; i++) {
    const o = i * 4;
    let k = (key[o]! & 0xff) | ((key[o + 1]! & 0xff) << 8) | ((key[o + 2]! & 0xff) << 16) | ((key[o + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const base = whole * 4;
  if (rest === 3) h ^= (key[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (key[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= key[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return (h & 0x7fffffff) % partitions;
}

export interface ReadMessage {
  partition: number;
  offset: bigint;
  key: Buffer;
  value: Buffer;
}

/** Reads `topic` from the start in a fresh group until `count` messages came (bounded by `timeoutMs`). */
export async function readMessages(brokers: string, topic: string, count: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const consumer = new Consumer({ clientId: 'test-reader', groupId: `reader-${randomBytes(6).toString('hex')}`, bootstrapBrokers: [brokers] });
  const out: ReadMessage[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${out.length} of ${count} messages read from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      stream.on('data', (m) => {
        out.push({ partition: m.partition, offset: m.offset, key: m.key, value: m.value });
        if (out.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
      stream.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return out;
}
