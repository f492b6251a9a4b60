import { Counter, type Registry } from 'prom-client';
import type { Span } from '../model/span.js';
import { QueueFullError } from '../pipeline/stage.js';
import type { IngestContext } from './ingest.js';
import type { QuotaConfig } from './quota-config.js';

/** Milliseconds on a monotonic clock (injectable for tests). */
export type Clock = () => number;

/** Keys whose buckets are tracked at most, per limiter: service names and client addresses come from clients. */
const MAX_KEYS = 10_000;
/** How often idle (full again) buckets are swept out. */
const SWEEP_INTERVAL_MS = 10_000;

/**
 * A token bucket holding one second of its rate. A request larger than the whole bucket is let
 * through when the bucket is full and leaves it in debt, so an oversize request is slowed down,
 * not refused for ever.
 */
class Bucket {
  constructor(
    public tokens: number,
    public updatedMs: number,
  ) {}
}

/** Per-key token buckets for one quantity (spans or bytes) at one rate. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweepMs: number;

  constructor(
    /** Units per second; also the burst (one second's worth). */
    readonly rate: number,
    clock: Clock,
  ) {
    this.lastSweepMs = clock();
  }

  /** Seconds until `cost` fits for `key` (0 when it fits now). */
  waitSeconds(key: string, cost: number, nowMs: number): number {
    const tokens = this.tokensAt(key, nowMs);
    const need = Math.min(cost, this.rate);
    return tokens >= need ? 0 : (need - tokens) / this.rate;
  }

  take(key: string, cost: number, nowMs: number): void {
    const tokens = this.tokensAt(key, nowMs) - cost;
    const bucket = this.buckets.get(key);
    if (bucket) {
      bucket.tokens = tokens;
      bucket.updatedMs = nowMs;
      return;
    }
    if (this.buckets.size >= MAX_KEYS) this.evictOldest();
    this.buckets.set(key, new Bucket(tokens, nowMs));
  }

  /** Drops buckets that have refilled: a full bucket is the same as no bucket. */
  sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    for (const [key, bucket] of this.buckets) if (this.refilled(bucket, nowMs) >= this.rate) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  private tokensAt(key: string, nowMs: number): number {
    const bucket = this.buckets.get(key);
    return bucket ? this.refilled(bucket, nowMs) : this.rate;
  }

  private refilled(bucket: Bucket, nowMs: number): number {
    return Math.min(this.rate, bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.rate);
  }

  /** Over the key cap: forget the least recently inserted key (it starts again with a full bucket). */
  private evictOldest(): void {
    const first = this.buckets.keys().next();
    if (!first.done) this.buckets.delete(first.value);
  }
}

type QuotaKind = 'token' | 'service';

interface Charge {
  kind: QuotaKind;
  limiter: KeyedRateLimiter;
  key: string;
  cost: number;
}

/**
 * Ingest quotas (`receivers.otlp.quotas`): spans/s and bytes/s per sender (the ingest principal,
 * or the client address when ingest is unauthenticated) and per service (`service.name`). A
 * request over any quota is refused whole with QueueFullError, whose retryAfterSeconds is the
 * time until it would fit, so receivers answer 429 + Retry-After / RESOURCE_EXHAUSTED.
 */
export class IngestQuotas {
  private readonly tokenSpans: KeyedRateLimiter | undefined;
  private readonly tokenBytes: KeyedRateLimiter | undefined;
  private readonly serviceSpans: KeyedRateLimiter | undefined;
  private readonly serviceBytes: KeyedRateLimiter | undefined;
  private readonly refusedRequests: Counter<'kind'>;
  private readonly refusedSpans: Counter<'kind'>;

