import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { kafkaClientConnection } from '../../../../exporters/kafka/connection-config.js';
import { classifyKafkaError } from '../../../../exporters/kafka/errors.js';
import type { DropRecorder } from '../../pipeline/drops.js';
import type { Ingest, IngestRequest } from '../ingest.js';
import { OtlpDecodeError, RequestTooLargeError } from '../otlp/errors.js';
import type { KafkaReceiverConfig } from './config.js';

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export interface KafkaReceiverOptions {
  registry: Registry;
  drops: DropRecorder;
  /** How long shutdown() waits for messages being accepted before it leaves them to the next owner. */
  shutdownTimeoutMs?: number;
}

/** Why handling a message stopped before it was accepted: the receiver stops, or the partition went to another member. */
type Abandoned = 'abandoned';

/** One assigned partition: its messages are accepted in offset order, a batch at a time. */
interface Lane {
  readonly topic: string;
  readonly partition: number;
  queue: KafkaMessage[];
  running: boolean;
  /** Messages at the head of `queue` being accepted now. */
  inFlight: number;
  /** Set when the partition is taken away: nothing more of it is accepted or committed here. */
  revoked: boolean;
  /** Every message before this offset was accepted (or counted as malformed) here. */
  done?: bigint;
  /** The offset last committed for the group. */
  committed?: bigint;
  /** The last offset queued (a refetch after a rebalance can hand the same messages again). */
  lastQueued?: bigint;
}

/**
 * Queued messages of a partition are accepted together, up to this many bytes: OTLP requests
 * concatenate into one (their resource_spans are a repeated field), so a batch is one pass
 * through ingest and one journal write instead of one per message (measured: one message at a
 * time, a process collector took under 1,000 spans/s, each message waiting on its own fsync).
 */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_MESSAGES = 2_000;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
/** A commit that failed (coordinator moving, broker away) is tried again this soon. */
const COMMIT_RETRY_MS = 1000;
/** Reconnect delay after the consumer failed (broker away at start, stream destroyed). */
const RESTART_MS = 2000;

/**
 * Reads OTLP traces from a Kafka topic in a consumer group (README.md: "Kafka between ingest
 * and process") and hands each message to ingest like an OTLP request.
 *
 * A partition's messages are accepted in order, a batch of queued ones at a time; its offset is committed only
 * past messages that were accepted, and accept resolves once the spans are durable here
 * (journal/queue fsync'd). So a message is never acknowledged to Kafka before this collector
 * keeps it: if the process dies, the next owner of the partition reads it again (at least once).
 * Backpressure (the pipeline's QueueFullError) is waited out on the same message, with fetching
 * paused once `max_buffered_mib` is held; nothing is skipped. A message that does not decode is
 * counted (requests refused, drop ledger) and committed past, so it cannot block its partition.
 */
export class KafkaReceiver {
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private readonly lanes = new Map<string, Lane>();
  private assigned = new Set<string>();
  private joined = false;
  private stopping = false;
  private bufferedBytes = 0;
  private paused = false;
  private commitRunning: Promise<void> | undefined;
  private commitAgain = false;
  private commitRetry: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  /** Wakes the lanes' retry sleeps on shutdown. */
  private wake = new AbortController();
  private readonly maxBufferedBytes: number;

  private readonly lag: Gauge<'topic' | 'partition'>;
  private readonly rebalances: Counter;
  private readonly messages: Counter<'outcome'>;
  private readonly assignedGauge: Gauge;

  constructor(
    private readonly config: KafkaReceiverConfig,
    private readonly ingest: Ingest,
    private readonly logger: Logger,
    private readonly options: KafkaReceiverOptions,
  ) {
    this.maxBufferedBytes = config.max_buffered_mib * 1024 * 1024;
    const registers = [options.registry];
    this.lag = new Gauge({ name: 'flowtrace_kafka_partition_lag', help: 'Messages in an assigned partition after the offset this receiver committed.', labelNames: ['topic', 'partition'] as const, registers });
    this.rebalances = new Counter({ name: 'flowtrace_kafka_rebalances_total', help: 'Times the consumer group gave this receiver a new assignment.', registers });
    this.messages = new Counter({ name: 'flowtrace_kafka_messages_total', help: 'Kafka messages handled: accepted (spans kept), malformed (did not decode; committed past), too_large (refused; committed past).', labelNames: ['outcome'] as const, registers });
    this.assignedGauge = new Gauge({ name: 'flowtrace_kafka_assigned_partitions', help: 'Partitions of the topic assigned to this receiver.', registers });
    for (const outcome of ['accepted', 'malformed', 'too_large']) this.messages.inc({ outcome }, 0);
  }

