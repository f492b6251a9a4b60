import { bucketOf } from './histogram.js';
import type { CallPair } from './pairing.js';
import type { SkewAdjustment } from './clock-skew.js';

/**
 * The rows of the side tables (tables.ts) as JSONEachRow objects, aggregated in memory between
 * flushes so that a flush writes one row per edge and minute, and per correlation and trace,
 * however many calls and spans it covers. 64-bit values travel as decimal strings.
 */

export interface ServiceGraphRow {
  Minute: number;
  Caller: string;
  Callee: string;
  Operation: string;
  Calls: number;
  Errors: number;
  DurationSumNs: string;
  DurationMinNs: string;
  DurationMaxNs: string;
  DurationBuckets: Record<string, number>;
}

export interface CorrelationRow {
  CorrelationId: string;
  TraceId: string;
  Services: string[];
  FirstSeen: string;
  LastSeen: string;
  Spans: number;
}

export interface ClockSkewRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  Caller: string;
  Callee: string;
  OffsetNs: string;
}

const NS_PER_MINUTE = 60_000_000_000n;
const NS_PER_SECOND = 1_000_000_000n;

/** Nanoseconds since the epoch as DateTime64(9) text ClickHouse parses exactly: `seconds.fraction`. */
export function dateTime64(ns: bigint): string {
  const t = ns < 0n ? 0n : ns;
  return `${t / NS_PER_SECOND}.${(t % NS_PER_SECOND).toString().padStart(9, '0')}`;
}

interface Edge {
  minute: number;
  caller: string;
  callee: string;
  operation: string;
  calls: number;
  errors: number;
  sumNs: bigint;
  minNs: bigint;
  maxNs: bigint;
  buckets: Map<number, number>;
}

/**
 * Calls per (minute, caller, callee, operation). The operation is the callee span's name and
 * the duration the callee span's: the callee's own clock measures it, and for messaging the
 * producer's span covers only the send. A call is an error when either side says so.
 */
export class ServiceGraphAggregator {
  private edges = new Map<string, Edge>();

  get size(): number {
    return this.edges.size;
  }

  add(pair: CallPair): void {
    const { caller, callee } = pair;
    const minute = Number((callee.startNs < 0n ? 0n : callee.startNs) / NS_PER_MINUTE) * 60;
    const key = `${minute}\u0000${caller.service}\u0000${callee.service}\u0000${callee.name}`;
    const durationNs = callee.endNs > callee.startNs ? callee.endNs - callee.startNs : 0n;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = { minute, caller: caller.service, callee: callee.service, operation: callee.name, calls: 0, errors: 0, sumNs: 0n, minNs: durationNs, maxNs: durationNs, buckets: new Map() };
      this.edges.set(key, edge);
    }
    edge.calls++;
    if (caller.error || callee.error) edge.errors++;
    edge.sumNs += durationNs;
    if (durationNs < edge.minNs) edge.minNs = durationNs;
    if (durationNs > edge.maxNs) edge.maxNs = durationNs;
    const bucket = bucketOf(durationNs);
    edge.buckets.set(bucket, (edge.buckets.get(bucket) ?? 0) + 1);
  }

  drain(): ServiceGraphRow[] {
    const rows = [...this.edges.values()].map((e) => ({
      Minute: e.minute,
      Caller: e.caller,
      Callee: e.callee,
      Operation: e.operation,
      Calls: e.calls,
      Errors: e.errors,
      DurationSumNs: e.sumNs.toString(),
      DurationMinNs: e.minNs.toString(),
      DurationMaxNs: e.maxNs.toString(),
      DurationBuckets: Object.fromEntries(e.buckets),
    }));
    this.edges = new Map();
    return rows;
  }
}

/** One piece of a trace seen with a correlation ID. */
export interface CorrelationSighting {
  correlationId: string;
  traceId: string;
  services: readonly string[];
  firstNs: bigint;
  lastNs: bigint;
  spans: number;
}

interface Sighting {
  correlationId: string;
  traceId: string;
  services: Set<string>;
  firstNs: bigint;
  lastNs: bigint;
  spans: number;
}

/** Sightings per (correlation ID, trace ID): several pieces of one trace make one row. */
export class CorrelationAggregator {
  private rows = new Map<string, Sighting>();

  get size(): number {
    return this.rows.size;
  }

  add(s: CorrelationSighting): void {
    const key = `${s.correlationId}\u0000${s.traceId}`;
    const row = this.rows.get(key);
    if (!row) {
      this.rows.set(key, { ...s, services: new Set(s.services) });
      return;
    }
    for (const service of s.services) row.services.add(service);
    if (s.firstNs < row.firstNs) row.firstNs = s.firstNs;
    if (s.lastNs > row.lastNs) row.lastNs = s.lastNs;
    row.spans += s.spans;
  }

  drain(): CorrelationRow[] {
    const rows = [...this.rows.values()].map((r) => ({
      CorrelationId: r.correlationId,
      TraceId: r.traceId,
      Services: [...r.services].sort(),
      FirstSeen: dateTime64(r.firstNs),
      LastSeen: dateTime64(r.lastNs),
      Spans: r.spans,
    }));
    this.rows = new Map();
    return rows;
  }
}

export function clockSkewRow(traceId: string, a: SkewAdjustment): ClockSkewRow {
  return {
    Timestamp: dateTime64(a.startNs),
    TraceId: traceId,
    SpanId: a.spanId,
    ParentSpanId: a.parentSpanId,
    Caller: a.caller,
    Callee: a.callee,
    OffsetNs: a.offsetNs.toString(),
  };
}
