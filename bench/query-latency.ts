/**
 * What bench:query and bench:storage share to time the query API: one route called `reps` times
 * in sequence after a warm-up (p50/p90/p99/max), the targets drawn from the stored data, and the
 * routes themselves, so both benchmarks measure the same requests.
 */
import { serviceNames } from '../collector/src/loadgen/traces.js';
import { sql } from '../test/helpers/collector.js';

export interface Latency {
  /** Set when the route refused (the first refusal's status and message); no figures then. */
  error?: string;
  reps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** A route answered something other than 200: reported in the results, not fatal. */
class RouteError extends Error {}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `reps` sequential calls of `path(i)`, after one warm-up call; every answer must be 200. */
export async function measure(api: string, reps: number, path: (i: number) => string, check?: (body: unknown) => void): Promise<Latency> {
  const call = async (i: number) => {
    const t0 = performance.now();
    const res = await fetch(api + path(i));
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new RouteError(`${res.status} ${text.slice(0, 300)}`);
    check?.(JSON.parse(text));
    return ms;
  };
  try {
    await call(reps); // warm-up: first-use caches (marks, code paths) are not what a user waits for twice
  } catch (err) {
    if (err instanceof RouteError) return { error: err.message, reps: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN };
    throw err;
  }
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await call(i));
  return latencyOf(times);
}

/** p50/p90/p99/max of `times` (ms), to 0.1 ms. */
export function latencyOf(times: readonly number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  const r = (x: number) => +x.toFixed(1);
  return { reps: sorted.length, p50: r(quantile(sorted, 0.5)), p90: r(quantile(sorted, 0.9)), p99: r(quantile(sorted, 0.99)), max: r(sorted.at(-1)!) };
}

/** One line of the printed table. */
export function latencyLine(name: string, l: Latency): string {
  if (l.error) return `  ${name.padEnd(22)} refused: ${l.error}`;
  const f = (x: number) => String(x).padStart(8);
  return `  ${name.padEnd(22)} p50 ${f(l.p50)} ms  p90 ${f(l.p90)} ms  p99 ${f(l.p99)} ms  max ${f(l.max)} ms`;
}

/** A named route: its path for call i, and a check of its answer. */
export type BenchQuery = [name: string, path: (i: number) => string, check?: (body: unknown) => void];

/**
 * The routes bench:query times, with targets drawn from the store: `reps + 1` random root spans'
 * traces (spread over the day) and the load generator's first `services` service names.
 * `endMicros`: the windows (lookback 1 h, 24 h) end there instead of now.
 */
export async function benchQueries(api: string, reps: number, services: number, endMicros?: bigint): Promise<BenchQuery[]> {
  const targets = await sql<{ TraceId: string }>(api, `SELECT TraceId FROM otel_traces WHERE ParentSpanId = '' ORDER BY rand() LIMIT ${reps + 1}`);
  const traceIds = targets.map((t) => t.TraceId);
  const names = serviceNames(services);
  const service = (i: number) => names[i % names.length]!;
  const hasSpans = (body: unknown) => {
    const spans = (body as { spans?: unknown[]; data?: Array<{ spans: unknown[] }> }).spans ?? (body as { data: Array<{ spans: unknown[] }> }).data[0]?.spans;
    if (!spans || spans.length === 0) throw new Error('trace answer without spans');
  };
  const tags = encodeURIComponent(JSON.stringify({ 'http.response.status_code': '500' }));
  const end = endMicros === undefined ? '' : `&end=${endMicros}`;
  const grammar = (i: number) => encodeURIComponent(`service = ${service(i)} AND span.http.response.status_code >= 500`);
  return [
    ['traceById', (i) => `/api/traces/${traceIds[i]}`, hasSpans],
    ['jaegerTraceById', (i) => `/jaeger/api/traces/${traceIds[i]}`, hasSpans],
    ['searchServiceTag1h', (i) => `/api/traces?service=${service(i)}&tags=${tags}&lookback=1h&limit=20${end}`],
    ['searchServiceTag24h', (i) => `/api/traces?service=${service(i)}&tags=${tags}&lookback=24h&limit=20${end}`],
    ['searchGrammar1h', (i) => `/api/search?q=${grammar(i)}&lookback=1h&limit=20${end}`],
    ['searchGrammar24h', (i) => `/api/search?q=${grammar(i)}&lookback=24h&limit=20${end}`],
    ['red24h', () => `/api/metrics/red?lookback=24h${end}`],
    ['hotspots1h', () => `/api/hotspots?lookback=1h${end}`],
    ['hotspots24h', () => `/api/hotspots?lookback=24h${end}`],
    ['hotspots24hOneService', (i) => `/api/hotspots?lookback=24h&service=${service(i)}${end}`],
  ];
}

/** Times each of `queries` in turn, printing a line per route. */
export async function measureAll(api: string, reps: number, queries: readonly BenchQuery[]): Promise<Record<string, Latency>> {
  const latencyMs: Record<string, Latency> = {};
  for (const [name, path, check] of queries) {
    const l = await measure(api, reps, path, check);
    latencyMs[name] = l;
    console.log(latencyLine(name, l));
  }
  return latencyMs;
}
