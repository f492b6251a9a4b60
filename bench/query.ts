/**
 * `npm run bench:query`: query latency on a large store.
 *
 * Starts `flowtrace serve` (embedded chdb), loads --spans N spans (default 10 million) with the
 * project's own load generator (collector/src/loadgen, the one `flowtrace bench` drives) spread
 * over the last 24 h, waits until every accepted span is stored, then measures, one request at a
 * time, p50/p90/p99 of: trace by ID (FlowTrace and Jaeger API), search (`/api/traces` with service
 * + tag, `/api/search` with a grammar query; over 1 h and 24 h), RED over 24 h and hotspots over
 * 1 h and 24 h (all services, and one service). Targets (trace IDs, services) are drawn at random
 * from the stored data. A route that refuses (e.g. 422 when a query exceeds the engine's memory
 * limit) is recorded with its message instead of figures. Writes bench/results/query.json;
 * goals: trace by ID p99 < 50 ms, RED over 24 h p99 < 300 ms.
 *
 * Flags: --spans N (10000000), --reps N (50 per query), --clients N (4 load clients),
 * --data DIR (keep the store in DIR; a second run with the same DIR and --spans skips loading,
 * which makes trying a query change cheap).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LoadGenerator } from '../collector/src/loadgen/generator.js';
import { runLoad } from '../collector/src/loadgen/sender.js';
import { waitForStored } from '../collector/src/loadgen/stored.js';
import { serviceNames } from '../collector/src/loadgen/traces.js';
import { cleanup, sql, startCollector } from '../test/helpers/collector.js';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '10000000' },
    reps: { type: 'string', default: '50' },
    clients: { type: 'string', default: '4' },
    data: { type: 'string' },
  },
});
const SPANS = Number(values.spans);
const REPS = Number(values.reps);
const CLIENTS = Number(values.clients);
const SERVICES = 8;
const SPREAD_NS = 24n * 3_600_000_000_000n;
for (const [name, n] of Object.entries({ spans: SPANS, reps: REPS, clients: CLIENTS })) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name}: expected a positive whole number`);
    process.exit(2);
  }
}

const GOALS = { traceByIdP99Ms: 50, red24hP99Ms: 300 };

interface Latency {
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

/** `REPS` sequential calls of `path(i)`, after one warm-up call; every answer must be 200. */
async function measure(api: string, path: (i: number) => string, check?: (body: unknown) => void): Promise<Latency> {
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
    await call(REPS); // warm-up: first-use caches (marks, code paths) are not what a user waits for twice
  } catch (err) {
    if (err instanceof RouteError) return { error: err.message, reps: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN };
    throw err;
  }
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) times.push(await call(i));
  times.sort((a, b) => a - b);
  const r = (x: number) => +x.toFixed(1);
  return { reps: REPS, p50: r(quantile(times, 0.5)), p90: r(quantile(times, 0.9)), p99: r(quantile(times, 0.99)), max: r(times.at(-1)!) };
}

