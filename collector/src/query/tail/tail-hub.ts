import type { Span } from '../../model/span.js';
import { matches, tailLine, type TailFilter } from './tail-line.js';

/** Defaults: how many tail clients at once, and how many spans each may have waiting. */
export const DEFAULT_MAX_CLIENTS = 16;
/** Streams one principal may hold at once, so that one token cannot take every slot. */
export const DEFAULT_MAX_CLIENTS_PER_PRINCIPAL = 4;
export const DEFAULT_QUEUE_SPANS = 1000;
/**
 * Spans encoded per second for all clients together: what bounds the tail's cost to ingest
 * however fast spans arrive (≈1.4 µs each: bench/tail.ts). Beyond it, spans are dropped and
 * counted for the clients they matched, as for a slow client.
 */
export const DEFAULT_MAX_SPANS_PER_SECOND = 10_000;

export interface TailHubOptions {
  /** Clients at once; `subscribe` refuses more (the route answers 429). */
  maxClients: number;
  /** Clients one principal may hold at once (`api.tail.max_clients_per_principal`; absent: `maxClients`); beyond it, 429 too. */
  maxClientsPerPrincipal?: number;
  /** Spans waiting per client; beyond it new spans are dropped and counted for that client. */
  queueSpans: number;
  /** Spans encoded per second for all clients together (the rest dropped and counted). */
  maxSpansPerSecond?: number;
  /** Between heartbeat comments on an idle stream (the route's default when absent). */
  heartbeatMs?: number;
  /** Where clients, spans sent, spans dropped and refusals are counted (the collector's /metrics). */
  metrics?: TailMetrics;
  /** The clock, in ms (tests). */
  now?: () => number;
}

/** Why a span matched for a client did not reach it. */
export type TailDropReason = 'slow_client' | 'rate_limit';

/**
 * What the hub counts, for the collector's own Prometheus registry (telemetry.ts). Called once
 * per batch, not per span.
 */
export interface TailMetrics {
  /** Clients connected now. */
  clients(count: number): void;
  /** Spans handed to clients' connections (one per client a span reaches). */
  sent(count: number): void;
  /** Spans a client matched but will not get: its queue was full (slow client), or the encoding rate cap was reached. */
  dropped(reason: TailDropReason, count: number): void;
  /** A client refused at `maxClients`. */
  refused(): void;
}

/** What a client's writer takes at once: the lines waiting and how many were dropped since the last take. */
export interface TailBatch {
  lines: string[];
  dropped: number;
}

/**
 * One tail client: a bounded queue of ready-made lines. `offer` never blocks and never grows
 * the queue past its bound (the span is counted as dropped instead); the client's writer
 * `take`s everything waiting when it can write.
 */
export class TailSubscriber {
  private lines: string[] = [];
  private droppedSinceTake = 0;
  /** Every span this client missed because its queue was full. */
  droppedTotal = 0;
  closed = false;

  constructor(
    readonly filter: TailFilter,
    private readonly capacity: number,
    /** Called after a span is queued or dropped, so that the writer wakes up. */
    private readonly wake: () => void,
    private readonly metrics?: TailMetrics,
  ) {}

  /** Queues a line; false (and the span counted as dropped for this client) when the queue is full. */
  offer(line: string): boolean {
    if (this.lines.length < this.capacity) {
      this.lines.push(line);
      this.wake();
      return true;
    }
    this.drop();
    return false;
  }

  /** Counts a span this client will not get. */
  drop(): void {
    this.droppedSinceTake++;
    this.droppedTotal++;
    this.wake();
  }

  /** Room left in the queue. */
  get room(): number {
    return this.capacity - this.lines.length;
  }

  /** Everything waiting, for the writer to send now (counted as sent); the queue is empty afterwards. */
  take(): TailBatch {
    const batch = { lines: this.lines, dropped: this.droppedSinceTake };
    this.lines = [];
    this.droppedSinceTake = 0;
    if (batch.lines.length > 0) this.metrics?.sent(batch.lines.length);
    return batch;
  }

  get waiting(): number {
    return this.lines.length;
  }
}

/** The tail clients were at their limit: answered 429. */
export class TailFullError extends Error {
  override name = 'TailFullError';
  readonly statusCode = 429;
  constructor(max: number, yours = false) {
    super(yours ? `you have ${max} live tail streams open already (the most one caller may hold); close one first` : `too many live tail clients (at most ${max}); try again when one disconnects`);
  }
}

/** Spans matched for subscribers, to be handed over once the pipeline accepted them. */
export interface TailDelivery {
  deliver(): void;
}

/**
 * Where accepted spans meet live tail clients (the pipeline's tail tap publishes; the
 * `/api/tail` route subscribes). Cost on the ingest path: nothing per span while no client
 * listens (`prepare` returns before looking at the batch); with clients, one filter check per
 * span and client and at most one JSON encoding per span, shared by every client it matches,
 * and no encoding for a client whose queue is full. Encodings are capped per second for all
 * clients together, so the cost stays bounded however fast spans arrive. Slow clients never
 * hold ingest up: their queues are bounded and what does not fit is dropped, counted per client.
 */
