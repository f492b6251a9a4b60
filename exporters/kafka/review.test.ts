/**
 * Issue 18 review (attacker / hard user) of the Kafka path, against a real broker
 * (test/helpers/kafka.ts): the receiver's batch path must not let one record change how its
 * neighbours decode.
 */
import { randomBytes } from 'node:crypto';
import { Producer } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, traceSpans } from './kafka.testing.js';
import { encodeTraceRequest } from '../otlp/encoder.js';
import { startKafka, KAFKA_HOOK_TIMEOUT_MS, type RunningKafka } from '../../test/helpers/kafka.js';
import { waitFor } from '../../test/helpers/collector.js';
import type { Span } from '../../collector/src/model/span.js';
import { RecordedDrops } from '../../collector/src/pipeline/drops.testing.js';
import { QueueFullError, type Consumer } from '../../collector/src/pipeline/stage.js';
import { CollectorMetrics } from '../../collector/src/telemetry.js';
import { Ingest } from '../../collector/src/receivers/ingest.js';
import { kafkaReceiverConfigSchema } from '../../collector/src/receivers/kafka/config.js';
import { KafkaReceiver } from '../../collector/src/receivers/kafka/receiver.js';

let kafka: RunningKafka;

beforeAll(async () => {
  kafka = await startKafka({ partitions: 1 });
}, KAFKA_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await kafka?.stop();
});