async function main(): Promise<void> {
  if (values.data !== undefined) mkdirSync(values.data, { recursive: true });
  const collector = await startCollector({ dataDir: values.data });
  const api = collector.apiUrl;
  const count = async () => Number((await sql<{ n: string }>(api, 'SELECT count() AS n FROM otel_traces'))[0]!.n);
  let load: Record<string, number> | undefined;
  const already = values.data !== undefined ? await count() : 0;
  if (already >= SPANS) console.log(`reusing the store in ${values.data}: ${already.toLocaleString('en-US')} spans`);
  else {
    console.log(`loading ${SPANS.toLocaleString('en-US')} spans (spread over 24 h, ${SERVICES} services) from ${CLIENTS} OTLP/HTTP clients…`);
    const runId = randomBytes(8).toString('hex');
    const generators = Array.from({ length: CLIENTS }, () => new LoadGenerator({ services: SERVICES, spansPerRequest: 512, spreadNs: SPREAD_NS, runId }));
    const started = performance.now();
    const sent = await runLoad({
      endpoint: { protocol: 'http', address: collector.httpEndpoint, tls: false },
      clients: CLIENTS,
      stop: { spans: SPANS - already },
      generators,
      onProgress: (p) => {
        if (Math.round(p.seconds) % 15 === 0) console.log(`  ${p.seconds.toFixed(0)} s: ${p.acceptedSpans.toLocaleString('en-US')} accepted (${Math.round(p.acceptedSpans / p.seconds)}/s)`);
      },
    });
    const stored = await waitForStored(async () => (await count()) - already, sent.acceptedSpans, started, 120_000, 1000);
    if (!stored.complete) throw new Error(`only ${stored.stored} of ${sent.acceptedSpans} accepted spans were stored`);
    load = {
      acceptedSpans: sent.acceptedSpans,
      refusedSpans: sent.refusedSpans,
      rejectedSpans: sent.rejectedSpans,
      acceptedSpansPerSecond: Math.round(sent.acceptedSpans / sent.seconds),
      storedSpansPerSecond: Math.round(stored.stored / stored.seconds),
      loadSeconds: Math.round(stored.seconds),
      generatorSpansPerSecondPerCore: Math.round(sent.generatedSpans / (sent.generatorMs / 1000)),
    };
    console.log(`stored in ${load.loadSeconds} s: ${load.storedSpansPerSecond} spans/s stored, ${load.acceptedSpansPerSecond} accepted`);
  }
  const totalSpans = await count();

  // Targets drawn from what is stored: random root spans' traces, spread over the day.
  const targets = await sql<{ TraceId: string }>(api, `SELECT TraceId FROM otel_traces WHERE ParentSpanId = '' ORDER BY rand() LIMIT ${REPS + 1}`);
  const traceIds = targets.map((t) => t.TraceId);
  const services = serviceNames(SERVICES);
  const service = (i: number) => services[i % services.length]!;
  const hasSpans = (body: unknown) => {
    const spans = (body as { spans?: unknown[]; data?: Array<{ spans: unknown[] }> }).spans ?? (body as { data: Array<{ spans: unknown[] }> }).data[0]?.spans;
    if (!spans || spans.length === 0) throw new Error('trace answer without spans');
  };
  const tags = encodeURIComponent(JSON.stringify({ 'http.response.status_code': '500' }));
  const grammar = (i: number) => encodeURIComponent(`service = ${service(i)} AND span.http.response.status_code >= 500`);

  console.log(`measuring on ${totalSpans.toLocaleString('en-US')} spans, ${REPS} calls each…`);
  const queries: Array<[string, (i: number) => string, ((b: unknown) => void)?]> = [
    ['traceById', (i) => `/api/traces/${traceIds[i]}`, hasSpans],
    ['jaegerTraceById', (i) => `/jaeger/api/traces/${traceIds[i]}`, hasSpans],
    ['searchServiceTag1h', (i) => `/api/traces?service=${service(i)}&tags=${tags}&lookback=1h&limit=20`],
    ['searchServiceTag24h', (i) => `/api/traces?service=${service(i)}&tags=${tags}&lookback=24h&limit=20`],
    ['searchGrammar1h', (i) => `/api/search?q=${grammar(i)}&lookback=1h&limit=20`],
    ['searchGrammar24h', (i) => `/api/search?q=${grammar(i)}&lookback=24h&limit=20`],
    ['red24h', () => `/api/metrics/red?lookback=24h`],
    ['hotspots1h', () => `/api/hotspots?lookback=1h`],
    ['hotspots24h', () => `/api/hotspots?lookback=24h`],
    ['hotspots24hOneService', (i) => `/api/hotspots?lookback=24h&service=${service(i)}`],
  ];
  const latencyMs: Record<string, Latency> = {};
  for (const [name, path, check] of queries) {
    latencyMs[name] = await measure(api, path, check);
    const l = latencyMs[name];
    if (l.error) console.log(`  ${name.padEnd(22)} refused: ${l.error}`);
    else console.log(`  ${name.padEnd(22)} p50 ${String(l.p50).padStart(8)} ms  p90 ${String(l.p90).padStart(8)} ms  p99 ${String(l.p99).padStart(8)} ms  max ${String(l.max).padStart(8)} ms`);
  }
  await collector.stop();
  await cleanup();

  const result = {
    benchmark: 'query',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    settings: { spans: SPANS, storedSpans: totalSpans, spread: '24h', services: SERVICES, reps: REPS, loadClients: CLIENTS, store: 'embedded (chdb)', generator: 'collector/src/loadgen' },
    load: load ?? 'reused an existing store',
    latencyMs,
    goals: {
      traceByIdP99Under50Ms: { goalMs: GOALS.traceByIdP99Ms, p99Ms: latencyMs.traceById!.p99, met: latencyMs.traceById!.p99 < GOALS.traceByIdP99Ms },
      red24hP99Under300Ms: { goalMs: GOALS.red24hP99Ms, p99Ms: latencyMs.red24h!.p99, met: latencyMs.red24h!.p99 < GOALS.red24hP99Ms },
    },
  };
  console.log(JSON.stringify(result.goals, null, 2));
  const out = join(resolve(import.meta.dirname), 'results', 'query.json');
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${out}`);
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