  constructor(
    config: QuotaConfig,
    registry: Registry,
    private readonly clock: Clock = () => performance.now(),
  ) {
    const limiter = (rate: number) => (rate > 0 ? new KeyedRateLimiter(rate, clock) : undefined);
    this.tokenSpans = limiter(config.per_token.spans_per_second);
    this.tokenBytes = limiter(config.per_token.bytes_per_second);
    this.serviceSpans = limiter(config.per_service.spans_per_second);
    this.serviceBytes = limiter(config.per_service.bytes_per_second);
    this.refusedRequests = new Counter({
      name: 'flowtrace_quota_refused_requests_total',
      help: 'OTLP requests refused whole for exceeding an ingest quota (kind: token = per sender, service = per service.name).',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    this.refusedSpans = new Counter({
      name: 'flowtrace_quota_refused_spans_total',
      help: 'Spans in OTLP requests refused for exceeding an ingest quota (kind: token or service).',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
  }

  get enabled(): boolean {
    return this.tokenSpans !== undefined || this.tokenBytes !== undefined || this.serviceSpans !== undefined || this.serviceBytes !== undefined;
  }

  /** Takes the request's spans and bytes from every bucket it counts against, or throws QueueFullError (nothing taken). */
  admit(spans: readonly Span[] | SpanCounts, context: IngestContext | undefined): void {
    if (!this.enabled) return;
    const counts = isSpanArray(spans) ? countsOfSpans(spans) : spans;
    if (counts.count === 0) return;
    const charges = this.charges(counts, context);
    const now = this.clock();
    let wait = 0;
    let over: Charge | undefined;
    for (const charge of charges) {
      const seconds = charge.limiter.waitSeconds(charge.key, charge.cost, now);
      if (seconds > wait) {
        wait = seconds;
        over = charge;
      }
    }
    if (over) {
      this.refusedRequests.inc({ kind: over.kind });
      this.refusedSpans.inc({ kind: over.kind }, counts.count);
      const what = over.kind === 'token' ? 'the sender' : `service ${JSON.stringify(truncate(over.key, 64))}`;
      throw new QueueFullError(`ingest quota exceeded for ${what}; retry later`, Math.max(1, Math.ceil(wait)));
    }
    for (const charge of charges) charge.limiter.take(charge.key, charge.cost, now);
    for (const limiter of [this.tokenSpans, this.tokenBytes, this.serviceSpans, this.serviceBytes]) limiter?.sweep(now);
  }

  private charges(spans: SpanCounts, context: IngestContext | undefined): Charge[] {
    const bytes = context?.bytes ?? 0;
    const charges: Charge[] = [];
    const sender = senderKey(context);
    if (this.tokenSpans) charges.push({ kind: 'token', limiter: this.tokenSpans, key: sender, cost: spans.count });
    if (this.tokenBytes) charges.push({ kind: 'token', limiter: this.tokenBytes, key: sender, cost: bytes });
    if (this.serviceSpans || this.serviceBytes) {
      for (const [service, count] of spans.countsByService()) {
        if (this.serviceSpans) charges.push({ kind: 'service', limiter: this.serviceSpans, key: service, cost: count });
        // A request's bytes are shared between its services in proportion to their spans.
        if (this.serviceBytes) charges.push({ kind: 'service', limiter: this.serviceBytes, key: service, cost: (bytes * count) / spans.count });
      }
    }
    return charges;
  }
}

/** How many spans a request has, in all and per service: spans as objects or as rows (model/span-summaries.ts). */
export interface SpanCounts {
  count: number;
  countsByService(): Map<string, number>;
}

function isSpanArray(spans: readonly Span[] | SpanCounts): spans is readonly Span[] {
  return Array.isArray(spans);
}

function countsOfSpans(spans: readonly Span[]): SpanCounts {
  return {
    count: spans.length,
    countsByService() {
      const perService = new Map<string, number>();
      for (const span of spans) perService.set(span.resource.serviceName, (perService.get(span.resource.serviceName) ?? 0) + 1);
      return perService;
    },
  };
}

function senderKey(context: IngestContext | undefined): string {
  if (context?.principal) return `principal:${context.principal.id}`;
  return `address:${context?.remoteAddress ?? 'unknown'}`;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max) + '…';
}