/** Captures spans; the first consume waits for `open()`, so the messages behind it queue up into one batch. */
class GatedCapture implements Consumer {
  spans: Span[] = [];
  private release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  private first = true;
  open(): void {
    this.release();
  }
  async consume(spans: Span[]): Promise<void> {
    if (this.first) {
      this.first = false;
      await this.gate;
    }
    this.spans.push(...spans);
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Refuses with backpressure while `blocked`, then captures. */
class BlockedCapture implements Consumer {
  spans: Span[] = [];
  blocked = true;
  async consume(spans: Span[]): Promise<void> {
    if (this.blocked) throw new QueueFullError('full', 0.01);
    this.spans.push(...spans);
  }
}

interface Member {
  receiver: KafkaReceiver;
  registry: Registry;
}

function startMember(topic: string, groupId: string, pipeline: Consumer, extra: Record<string, unknown> = {}): Member {
  const registry = new Registry();
  const drops = new RecordedDrops();
  const config = kafkaReceiverConfigSchema.parse({ enabled: true, brokers: [kafka.brokers], topic, group_id: groupId, session_timeout_ms: 6000, heartbeat_interval_ms: 500, lag_interval_ms: 300, ...extra });
  return { receiver: new KafkaReceiver(config, new Ingest(pipeline, new CollectorMetrics(), undefined, { drops }), silentLogger, { registry, drops }), registry };
}

/** One OTLP request of about `bytes` bytes (one span with a large attribute), for one trace. */
function bulkyRequest(bytes: number): { traceId: string; value: Buffer } {
  const [span] = traceSpans(1);
  const bulky = { ...span!, attributes: { ...span!.attributes, filler: 'x'.repeat(bytes) } };
  return { traceId: span!.traceId, value: Buffer.from(encodeTraceRequest([bulky])) };
}

async function produce(topic: string, messages: Array<{ partition: number; value: Buffer }>): Promise<void> {
  const producer = new Producer({ clientId: 'review', bootstrapBrokers: [kafka.brokers], autocreateTopics: false });
  try {
    await producer.send({ messages: messages.map((m) => ({ topic, partition: m.partition, key: randomBytes(16), value: m.value })) });
  } finally {
    await producer.close();
  }
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((x) => Object.entries(labels).every(([k, v]) => String(x.labels[k]) === v))?.value;
}

describe('issue 18 review: kafka receiver', () => {
  it('a truncated record does not swallow the good record after it in the same batch', async () => {
    const topic = 'swallow';
    await kafka.createTopic(topic, 1);
    const first = traceSpans(2);
    const victim = traceSpans(3);
    const victimBytes = Buffer.from(encodeTraceRequest(victim));
    // Three bytes: field 1 (resource_spans) claiming the next record's length. Alone it does not decode.
    const truncated = Buffer.from([0x0a, ...varint(victimBytes.length)]);
    const producer = new Producer({ clientId: 'review', bootstrapBrokers: [kafka.brokers], autocreateTopics: false });
    try {
      await producer.send({
        messages: [
          { topic, key: randomBytes(16), value: Buffer.from(encodeTraceRequest(first)) },
          { topic, key: randomBytes(16), value: truncated },
          { topic, key: randomBytes(16), value: victimBytes },
        ],
      });
    } finally {
      await producer.close();
    }

    const registry = new Registry();
    const drops = new RecordedDrops();
    const capture = new GatedCapture();
    const config = kafkaReceiverConfigSchema.parse({ enabled: true, brokers: [kafka.brokers], topic, group_id: `g-${randomBytes(4).toString('hex')}`, session_timeout_ms: 6000, heartbeat_interval_ms: 500, lag_interval_ms: 300 });
    const receiver = new KafkaReceiver(config, new Ingest(capture, new CollectorMetrics(), undefined, { drops }), silentLogger, { registry, drops });
    try {
      await receiver.start();
      // All three fetched: the first is being accepted, the other two queue behind it (one batch next).
      const lanes = (receiver as unknown as { lanes: Map<string, { queue: unknown[] }> }).lanes;
      await waitFor(async () => ((lanes.get(`${topic}:0`)?.queue.length ?? 0) >= 3 ? true : undefined), 'three messages queued');
      capture.open();
      await waitFor(async () => ((await metric(registry, 'flowtrace_kafka_partition_lag', { topic, partition: '0' })) === 0 ? true : undefined), 'committed past all three');
      expect(new Set(capture.spans.map((s) => s.traceId))).toEqual(new Set([first[0]!.traceId, victim[0]!.traceId]));
      expect(await metric(registry, 'flowtrace_kafka_messages_total', { outcome: 'malformed' })).toBe(1);
    } finally {
      await receiver.shutdown();
    }
  });

  it('a partition taken away while its message waits out backpressure does not keep the receiver paused', async () => {
    const topic = 'revoked-while-blocked';
    await kafka.createTopic(topic, 2);
    const groupId = `g-${randomBytes(4).toString('hex')}`;
    // Two messages of 0.6 MiB each against max_buffered_mib 1: fetching pauses with both held.
    const first = [bulkyRequest(600_000), bulkyRequest(600_000)];
    await produce(topic, first.map((m, partition) => ({ partition, value: m.value })));
    const blocked = new BlockedCapture();
    const a = startMember(topic, groupId, blocked, { max_buffered_mib: 1 });
    const bCapture = new GatedCapture();
    bCapture.open();
    const b = startMember(topic, groupId, bCapture);
    try {
      await a.receiver.start();
      const lanes = (a.receiver as unknown as { lanes: Map<string, { queue: unknown[] }> }).lanes;
      await waitFor(async () => (lanes.size === 2 && [...lanes.values()].every((l) => l.queue.length > 0) ? true : undefined), 'both messages held by the first member');
      // The second member joins: the first loses one partition while that partition's message waits.
      await b.receiver.start();
      await waitFor(async () => (bCapture.spans.length > 0 ? true : undefined), 'the second member took a partition over');
      await waitFor(async () => ((await metric(a.registry, 'flowtrace_kafka_assigned_partitions')) === 1 ? true : undefined), 'the first member keeps one partition');
      blocked.blocked = false;
      await waitFor(async () => (blocked.spans.length > 0 ? true : undefined), 'the first member accepts its own message');
      // New traffic on both partitions: each member must take its own.
      const second = [bulkyRequest(1000), bulkyRequest(1000)];
      await produce(topic, second.map((m, partition) => ({ partition, value: m.value })));
      const wanted = new Set(second.map((m) => m.traceId));
      await waitFor(
        async () => ([...blocked.spans, ...bCapture.spans].filter((s) => wanted.has(s.traceId)).length === 2 ? true : undefined),
        'the messages published after the rebalance consumed',
        20_000,
      );
    } finally {
      await Promise.all([a.receiver.shutdown(), b.receiver.shutdown()]);
    }
  }, 90_000);
});
