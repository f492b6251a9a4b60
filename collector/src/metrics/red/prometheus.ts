import type { ReadRules } from '../../auth/principal.js';
import type { RedKey, RedSample } from './aggregator.js';

/**
 * RED since the collector started, in the Prometheus text format, for scrapers (the embedded
 * store speaks no protocol Grafana's ClickHouse data source could use): per service,
 * operation and span kind
 *
 *   flowtrace_red_requests_total, flowtrace_red_errors_total   counters
 *   flowtrace_red_duration_seconds                              histogram (fixed `le` bounds)
 *
 * Counters restart at 0 with the collector, as Prometheus expects of counters; `rate()` over
 * them is the request rate. Counted at the same point as the stored minutes (before sampling).
 * Series are bounded by the cardinality cap (aggregator.ts).
 */

/** Histogram bounds in seconds: 1 ms to 10 s, the usual latency range of requests. */
export const LE_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const LE_NS = LE_SECONDS.map((s) => Math.round(s * 1e9));

interface Series {
  service: string;
  operation: string;
  kind: string;
  requests: number;
  errors: number;
  sumNs: bigint;
  /** Per bound (not cumulative); the last slot is above every bound. */
  counts: number[];
}

export class RedTotals {
  /** By the cap's interned keys (aggregator.ts). */
  private readonly series = new Map<RedKey, Series>();

  add(s: RedSample): void {
    let series = this.series.get(s.key);
    if (series === undefined) {
      series = { service: s.key.service, operation: s.key.operation, kind: s.key.kind, requests: 0, errors: 0, sumNs: 0n, counts: new Array<number>(LE_NS.length + 1).fill(0) };
      this.series.set(s.key, series);
    }
    series.requests++;
    if (s.error) series.errors++;
    series.sumNs += s.durationNs;
    const duration = Number(s.durationNs); // the bounds are far below 2^53: exact enough to compare
    const slot = LE_NS.findIndex((le) => duration <= le);
    series.counts[slot < 0 ? LE_NS.length : slot]++;
  }

  /**
   * The exposition text, only of the services `rules` may read (a token limited to some
   * services sees only theirs; `__other__` mixes services, so only unlimited readers see it).
   */
  exposition(rules: ReadRules): string {
    const allowed = rules.services?.length ? new Set(rules.services) : undefined;
    const out: string[] = [
      '# HELP flowtrace_red_requests_total Spans accepted (before sampling), by service, operation and span kind.',
      '# TYPE flowtrace_red_requests_total counter',
    ];
    const shown = [...this.series.values()].filter((s) => allowed === undefined || allowed.has(s.service));
    shown.sort((a, b) => (a.service + a.operation + a.kind < b.service + b.operation + b.kind ? -1 : 1));
    for (const s of shown) out.push(`flowtrace_red_requests_total{${labels(s)}} ${s.requests}`);
    out.push('# HELP flowtrace_red_errors_total Spans accepted with status ERROR.', '# TYPE flowtrace_red_errors_total counter');
    for (const s of shown) out.push(`flowtrace_red_errors_total{${labels(s)}} ${s.errors}`);
    out.push('# HELP flowtrace_red_duration_seconds Span durations.', '# TYPE flowtrace_red_duration_seconds histogram');
    for (const s of shown) {
      let cumulative = 0;
      LE_SECONDS.forEach((le, i) => {
        cumulative += s.counts[i];
        out.push(`flowtrace_red_duration_seconds_bucket{${labels(s)},le="${le}"} ${cumulative}`);
      });
      out.push(`flowtrace_red_duration_seconds_bucket{${labels(s)},le="+Inf"} ${s.requests}`);
      out.push(`flowtrace_red_duration_seconds_sum{${labels(s)}} ${Number(s.sumNs) / 1e9}`);
      out.push(`flowtrace_red_duration_seconds_count{${labels(s)}} ${s.requests}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function labels(s: Series): string {
  return `service="${escape(s.service)}",operation="${escape(s.operation)}",span_kind="${escape(s.kind)}"`;
}

/** Label values escape backslash, double quote and newline (the text format's rules). */
function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
