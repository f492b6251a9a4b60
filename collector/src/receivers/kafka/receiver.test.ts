/**
 * receivers.kafka against a real broker (Kafka 4.4.0, KRaft: test/helpers/kafka.ts), fed by the
 * real `kafka` exporter, through a real Ingest into a recording pipeline: the spans come out
 * whole; replicas in one group share the partitions and take over a stopped one's with nothing
 * lost; an offset is not committed before accept resolves; backpressure is waited out on the
 * same message; a malformed message is counted and committed past.
 */
import { randomBytes } from 'node:crypto';
import { Producer } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { javaPartition, silentLogger, startedKafkaExporter, traceSpans } from '../../../../exporters/kafka/kafka.testing.js';
import { startKafka, KAFKA_HOOK_TIMEOUT_MS, type RunningKafka } from '../../../../test/helpers/kafka.js';
import { waitFor } from '../../../../test/helpers/collector.js';
import type { Span } from '../../model/span.js';
import { RecordedDrops } from '../../pipeline/drops.testing.js';
import { QueueFullError, type Consumer } from '../../pipeline/stage.js';
import { CollectorMetrics } from '../../telemetry.js';
import { Ingest } from '../ingest.js';
import { Capture } from '../receiver.testing.js';
import { kafkaReceiverConfigSchema } from './config.js';
import { KafkaReceiver } from './receiver.js';

let kafka: RunningKafka;
const receivers: KafkaReceiver[] = [];

beforeAll(async () => {
  kafka = await startKafka({ partitions: 4 });
}, KAFKA_HOOK_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.shutdown()));
});

afterAll(async () => {
  await kafka?.stop();
});

interface Running {
  receiver: KafkaReceiver;
  registry: Registry;
  drops: RecordedDrops;
}

async function startReceiver(topic: string, group: string, pipeline: Consumer, shutdownTimeoutMs = 5000): Promise<Running> {
  const registry = new Registry();
  const drops = new RecordedDrops();
  const config = kafkaReceiverConfigSchema.parse({
    enabled: true,
    brokers: [kafka.brokers],
    topic,
    group_id: group,
    session_timeout_ms: 6000,
    heartbeat_interval_ms: 500,
    lag_interval_ms: 300,
  });
  const receiver = new KafkaReceiver(config, new Ingest(pipeline, new CollectorMetrics(), undefined, { drops }), silentLogger, { registry, drops, shutdownTimeoutMs });
  receivers.push(receiver);
  await receiver.start();
  return { receiver, registry, drops };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val));
  return v?.value;
}

async function publish(topic: string, traces: Span[][]): Promise<void> {
  const exporter = await startedKafkaExporter({ brokers: [kafka.brokers], topic });
  await exporter.send(Buffer.from(exporter.encode(traces.flat())), traces.flat().length, 'b');
  await exporter.shutdown();
}

const traceIdsOf = (spans: readonly Span[]) => new Set(spans.map((s) => s.traceId));
const makeTraces = (n: number) => Array.from({ length: n }, (_, i) => traceSpans(1 + (i % 3)));
const group = () => `g-${randomBytes(4).toString('hex')}`;

