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
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { LoadGenerator } from '../collector/src/loadgen/generator.js';
import { runLoad } from '../collector/src/loadgen/sender.js';
import { waitForStored } from '../collector/src/loadgen/stored.js';
import { cleanup, sql, startCollector } from '../test/helpers/collector.js';
import { runBench, writeResults } from './bench-run.js';
import { benchQueries, measureAll } from './query-latency.js';

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
  const queries = await benchQueries(api, REPS, SERVICES);
  console.log(`measuring on ${totalSpans.toLocaleString('en-US')} spans, ${REPS} calls each…`);
  const latencyMs = await measureAll(api, REPS, queries);
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
  writeResults('query.json', result);
}

runBench(main);
