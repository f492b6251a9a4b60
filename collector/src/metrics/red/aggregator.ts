import { SPAN_KIND_NAMES } from '../../../../exporters/clickhouse/index.js';
import { StatusCode, type Span } from '../../model/span.js';
import type { SpanSummaries } from '../../model/span-summaries.js';
import { bucketOf } from '../../processors/stitch/histogram.js';

/**
 * RED per minute in memory: requests, errors and a mergeable duration histogram per
 * (minute, service, operation, span kind), drained into `flowtrace_red` rows at every flush.
 *
 * Every span counts — not only entry spans — so that "requests" of a CLIENT operation are the
 * calls made, and of a SERVER operation the calls served; readers pick the kind they want.
 * A span is an error when its status is ERROR. A span counts in the minute it started, its
 * duration is end − start (0 when negative). The histogram is the stitch service graph's
 * log-scale one (processors/stitch/histogram.ts: ~9 % wide buckets, summed to merge), so
 * partial rows from any number of flushes and collectors add up exactly.
 */

/** The operation, or service, spans beyond the cardinality cap are counted under. */
export const OVERFLOW = '__other__';

const NS_PER_MINUTE = 60_000_000_000n;

export interface RedLimits {
  maxServices: number;
  maxOperationsPerService: number;
}

/** A row of `flowtrace_red` as JSONEachRow; 64-bit values travel as decimal strings. */
export interface RedRow {
  /** Seconds since the epoch, a whole minute. */
  Minute: number;
  ServiceName: string;
  Operation: string;
  SpanKind: string;
  Requests: number;
  Errors: number;
  DurationSumNs: string;
  DurationMinNs: string;
  DurationMaxNs: string;
  DurationBuckets: Record<string, number>;
}

/** Where a span is counted once the cardinality cap applied. */
export interface RedKey {
  service: string;
  operation: string;
  kind: string;
}

/** One span as RED sees it. */
export interface RedSample {
  /** Interned by the cap (CardinalityCap.keyOf). */
  key: RedKey;
  minute: number;
  durationNs: bigint;
  error: boolean;
}

/**
 * The cardinality cap: which services and (operation, kind) pairs have their own series. The
 * first `maxServices` services seen and the first `maxOperationsPerService` pairs of each keep
 * theirs for the collector's lifetime (so the cap is stable between flushes and the
 * Prometheus series stay the same); the rest go to `__other__`. Memory is bounded by the product.
 */
export class CardinalityCap {
  /** service → kind → operation → its key. Keys are interned: the aggregators use them as map keys. */
  private readonly services = new Map<string, { pairs: number; kinds: Map<string, Map<string, RedKey>> }>();

  constructor(private readonly limits: RedLimits) {}

  keyOf(service: string, operation: string, kind: string): RedKey {
    let known = this.services.get(service);
    if (known === undefined) {
      if (this.services.size >= this.limits.maxServices && service !== OVERFLOW) return this.keyOf(OVERFLOW, OVERFLOW, kind);
      known = { pairs: 0, kinds: new Map() };
      this.services.set(service, known);
    }
    let operations = known.kinds.get(kind);
    if (operations === undefined) known.kinds.set(kind, (operations = new Map()));
    const key = operations.get(operation);
    if (key !== undefined) return key;
    // Each service's own overflow pair is always admitted, beyond the cap if need be (one per kind).
    if (known.pairs < this.limits.maxOperationsPerService || operation === OVERFLOW) {
      const added: RedKey = { service, operation, kind };
      operations.set(operation, added);
      known.pairs++;
      return added;
    }
    return this.keyOf(service, OVERFLOW, kind);
  }
}

/** What RED takes from a span, after the cap. */
export function sampleOf(span: Span, cap: CardinalityCap): RedSample {
  const start = span.startTimeUnixNano < 0n ? 0n : span.startTimeUnixNano;
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  return {
    key: cap.keyOf(span.resource.serviceName, span.name, SPAN_KIND_NAMES[span.kind] ?? 'Unspecified'),
    minute: Number(start / NS_PER_MINUTE) * 60,
    durationNs: duration < 0n ? 0n : duration,
    error: span.statusCode === StatusCode.ERROR,
  };
}

/**
 * The samples of transcoded rows (their summary holds the duration, already 0 when negative),
 * handed to `add` one by one. The minute of the previous row is reused while rows fall in it
 * (two comparisons instead of a BigInt division per row).
 */
export function forEachRowSample(summary: SpanSummaries, cap: CardinalityCap, add: (sample: RedSample) => void): void {
  let minuteStart = 1n;
  let minuteEnd = 0n;
  let minute = 0;
  for (let i = 0; i < summary.count; i++) {
    const start = summary.startNs(i);
    if (start < minuteStart || start >= minuteEnd) {
      const index = start / NS_PER_MINUTE;
      minute = Number(index) * 60;
      minuteStart = index * NS_PER_MINUTE;
      minuteEnd = minuteStart + NS_PER_MINUTE;
    }
    add({
      key: cap.keyOf(summary.serviceName(i), summary.spanName(i), SPAN_KIND_NAMES[summary.kind[i]!] ?? 'Unspecified'),
      minute,
      durationNs: summary.durationNs(i),
      error: summary.statusCode[i] === StatusCode.ERROR,
    });
  }
}

interface Cell {
  row: Omit<RedRow, 'DurationSumNs' | 'DurationMinNs' | 'DurationMaxNs' | 'DurationBuckets'>;
  sumNs: bigint;
  minNs: bigint;
  maxNs: bigint;
  buckets: Map<number, number>;
}

export class RedAggregator {
  /** minute → key → cell: keys are the cap's interned objects, so no key string is made per span. */
  private minutes = new Map<number, Map<RedKey, Cell>>();
  private cellCount = 0;

  /** Cells (minute × key) counted since the last drain. */
  get size(): number {
    return this.cellCount;
  }

  add(s: RedSample): void {
    let cells = this.minutes.get(s.minute);
    if (cells === undefined) this.minutes.set(s.minute, (cells = new Map()));
    let cell = cells.get(s.key);
    if (cell === undefined) {
      cell = {
        row: { Minute: s.minute, ServiceName: s.key.service, Operation: s.key.operation, SpanKind: s.key.kind, Requests: 0, Errors: 0 },
        sumNs: 0n,
        minNs: s.durationNs,
        maxNs: s.durationNs,
        buckets: new Map(),
      };
      cells.set(s.key, cell);
      this.cellCount++;
    }
    cell.row.Requests++;
    if (s.error) cell.row.Errors++;
    cell.sumNs += s.durationNs;
    if (s.durationNs < cell.minNs) cell.minNs = s.durationNs;
    if (s.durationNs > cell.maxNs) cell.maxNs = s.durationNs;
    const bucket = bucketOf(s.durationNs);
    cell.buckets.set(bucket, (cell.buckets.get(bucket) ?? 0) + 1);
  }

  /** Everything counted since the last drain, as rows; the aggregator starts empty again. */
  drain(): RedRow[] {
    const rows = [...this.minutes.values()].flatMap((cells) => [...cells.values()]).map((c) => ({
      ...c.row,
      DurationSumNs: c.sumNs.toString(),
      DurationMinNs: c.minNs.toString(),
      DurationMaxNs: c.maxNs.toString(),
      DurationBuckets: Object.fromEntries(c.buckets),
    }));
    this.minutes = new Map();
    this.cellCount = 0;
    return rows;
  }
}