describe('kafka receiver', () => {
  it('config: off by default; brokers required when enabled', () => {
    expect(kafkaReceiverConfigSchema.parse({})).toMatchObject({ enabled: false, topic: 'otlp_spans', group_id: 'flowtrace-process' });
    const r = kafkaReceiverConfigSchema.safeParse({ enabled: true });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['brokers']);
  });

  it('hands what the kafka exporter published to ingest, spans intact', async () => {
    const topic = 'e2e';
    await kafka.createTopic(topic, 4);
    const traces = makeTraces(20);
    await publish(topic, traces);
    const capture = new Capture();
    const { receiver, registry } = await startReceiver(topic, group(), capture);
    const want = traces.flat();
    await waitFor(async () => (capture.spans.length >= want.length ? true : undefined), 'all spans through the receiver');
    expect(receiver.ready).toBe(true);
    expect(capture.spans).toHaveLength(want.length);
    const byId = new Map(capture.spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
    for (const s of want) {
      const got = byId.get(`${s.traceId}/${s.spanId}`);
      expect(got, `${s.traceId}/${s.spanId}`).toBeDefined();
      expect(got!.name).toBe(s.name);
      expect(got!.attributes).toEqual(s.attributes);
      expect(got!.resource.serviceName).toBe('checkout');
    }
    expect(await metric(registry, 'flowtrace_kafka_messages_total', { outcome: 'accepted' })).toBe(traces.length);
    expect(await metric(registry, 'flowtrace_kafka_assigned_partitions')).toBe(4);
    expect(await metric(registry, 'flowtrace_kafka_rebalances_total')).toBeGreaterThanOrEqual(1);
    // Committed past everything: the lag drops to 0 on every partition.
    await waitFor(async () => {
      const lags = (await Promise.all([0, 1, 2, 3].map((p) => metric(registry, 'flowtrace_kafka_partition_lag', { topic, partition: String(p) })))) as Array<number | undefined>;
      return lags.every((l) => l === 0) ? true : undefined;
    }, 'lag 0 on all partitions');
  });

  it('two receivers in one group split the partitions; when one stops the other takes all, nothing lost', async () => {
    const topic = 'split';
    await kafka.createTopic(topic, 4);
    const g = group();
    const captureA = new Capture();
    const captureB = new Capture();
    const a = await startReceiver(topic, g, captureA);
    const b = await startReceiver(topic, g, captureB);
    await waitFor(async () => {
      const [na, nb] = [await metric(a.registry, 'flowtrace_kafka_assigned_partitions'), await metric(b.registry, 'flowtrace_kafka_assigned_partitions')];
      return na! > 0 && nb! > 0 && na! + nb! === 4 ? true : undefined;
    }, 'both receivers assigned, 4 partitions between them');

    const first = makeTraces(24);
    await publish(topic, first);
    await waitFor(async () => (captureA.spans.length + captureB.spans.length >= first.flat().length ? true : undefined), 'first batch consumed');
    expect(captureA.spans.length).toBeGreaterThan(0);
    expect(captureB.spans.length).toBeGreaterThan(0);

    // A second batch, and A stops while it may still be taking its share.
    const second = makeTraces(24);
    await publish(topic, second);
    await a.receiver.shutdown();
    await waitFor(async () => ((await metric(b.registry, 'flowtrace_kafka_assigned_partitions')) === 4 ? true : undefined), 'B assigned all 4 partitions');
    const third = makeTraces(24);
    await publish(topic, third);

    const all = [...first, ...second, ...third].flat();
    await waitFor(async () => {
      const seen = traceIdsOf([...captureA.spans, ...captureB.spans]);
      return all.every((s) => seen.has(s.traceId)) ? true : undefined;
    }, 'every trace of the three batches consumed by A or B');
    const seenB = traceIdsOf(captureB.spans);
    for (const t of third) expect(seenB.has(t[0]!.traceId)).toBe(true);
    // Every span, not just every trace.
    const spanKeys = new Set([...captureA.spans, ...captureB.spans].map((s) => `${s.traceId}/${s.spanId}`));
    for (const s of all) expect(spanKeys.has(`${s.traceId}/${s.spanId}`)).toBe(true);
  }, 90_000);

  it('does not commit before accept resolves: a stuck consumer leaves its messages to the next one', async () => {
    const topic = 'held';
    await kafka.createTopic(topic, 2);
    const traces = makeTraces(6);
    // Messages on both partitions (random trace IDs could all land on one).
    while (new Set(traces.map((t) => javaPartition(Buffer.from(t[0]!.traceId, 'hex'), 2))).size < 2) traces.push(...makeTraces(1));
    await publish(topic, traces);
    const g = group();
    let calls = 0;
    const stuck: Consumer = { consume: () => (calls++, new Promise<void>(() => undefined)) };
    const held = await startReceiver(topic, g, stuck, 300);
    await waitFor(async () => (calls >= 2 ? true : undefined), 'the stuck pipeline called on both partitions');
    // Nothing committed: the lag counts every message.
    await waitFor(async () => {
      const lags = await Promise.all([0, 1].map((p) => metric(held.registry, 'flowtrace_kafka_partition_lag', { topic, partition: String(p) })));
      return (lags[0] ?? 0) + (lags[1] ?? 0) === traces.length ? true : undefined;
    }, 'lag equal to the messages held');
    await held.receiver.shutdown();
    expect(await metric(held.registry, 'flowtrace_kafka_messages_total', { outcome: 'accepted' })).toBe(0);

    const capture = new Capture();
    await startReceiver(topic, g, capture);
    await waitFor(async () => (traceIdsOf(capture.spans).size >= traces.length ? true : undefined), 'the next consumer got every trace');
    expect(traceIdsOf(capture.spans)).toEqual(traceIdsOf(traces.flat()));
  }, 60_000);

  it('waits out backpressure on the same message: nothing skipped, order kept per partition', async () => {
    const topic = 'backpressure';
    await kafka.createTopic(topic, 1);
    const traces = makeTraces(8);
    await publish(topic, traces);
    let refusals = 0;
    const got: Span[][] = [];
    const flaky: Consumer = {
      consume: async (spans) => {
        if (refusals < 5) {
          refusals++;
          throw new QueueFullError('full', 0.01);
        }
        got.push(spans);
      },
    };
    const { registry } = await startReceiver(topic, group(), flaky);
    await waitFor(async () => (traceIdsOf(got.flat()).size >= traces.length ? true : undefined), 'all messages accepted after the refusals');
    expect(refusals).toBe(5);
    // One partition: the order the exporter produced them in (a batch of queued messages is one
    // request, in offset order), each exactly once.
    const order = got.flat().map((span) => span.traceId).filter((id, i, all) => i === 0 || all[i - 1] !== id);
    expect(order).toEqual(traces.map((t) => t[0]!.traceId));
    expect(await metric(registry, 'flowtrace_kafka_messages_total', { outcome: 'accepted' })).toBe(traces.length);
  });

  it('a malformed message is counted and committed past; it does not block its partition', async () => {
    const topic = 'malformed';
    await kafka.createTopic(topic, 1);
    const producer = new Producer({ clientId: 'test', bootstrapBrokers: [kafka.brokers], autocreateTopics: false });
    await producer.send({ messages: [{ topic, key: randomBytes(16), value: Buffer.from('not an OTLP request \xff\xff\xff') }] });
    await producer.close();
    const good = makeTraces(2);
    await publish(topic, good);
    const capture = new Capture();
    const { registry, drops } = await startReceiver(topic, group(), capture);
    await waitFor(async () => (traceIdsOf(capture.spans).size >= good.length ? true : undefined), 'the good messages after the bad one');
    expect(await metric(registry, 'flowtrace_kafka_messages_total', { outcome: 'malformed' })).toBe(1);
    expect(await metric(registry, 'flowtrace_kafka_messages_total', { outcome: 'accepted' })).toBe(2);
    expect(drops.dropped['receiver/invalid']).toBe(1);
    await waitFor(async () => ((await metric(registry, 'flowtrace_kafka_partition_lag', { topic, partition: '0' })) === 0 ? true : undefined), 'committed past all three');
  });
});