  /** True once the receiver has joined its consumer group (and until shutdown). */
  get ready(): boolean {
    return this.joined && !this.stopping;
  }

  /**
   * Starts joining the group and returns; a broker that is not there yet is retried in the
   * background (see `ready`). Throws only for settings that cannot work (unreadable TLS files).
   */
  async start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = (async () => {
      const connection = await kafkaClientConnection({ ...this.config, brokers: this.config.brokers ?? [] }, 'receivers.kafka');
      this.logger.info({ brokers: this.config.brokers, topic: this.config.topic, group: this.config.group_id, tls: this.config.tls.enabled, sasl: this.config.sasl?.mechanism ?? 'none' }, 'kafka receiver starting');
      this.connect(connection);
      this.lagTimer = setInterval(() => void this.refreshLag(), this.config.lag_interval_ms);
      this.lagTimer.unref();
    })();
    return this.starting;
  }

  /**
   * Stops fetching, lets the messages being accepted finish (up to shutdownTimeoutMs), commits
   * what was accepted, and leaves the group so that the partitions move to the other members at once.
   */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.lagTimer);
    clearTimeout(this.restartTimer);
    clearTimeout(this.commitRetry);
    this.stream?.pause();
    this.wake.abort();
    for (const lane of this.lanes.values()) this.dropQueued(lane);
    await this.settleLanes(this.options.shutdownTimeoutMs ?? 5000);
    await this.commitNow().catch(() => undefined);
    await this.closeConsumer();
    this.joined = false;
    this.assignedGauge.set(0);
    this.logger.info({ topic: this.config.topic, group: this.config.group_id }, 'kafka receiver stopped');
  }

  // -------------------------------------------------------------------------------------------
  // the consumer

  private connect(connection: Awaited<ReturnType<typeof kafkaClientConnection>>): void {
    if (this.stopping) return;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...connection,
      groupId: this.config.group_id,
      sessionTimeout: this.config.session_timeout_ms,
      heartbeatInterval: this.config.heartbeat_interval_ms,
      rebalanceTimeout: this.config.session_timeout_ms,
      autocreateTopics: false,
    });
    this.consumer = consumer;
    consumer.on('consumer:group:join', (payload) => this.onAssignment(payload.assignments ?? [], true));
    // Before the group moves partitions: commit what is done, while this generation may still commit.
    consumer.on('consumer:group:rebalance', () => void this.commitNow().catch(() => undefined));
    consumer
      .consume({
        topics: [this.config.topic],
        mode: 'committed',
        fallbackMode: this.config.initial_offset,
        autocommit: false,
        maxBytes: this.config.max_bytes_per_poll,
        maxWaitTime: 500,
        sessionTimeout: this.config.session_timeout_ms,
        heartbeatInterval: this.config.heartbeat_interval_ms,
        rebalanceTimeout: this.config.session_timeout_ms,
      })
      .then((stream) => {
        if (this.stopping || this.consumer !== consumer) {
          void stream.close().catch(() => undefined);
          return;
        }
        this.stream = stream;
        stream.on('data', (message: KafkaMessage) => this.onMessage(message));
        stream.on('error', (err: Error) => this.logger.warn({ err: kafkaReason(err), topic: this.config.topic }, 'kafka receiver: consumer error'));
        stream.on('close', () => {
          if (!this.stopping && this.stream === stream) this.restart(connection, 'the message stream closed');
        });
        if (this.paused) stream.pause();
      })
      .catch((err: unknown) => this.restart(connection, kafkaReason(err)));
  }

  private restart(connection: Awaited<ReturnType<typeof kafkaClientConnection>>, why: string): void {
    if (this.stopping) return;
    this.logger.warn({ reason: why, topic: this.config.topic, group: this.config.group_id, retryInMs: RESTART_MS }, 'kafka receiver: reconnecting');
    this.joined = false;
    this.onAssignment([], false); // another member may get our partitions meanwhile: nothing more is committed for them
    const old = this.consumer;
    this.consumer = undefined;
    this.stream = undefined;
    if (old) void closeQuietly(old, true);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.connect(connection), RESTART_MS);
  }

  private async closeConsumer(): Promise<void> {
    const consumer = this.consumer;
    const stream = this.stream;
    this.consumer = undefined;
    this.stream = undefined;
    await stream?.close().catch(() => undefined);
    // Leaving the group (not force): the coordinator reassigns our partitions now, not after session_timeout_ms.
    if (consumer && !(await closeQuietly(consumer, false))) await closeQuietly(consumer, true);
  }

  private onAssignment(assignments: readonly { topic: string; partitions: number[] }[], joined: boolean): void {
    const next = new Set<string>();
    for (const a of assignments) if (a.topic === this.config.topic) for (const p of a.partitions) next.add(laneKey(a.topic, p));
    for (const [key, lane] of this.lanes) {
      if (next.has(key)) continue;
      // Revoked: what is queued is dropped (the next owner reads it from the committed offset);
      // a message being accepted finishes, but its offset is not committed from here.
      lane.revoked = true;
      this.dropQueued(lane);
      this.lanes.delete(key);
      this.lag.remove({ topic: lane.topic, partition: String(lane.partition) });
    }
    this.assigned = next;
    if (joined) {
      this.joined = true;
      this.rebalances.inc();
    }
    this.assignedGauge.set(next.size);
    this.logger.info({ topic: this.config.topic, group: this.config.group_id, partitions: [...next].map((k) => Number(k.split(':').pop())) }, 'kafka receiver: partitions assigned');
    this.maybeResume();
  }

  // -------------------------------------------------------------------------------------------
  // messages

  private onMessage(message: KafkaMessage): void {
    const key = laneKey(message.topic, message.partition);
    if (this.stopping || !this.assigned.has(key)) return; // fetched before a rebalance: the new owner reads it
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { topic: message.topic, partition: message.partition, queue: [], running: false, inFlight: 0, revoked: false };
      this.lanes.set(key, lane);
    }
    // Already accepted, or already queued: a refetch from the committed offset after a rebalance.
    if (lane.done !== undefined && message.offset < lane.done) return;
    if (lane.lastQueued !== undefined && message.offset <= lane.lastQueued) return;
    lane.lastQueued = message.offset;
    lane.queue.push(message);
    this.bufferedBytes += messageBytes(message);
    if (this.bufferedBytes > this.maxBufferedBytes && !this.paused) {
      this.paused = true;
      this.stream?.pause();
    }
    if (!lane.running) void this.runLane(lane);
  }

  private async runLane(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.queue.length > 0 && !lane.revoked && !this.stopping) {
        const batch = headBatch(lane.queue);
        lane.inFlight = batch.length;
        const outcome = await this.handleBatch(batch, lane);
        lane.inFlight = 0;
        // Accepted or abandoned (the next owner reads it from the committed offset), the batch is no longer held here.
        if (lane.queue[0] === batch[0]) {
          for (const m of lane.queue.splice(0, batch.length)) this.bufferedBytes -= messageBytes(m);
        }
        if (outcome === 'abandoned' || lane.revoked) {
          this.maybeResume();
          break;
        }
        lane.done = batch[batch.length - 1]!.offset + 1n;
        this.scheduleCommit();
        this.maybeResume();
      }
    } finally {
      lane.running = false;
    }
  }

  /**
   * Accepts a batch as one request; when it cannot be (a message that does not decode, or the
   * whole too large), message by message, so only the bad one is refused.
   */
  private async handleBatch(batch: readonly KafkaMessage[], lane: Lane): Promise<'done' | Abandoned> {
    if (batch.length === 1) return this.handle(batch[0]!, lane);
    // A message whose last field runs past its end would take the next message's bytes as its own when concatenated.
    if (!batch.every((m) => endsWhole(m.value ?? Buffer.alloc(0)))) return this.handleEach(batch, lane);
    const bytes = Buffer.concat(batch.map((m) => m.value ?? Buffer.alloc(0)));
    let request: IngestRequest | undefined;
    try {
      request = await this.ingest.readProtobuf('kafka', bytes);
    } catch {
      request = undefined;
    }
    const outcome = request === undefined ? { refusedBy: undefined } : await this.accept(request, bytes.length, lane, batch.length);
    if (typeof outcome === 'string') return outcome;
    return this.handleEach(batch, lane);
  }

  private async handleEach(batch: readonly KafkaMessage[], lane: Lane): Promise<'done' | Abandoned> {
    for (const message of batch) {
      if ((await this.handle(message, lane)) === 'abandoned') return 'abandoned';
    }
    return 'done';
  }

  /** Decodes and accepts one message, waiting out backpressure; resolves once it may be committed past. */
  private async handle(message: KafkaMessage, lane: Lane): Promise<'done' | Abandoned> {
    const bytes = message.value ?? Buffer.alloc(0);
    let request: IngestRequest;
    try {
      request = await this.ingest.readProtobuf('kafka', bytes);
    } catch (err) {
      return this.refuse(message, err);
    }
    const outcome = await this.accept(request, bytes.length, lane, 1);
    return typeof outcome === 'string' ? outcome : this.refuse(message, outcome.refusedBy);
  }

  /**
   * Accepts a decoded request holding `messages` messages, waiting out backpressure; the error
   * when it can never be accepted as it is (too large, or malformed past decoding).
   */
  private async accept(request: IngestRequest, byteLength: number, lane: Lane, messages: number): Promise<'done' | Abandoned | { refusedBy: unknown }> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopping || lane.revoked) return 'abandoned';
      try {
        await this.ingest.accept('kafka', request, { bytes: byteLength });
        this.messages.inc({ outcome: 'accepted' }, messages);
        return 'done';
      } catch (err) {
        if (err instanceof RequestTooLargeError || err instanceof OtlpDecodeError) return { refusedBy: err };
        // Backpressure (QueueFullError), the pipeline unavailable, a quota: the same message again, later.
        const hint = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
        const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 10));
        const delay = typeof hint === 'number' && hint > 0 ? Math.min(hint * 1000, backoff) : backoff;
        if (attempt === 0 || attempt % 20 === 0) {
          this.logger.debug({ err: describe(err), topic: lane.topic, partition: lane.partition, messages, attempt }, 'kafka receiver: waiting to accept messages');
        }
        await sleep(delay, this.wake.signal);
      }
    }
  }

  /** A message that can never be accepted: counted, then committed past. */
  private refuse(message: KafkaMessage, err: unknown): 'done' {
    const tooLarge = err instanceof RequestTooLargeError;
    // The OTLP receivers count malformed requests here; too_large ones ingest has counted already.
    if (!tooLarge) this.ingest.refused('kafka', 'malformed');
    // The spans inside are unknown: the ledger counts the message as one.
    this.options.drops.count('receiver', 'invalid', '', 1);
    this.messages.inc({ outcome: tooLarge ? 'too_large' : 'malformed' });
    this.logger.warn(
      { topic: message.topic, partition: message.partition, offset: String(message.offset), bytes: message.value?.length ?? 0, err: describe(err) },
      tooLarge ? 'kafka receiver: message too large, skipped' : 'kafka receiver: message is not an OTLP trace request, skipped',
    );
    return 'done';
  }

  private dropQueued(lane: Lane): void {
    for (const m of lane.queue) this.bufferedBytes -= messageBytes(m);
    // Keep the batch being handled: runLane removes it when handleBatch() returns.
    lane.queue = lane.running ? lane.queue.slice(0, lane.inFlight) : [];
    for (const m of lane.queue) this.bufferedBytes += messageBytes(m);
  }

  private maybeResume(): void {
    if (this.paused && !this.stopping && this.bufferedBytes <= this.maxBufferedBytes / 2) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  /** Waits until no lane is handling a message, or `timeoutMs`. */
  private async settleLanes(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.lanes.values()].some((l) => l.running) && Date.now() < deadline) await sleep(20);
  }

  // -------------------------------------------------------------------------------------------
  // commits

  /** Commits soon, once for everything accepted meanwhile. */
  private scheduleCommit(): void {
    if (this.commitRunning) {
      this.commitAgain = true;
      return;
    }
    this.commitRunning = this.commitLoop().finally(() => (this.commitRunning = undefined));
  }

  private async commitLoop(): Promise<void> {
    do {
      this.commitAgain = false;
      try {
        await this.commitOnce();
      } catch (err) {
        this.logger.debug({ err: kafkaReason(err), group: this.config.group_id }, 'kafka receiver: commit failed; will retry');
        if (!this.stopping) {
          clearTimeout(this.commitRetry);
          this.commitRetry = setTimeout(() => this.scheduleCommit(), COMMIT_RETRY_MS);
        }
        return;
      }
    } while (this.commitAgain);
  }

  /** Commits now (waiting for a commit under way first). */
  private async commitNow(): Promise<void> {
    await this.commitRunning;
    await this.commitOnce();
  }

  private async commitOnce(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    const lanes = [...this.lanes.values()].filter((l) => !l.revoked && l.done !== undefined && (l.committed === undefined || l.done > l.committed));
    if (lanes.length === 0) return;
    const offsets = lanes.map((l) => ({ lane: l, offset: l.done! }));
    // The leader epoch is not known per message here; -1 tells the broker not to check it.
    await consumer.commit({ offsets: offsets.map(({ lane, offset }) => ({ topic: lane.topic, partition: lane.partition, offset, leaderEpoch: -1 })) });
    for (const { lane, offset } of offsets) if (lane.committed === undefined || offset > lane.committed) lane.committed = offset;
  }

  // -------------------------------------------------------------------------------------------
  // lag

  private async refreshLag(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.assigned.size === 0) return;
    try {
      const partitions = [...this.assigned].map((k) => Number(k.split(':').pop()));
      const latest = await consumer.listOffsets({ topics: [this.config.topic] });
      const committed = await consumer.listCommittedOffsets({ topics: [{ topic: this.config.topic, partitions }] });
      const ends = latest.get(this.config.topic) ?? [];
      const commits = committed.get(this.config.topic) ?? [];
      for (const p of partitions) {
        const end = ends[p];
        if (end === undefined) continue;
        const mine = this.lanes.get(laneKey(this.config.topic, p))?.committed;
        const atBroker = commits[p] ?? -1n;
        const from = mine !== undefined && mine > atBroker ? mine : atBroker >= 0n ? atBroker : 0n;
        this.lag.set({ topic: this.config.topic, partition: String(p) }, Number(end > from ? end - from : 0n));
      }
    } catch (err) {
      this.logger.debug({ err: kafkaReason(err) }, 'kafka receiver: lag not refreshed');
    }
  }
}