export class TailHub {
  private readonly subscribers = new Set<TailSubscriber>();
  /** Streams open per principal ID. */
  private readonly perPrincipal = new Map<string, number>();
  private readonly owners = new WeakMap<TailSubscriber, string>();
  /** Lines encoded since start (each span at most once, however many clients match it): for tests and metrics. */
  encodedLines = 0;
  private readonly maxPerSecond: number;
  private readonly now: () => number;
  /** Encodings allowed right now (a token bucket holding at most one second's worth). */
  private budget: number;
  private refilledAt: number;

  private readonly metrics: TailMetrics | undefined;

  constructor(readonly options: TailHubOptions = { maxClients: DEFAULT_MAX_CLIENTS, queueSpans: DEFAULT_QUEUE_SPANS }) {
    this.maxPerSecond = options.maxSpansPerSecond ?? DEFAULT_MAX_SPANS_PER_SECOND;
    this.now = options.now ?? Date.now;
    this.budget = this.maxPerSecond;
    this.refilledAt = this.now();
    this.metrics = options.metrics;
    this.metrics?.clients(0);
  }

  get listening(): boolean {
    return this.subscribers.size > 0;
  }

  get clients(): number {
    return this.subscribers.size;
  }

  /**
   * A new client; throws TailFullError at `maxClients`, or when `principalId` holds
   * `maxClientsPerPrincipal` already. Without a principal ID (callers that cannot be told apart,
   * e.g. anonymous ones) only `maxClients` applies.
   */
  subscribe(filter: TailFilter, wake: () => void, principalId?: string): TailSubscriber {
    if (this.subscribers.size >= this.options.maxClients) {
      this.metrics?.refused();
      throw new TailFullError(this.options.maxClients);
    }
    const perPrincipal = this.options.maxClientsPerPrincipal ?? this.options.maxClients;
    const held = principalId === undefined ? 0 : (this.perPrincipal.get(principalId) ?? 0);
    if (held >= perPrincipal) {
      this.metrics?.refused();
      throw new TailFullError(perPrincipal, true);
    }
    const subscriber = new TailSubscriber(filter, this.options.queueSpans, wake, this.metrics);
    if (principalId !== undefined) {
      this.perPrincipal.set(principalId, held + 1);
      this.owners.set(subscriber, principalId);
    }
    this.subscribers.add(subscriber);
    this.metrics?.clients(this.subscribers.size);
    return subscriber;
  }

  unsubscribe(subscriber: TailSubscriber): void {
    subscriber.closed = true;
    if (!this.subscribers.delete(subscriber)) return;
    const owner = this.owners.get(subscriber);
    if (owner !== undefined) {
      const held = (this.perPrincipal.get(owner) ?? 1) - 1;
      if (held > 0) this.perPrincipal.set(owner, held);
      else this.perPrincipal.delete(owner);
    }
    this.metrics?.clients(this.subscribers.size);
  }

  /** Every client, e.g. to end their streams at shutdown. */
  all(): TailSubscriber[] {
    return [...this.subscribers];
  }

  /**
   * Matches and encodes a batch now (as it is at this point of the pipeline, before later
   * stages change it) and returns what to hand the clients once the batch is accepted; undefined,
   * without reading the batch, when no client listens or none matches.
   */
  prepare(spans: readonly Span[]): TailDelivery | undefined {
    if (this.subscribers.size === 0) return undefined;
    this.refill();
    const targets: TailSubscriber[] = [];
    const lines: string[] = [];
    const subscribers = [...this.subscribers];
    // Room each client has left, less what this batch already holds for it: a full client costs no encoding.
    const room = subscribers.map((s) => s.room);
    let slow = 0;
    let capped = 0;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      let line: string | undefined;
      for (let k = 0; k < subscribers.length; k++) {
        const s = subscribers[k]!;
        if (!matches(span, s.filter)) continue;
        if (room[k]! <= 0) {
          s.drop();
          slow++;
          continue;
        }
        if (line === undefined) {
          if (this.budget < 1) {
            s.drop();
            capped++;
            continue;
          }
          this.budget--;
          line = tailLine(span);
          this.encodedLines++;
        }
        room[k]!--;
        targets.push(s);
        lines.push(line);
      }
    }
    if (slow > 0) this.metrics?.dropped('slow_client', slow);
    if (capped > 0) this.metrics?.dropped('rate_limit', capped);
    if (targets.length === 0) return undefined;
    return {
      deliver: () => {
        // A client's queue can have filled since matching (other batches delivered first).
        let full = 0;
        for (let i = 0; i < targets.length; i++) if (!targets[i]!.closed && !targets[i]!.offer(lines[i]!)) full++;
        if (full > 0) this.metrics?.dropped('slow_client', full);
      },
    };
  }

  private refill(): void {
    const now = this.now();
    this.budget = Math.min(this.maxPerSecond, this.budget + ((now - this.refilledAt) * this.maxPerSecond) / 1000);
    this.refilledAt = now;
  }

  /** Matches, encodes and hands over at once. */
  publish(spans: readonly Span[]): void {
    this.prepare(spans)?.deliver();
  }
}
