/**
 * Jaeger's clock-skew adjustment, FlowTrace's way: Jaeger's query service shifts a server span
 * that lies outside its client parent in another host's clock (its `ClockSkew` adjuster), unless
 * the request says `raw=true`. FlowTrace's stitch processor measured those shifts as the spans
 * arrived (processors/stitch/clock-skew.ts, the same rule: split the leftover latency evenly,
 * descendants in the same service move along) and stored them in `flowtrace_clock_skew`;
 * here they are read back for the rows of an answer. Stored times are never rewritten.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { propagateOffsets } from '../../processors/stitch/clock-skew.js';
import { STITCH_TABLES, stitchTable } from '../../processors/stitch/tables.js';
import type { SpanRow } from '../span-view.js';

/** Offsets in nanoseconds by `traceId/spanId`, for the spans that have one. */
export type SkewOffsets = ReadonlyMap<string, bigint>;

export const offsetKey = (traceId: string, spanId: string) => `${traceId}/${spanId}`;

/**
 * Every row's offset, from the stored ones of its trace: a span with a stored offset has it, its
 * descendants in the same service inherit it (among the rows given: a principal's readable spans).
 * Before the stitch processor ever ran (no table) there are none.
 */
export async function skewOffsets(reader: ClickHouseClient, database: string, rows: readonly SpanRow[]): Promise<SkewOffsets> {
  const offsets = new Map<string, bigint>();
  if (rows.length === 0) return offsets;
  const traceIds = [...new Set(rows.map((r) => r.TraceId))];
  let stored: Array<{ traceId: string; spanId: string; offsetNs: string }>;
  try {
    const result = await reader.query({
      query: `SELECT TraceId AS traceId, SpanId AS spanId, toString(any(OffsetNs)) AS offsetNs
              FROM ${stitchTable(database, STITCH_TABLES.clockSkew)}
              WHERE TraceId IN {ids:Array(String)}
              GROUP BY TraceId, SpanId`,
      query_params: { ids: traceIds },
      format: 'JSONEachRow',
    });
    stored = await result.json();
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return offsets;
    throw err;
  }
  for (const traceId of traceIds) {
    const own = new Map(stored.filter((s) => s.traceId === traceId).map((s) => [s.spanId, BigInt(s.offsetNs)]));
    if (own.size === 0) continue;
    const nodes = rows.filter((r) => r.TraceId === traceId).map((r) => ({ spanId: r.SpanId, parentSpanId: r.ParentSpanId, service: r.ServiceName }));
    for (const [spanId, offsetNs] of propagateOffsets(nodes, own)) offsets.set(offsetKey(traceId, spanId), offsetNs);
  }
  return offsets;
}

/**
 * A duration as Go's `time.Duration.String()` writes it (`160ms`, `1.5s`, `2m0.5s`, `-3µs`), the
 * form of Jaeger's warning "This span's timestamps were adjusted by …".
 */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  const fraction = (value: bigint, unit: bigint) => {
    const whole = value / unit;
    const rest = value % unit;
    if (rest === 0n) return whole.toString();
    const digits = rest.toString().padStart(unit.toString().length - 1, '0').replace(/0+$/, '');
    return `${whole}.${digits}`;
  };
  if (abs < 1_000n) return `${sign}${abs}ns`;
  if (abs < 1_000_000n) return `${sign}${fraction(abs, 1_000n)}µs`;
  if (abs < 1_000_000_000n) return `${sign}${fraction(abs, 1_000_000n)}ms`;
  const hours = abs / 3_600_000_000_000n;
  const minutes = (abs / 60_000_000_000n) % 60n;
  const seconds = fraction(abs % 60_000_000_000n, 1_000_000_000n);
  return `${sign}${hours > 0n ? `${hours}h${minutes}m` : minutes > 0n ? `${minutes}m` : ''}${seconds}s`;
}