/** Closes a consumer (leaving the group unless `force`); resolves to whether that went without error. */
function closeQuietly(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>, force: boolean): Promise<boolean> {
  return new Promise((resolve) => consumer.close(force, (err) => resolve(!err)));
}

function laneKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

function messageBytes(m: KafkaMessage): number {
  return (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
}

/** A Kafka client error in one line with its broker error names and root cause ("findGroupCoordinator failed 4 times" alone does not say that the login was refused). */
function kafkaReason(err: unknown): string {
  return classifyKafkaError(err).summary;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * True when the top-level protobuf fields of `bytes` end exactly at its end: only such messages
 * concatenate into the request they are one by one (a truncated field would swallow the next).
 */
function endsWhole(bytes: Uint8Array): boolean {
  let pos = 0;
  const readVarint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 70 && pos < bytes.length; shift += 7) {
      const b = bytes[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const tag = readVarint();
    if (tag === undefined || tag < 8) return false;
    const wireType = tag % 8;
    if (wireType === 0) {
      if (readVarint() === undefined) return false;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const length = readVarint();
      if (length === undefined) return false;
      pos += length;
    } else return false; // groups: not in an OTLP trace request
    if (pos > bytes.length) return false;
  }
  return true;
}

/** The messages at the head of a partition's queue accepted together (at least one). */
function headBatch(queue: readonly KafkaMessage[]): KafkaMessage[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < BATCH_MESSAGES) {
    const size = queue[n]!.value?.length ?? 0;
    if (n > 0 && bytes + size > BATCH_BYTES) break;
    bytes += size;
    n++;
  }
  return queue.slice(0, n);
}
