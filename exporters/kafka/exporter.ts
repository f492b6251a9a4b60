import zlib from 'node:zlib';
import { compatibilityPartitioner, Producer } from '@platformatic/kafka';
import type { Span } from '../../collector/src/model/span.js';
import { ExportError, ExporterConfigError, type Exporter, type ExporterContext } from '../exporter.js';
import type { KafkaExporterConfig } from './config.js';
import { kafkaClientConnection, type KafkaClientConnection } from './connection-config.js';
import { classifyKafkaError } from './errors.js';
import { encodeKafkaRecords, KAFKA_RECORDS_ENCODING, splitKafkaRecords, type KafkaMessage } from './records.js';

/** A record's key, value and batch framing on top of its value, as counted against max_message_bytes. */
const MESSAGE_OVERHEAD_BYTES = 96;
/** Client-side retries inside one send before the queue's own backoff takes over. */
const CLIENT_RETRIES = 3;

/**
 * Publishes traces to a Kafka topic (README.md here): one message per trace (or per part of a
 * trace too big for one message), key = the 16-byte trace ID, value = an OTLP protobuf
 * ExportTraceServiceRequest. acks=all with the idempotent producer; a payload is acknowledged to
 * the queue only when every one of its messages is. Delivery is at least once.
 */
export class KafkaExporter implements Exporter {
  readonly encoding = KAFKA_RECORDS_ENCODING;
  private connection: KafkaClientConnection | undefined;
  private producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  /** The send in progress; the next one waits for it (see send). */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly config: KafkaExporterConfig,
    private readonly context: ExporterContext,
  ) {}

  encode(spans: Span[]): Uint8Array {
    return encodeKafkaRecords(spans, this.config.max_message_bytes - MESSAGE_OVERHEAD_BYTES);
  }

  /** Reads the TLS files and checks what can be checked without the brokers (which may come later: the queue holds). */
  async start(): Promise<void> {
    if (this.connection) return;
    if (this.config.compression === 'zstd' && typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync !== 'function') {
      throw new ExporterConfigError(`exporters.${this.name}.compression`, `zstd needs Node.js >= 22.15 (this is ${process.version}): use lz4, snappy or gzip`);
    }
    this.connection = await kafkaClientConnection(this.config, `exporters.${this.name}`);
    this.context.logger.info(
      { exporter: this.name, brokers: this.config.brokers, topic: this.config.topic, compression: this.config.compression, tls: this.config.tls.enabled, sasl: this.config.sasl?.mechanism ?? 'none' },
      'kafka exporter started',
    );
  }

  /**
   * One send at a time: the queue sends `concurrency` batches at once, and an idempotent
   * producer's sequence numbers go out of order when two sends interleave their produce
   * requests (the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER; measured with two concurrent
   * sends). A send is already many messages, spread over the partitions' leaders.
   */
  async send(payload: Buffer, spanCount: number, batchId: string): Promise<void> {
    const previous = this.sending;
    let release!: () => void;
    this.sending = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      await this.sendNow(payload, spanCount, batchId);
    } finally {
      release();
    }
  }

  private async sendNow(payload: Buffer, spanCount: number, batchId: string): Promise<void> {
    if (!this.connection) throw new Error(`exporter ${this.name} is not started`);
    let messages: KafkaMessage[];
    try {
      messages = splitKafkaRecords(payload);
    } catch (err) {
      // The queue checks its records; a payload that does not split is damaged for good.
      throw new ExportError(`kafka exporter ${this.name}: ${(err as Error).message}`, false);
    }
    if (messages.length === 0) return;
    const producer = this.ensureProducer();
    try {
      for (const chunk of chunks(messages, this.config.max_message_bytes)) {
        await withTimeout(
          producer.send({ messages: chunk.map((m) => ({ topic: this.config.topic, key: m.key, value: m.value })) }),
          this.config.timeout_ms,
        );
      }
    } catch (err) {
      // A fresh producer next time: no idempotence state (sequence numbers, epoch) from a failed exchange.
      this.dropProducer();
      const verdict = classifyKafkaError(err);
      this.context.logger.debug({ exporter: this.name, batchId, spanCount, messages: messages.length, error: verdict.summary }, 'kafka send failed');
      throw new ExportError(`kafka exporter ${this.name}: ${verdict.summary}`, verdict.retryable);
    }
  }

  async shutdown(): Promise<void> {
    this.dropProducer();
    this.connection = undefined;
  }

  private ensureProducer(): Producer<Buffer, Buffer, Buffer, Buffer> {
    if (!this.producer) {
      this.producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...this.connection!,
        idempotent: true,
        acks: -1,
        compression: this.config.compression,
        partitioner: compatibilityPartitioner, // Java's: the partition other clients pick for the same trace ID
        autocreateTopics: false,
        timeout: this.config.timeout_ms,
        connectTimeout: Math.min(this.config.timeout_ms, 5_000),
        retries: CLIENT_RETRIES,
        retryDelay: 200,
      });
    }
    return this.producer;
  }

  private dropProducer(): void {
    const producer = this.producer;
    this.producer = undefined;
    // Closing waits for nothing we still need; its errors (a dead broker) are not news.
    producer?.close().catch(() => undefined);
  }
}

/** Messages in produce requests of at most `maxBytes` (a message bigger than that goes alone). */
function* chunks(messages: KafkaMessage[], maxBytes: number): Generator<KafkaMessage[]> {
  let current: KafkaMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = m.key.length + m.value.length + MESSAGE_OVERHEAD_BYTES;
    if (current.length > 0 && bytes + size > maxBytes) {
      yield current;
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) yield current;
}

class SendTimeoutError extends Error {
  override name = 'SendTimeoutError';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendTimeoutError(`no acknowledgement from the brokers in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
