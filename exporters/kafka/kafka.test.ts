/**
 * The kafka exporter against a real broker (Kafka 4.4.0, KRaft: test/helpers/kafka.ts): what
 * lands on the topic is one message per trace, key = trace ID, value = OTLP protobuf, on the
 * partition Java's partitioner picks for the key; a payload of several records is split back
 * into its messages; the broker's refusals and absence are classified for the queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { startKafka, KAFKA_HOOK_TIMEOUT_MS, type RunningKafka } from '../../test/helpers/kafka.js';
import { ExportError } from '../exporter.js';
import { EXPORTER_FACTORIES } from '../registry.js';
import { kafkaExporterConfigSchema } from './config.js';
import { encodeKafkaRecords, KAFKA_RECORDS_ENCODING, splitKafkaRecords } from './records.js';
import { javaPartition, readMessages, startedKafkaExporter, traceSpans } from './kafka.testing.js';

const PARTITIONS = 4;
let kafka: RunningKafka;

beforeAll(async () => {
  kafka = await startKafka({ partitions: PARTITIONS });
}, KAFKA_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await kafka?.stop();
});

describe('kafka exporter config', () => {
  it('is registered as type kafka, with the OTel Collector-style defaults', () => {
    expect(EXPORTER_FACTORIES.kafka.type).toBe('kafka');
    const config = kafkaExporterConfigSchema.parse({ brokers: ['kafka-0:9092'] });
    expect(config).toMatchObject({ topic: 'otlp_spans', client_id: 'flowtrace', compression: 'none', timeout_ms: 10_000, tls: { enabled: false } });
  });

  it('names the key and never echoes the SASL password', () => {
    const missing = kafkaExporterConfigSchema.safeParse({});
    expect(missing.success).toBe(false);
    expect(JSON.stringify(missing.error?.issues)).toContain('brokers');
    const bad = kafkaExporterConfigSchema.safeParse({ brokers: ['http://kafka:9092'], sasl: { mechanism: 'gssapi', username: 'u', password: 'hunter2-secret' } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['brokers.0', 'sasl.mechanism']));
    expect(bad.error!.issues.map((i) => i.message).join('\n')).not.toContain('hunter2-secret');
  });

  it('zstd without Node zstd support stops the start naming the key', async () => {
    const hasZstd = typeof (await import('node:zlib') as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
    const start = startedKafkaExporter({ brokers: ['127.0.0.1:9'], compression: 'zstd' });
    if (hasZstd) await expect(start).resolves.toBeDefined();
    else await expect(start).rejects.toThrow(/exporters\.kafka\/test\.compression: zstd needs Node/);
  });
});

describe('records', () => {
  it('frame one message per trace and split back; a cut frame is refused', () => {
    const a = traceSpans(3);
    const b = traceSpans(2);
    const payload = Buffer.from(encodeKafkaRecords([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!], 1 << 20));
    const messages = splitKafkaRecords(payload);
    expect(messages.map((m) => m.key.toString('hex'))).toEqual([a[0]!.traceId, b[0]!.traceId]);
    expect(decodeTraceRequest(messages[0]!.value).spans.map((s) => s.spanId)).toEqual(a.map((s) => s.spanId));
    expect(() => splitKafkaRecords(payload.subarray(0, payload.length - 1))).toThrow(/only/);
  });
});

describe('kafka exporter → broker', () => {
  it('puts each trace in one message keyed by its trace ID, on the partition the key decides', async () => {
    const topic = 'keyed';
    await kafka.createTopic(topic, PARTITIONS);
    const exporter = await startedKafkaExporter({ brokers: [kafka.brokers], topic });
    expect(exporter.encoding).toBe(KAFKA_RECORDS_ENCODING);
    const traces = Array.from({ length: 24 }, (_, i) => traceSpans(1 + (i % 3)));
    // Two queue records laid end to end, as the durable queue hands them over: one payload.
    const first = exporter.encode(traces.slice(0, 10).flat());
    const second = exporter.encode(traces.slice(10).flat());
    await exporter.send(Buffer.concat([first, second]), traces.flat().length, 'batch-1');
    // The same trace again, later: same key, so same partition.
    await exporter.send(Buffer.from(exporter.encode(traces[0]!)), traces[0]!.length, 'batch-2');
    await exporter.shutdown();

    const messages = await readMessages(kafka.brokers, topic, traces.length + 1);
    expect(messages).toHaveLength(traces.length + 1);
    const partitionsUsed = new Set<number>();
    for (const m of messages) {
      expect(m.key).toHaveLength(16);
      expect(m.partition).toBe(javaPartition(m.key, PARTITIONS));
      partitionsUsed.add(m.partition);
      const decoded = decodeTraceRequest(m.value);
      expect(decoded.rejectedSpans).toBe(0);
      expect(new Set(decoded.spans.map((s) => s.traceId))).toEqual(new Set([m.key.toString('hex')]));
    }
    expect(partitionsUsed.size).toBeGreaterThan(1); // 24 random keys over 4 partitions
    for (const trace of traces) {
      const mine = messages.filter((m) => m.key.toString('hex') === trace[0]!.traceId);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      expect(decodeTraceRequest(mine[0]!.value).spans.map((s) => s.spanId)).toEqual(trace.map((s) => s.spanId));
    }
    expect(messages.filter((m) => m.key.toString('hex') === traces[0]![0]!.traceId)).toHaveLength(2);
  });

  it('takes concurrent sends (the queue sends batches in parallel): each delivered once', async () => {
    const topic = 'concurrent';
    await kafka.createTopic(topic, PARTITIONS);
    const exporter = await startedKafkaExporter({ brokers: [kafka.brokers], topic, max_message_bytes: 2048 });
    const batches = Array.from({ length: 8 }, () => Array.from({ length: 40 }, () => traceSpans(2)));
    // Without one send at a time, interleaved produce requests of the idempotent producer were
    // refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
    await Promise.all(batches.map((traces, i) => exporter.send(Buffer.from(exporter.encode(traces.flat())), traces.length * 2, `c${i}`)));
    await exporter.shutdown();
    const messages = await readMessages(kafka.brokers, topic, 8 * 40);
    expect(new Set(messages.map((m) => m.key.toString('hex'))).size).toBe(8 * 40);
  });

  it('cuts a trace bigger than max_message_bytes into messages of the same key', async () => {
    const topic = 'big-trace';
    await kafka.createTopic(topic, PARTITIONS);
    const exporter = await startedKafkaExporter({ brokers: [kafka.brokers], topic, max_message_bytes: 4096, compression: 'lz4' });
    const trace = traceSpans(60).map((s, i) => ({ ...s, attributes: { ...s.attributes, blob: `${i}`.padEnd(300, 'x') } }));
    const payload = Buffer.from(exporter.encode(trace));
    const parts = splitKafkaRecords(payload);
    expect(parts.length).toBeGreaterThan(4);
    for (const p of parts) expect(p.value.length).toBeLessThanOrEqual(4096);
    await exporter.send(payload, trace.length, 'big');
    await exporter.shutdown();
    const messages = await readMessages(kafka.brokers, topic, parts.length);
    expect(new Set(messages.map((m) => m.partition))).toEqual(new Set([javaPartition(Buffer.from(trace[0]!.traceId, 'hex'), PARTITIONS)]));
    const spanIds = messages.flatMap((m) => decodeTraceRequest(m.value).spans.map((s) => s.spanId));
    expect(spanIds.sort()).toEqual(trace.map((s) => s.spanId).sort());
  });

  it('a record the broker refuses as too large is not retryable', async () => {
    const topic = 'too-large';
    await kafka.createTopic(topic, 1);
    // The broker's message.max.bytes is ~1 MB; this exporter is told it may send 8 MB.
    const exporter = await startedKafkaExporter({ brokers: [kafka.brokers], topic, max_message_bytes: 8 << 20 });
    const [span] = traceSpans(1);
    const huge = { ...span!, attributes: { blob: 'y'.repeat(2 << 20) } };
    const err = await exporter.send(Buffer.from(exporter.encode([huge])), 1, 'huge').then(
      () => undefined,
      (e: unknown) => e,
    );
    await exporter.shutdown();
    expect(err).toBeInstanceOf(ExportError);
    expect((err as ExportError).retryable).toBe(false);
    expect((err as ExportError).message).toMatch(/TOO_LARGE/);
  });

  it('a stopped broker gives a retryable ExportError within timeout_ms', async () => {
    const topic = 'gone';
    await kafka.createTopic(topic, 1);
    const exporter = await startedKafkaExporter({ brokers: [kafka.brokers], topic, timeout_ms: 3000 });
    const trace = traceSpans(2);
    await exporter.send(Buffer.from(exporter.encode(trace)), 2, 'before'); // connected and working
    await kafka.stop();
    const started = Date.now();
    const err = await exporter.send(Buffer.from(exporter.encode(trace)), 2, 'after').then(
      () => undefined,
      (e: unknown) => e,
    );
    await exporter.shutdown();
    expect(err).toBeInstanceOf(ExportError);
    expect((err as ExportError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
