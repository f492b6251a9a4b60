/**
 * `npm run bench:storage`: bytes per span on disk and query latency at scale.
 *
 * 1. Load (storage-load.ts): --spans N (default 100 million) of the load generator's spans
 *    (`flowtrace bench`'s, 8 services, start times spread over the last 24 h), transcoded by the
 *    receivers' transcoder and inserted straight into the embedded store's `otel_traces` (schema
 *    by the collector's migrate(): lookup table and views included) in large inserts;
 *    `flowtrace_red` filled from the same spans by the RED aggregator. The store lives in
 *    --data DIR (default ~/.cache/flowtrace/bench-storage/<N>/, outside git); a second run with
 *    the same DIR and --spans skips the load (or adds only what is missing; RED is written when a
 *    load completes, so the spans of an interrupted load are not in it).
 * 2. Bytes (storage-bytes.ts): background merges are waited out (15 min at most), then (stores
 *    ≤ --optimize-max spans) every table is merged to one part per partition with OPTIMIZE FINAL; per column of
 *    `otel_traces` compressed/uncompressed bytes, ratio and bytes/span, and per table the whole
 *    parts on disk (skip indexes, marks and side tables included) per span.
 * 3. Codecs and ordering (storage-codecs.ts): copies of the span table with other codecs or
 *    ORDER BY, filled with the same sample of whole traces (--codec-sample spans), compared.
 * 4. Queries: `flowtrace serve` on the store, trace by ID, search by service + attribute over
 *    1 h (`/api/traces` tags and `/api/search` grammar), RED over 24 h: --reps calls each (the
 *    routes and timing of bench:query, query-latency.ts), the windows ending 2 h before the
 *    newest span (hours the load filled completely).
 *
 * Goals (issue 15): ≤ 50 bytes/span; at 100 M spans trace by ID p99 < 50 ms, search by service
 * + attribute over 1 h < 300 ms, RED over 24 h < 300 ms. Writes bench/results/storage.json.
 */
import { mkdirSync } from 'node:fs';
import { cpus, homedir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DataDirLock } from '../collector/src/data-dir-lock.js';
import { openClickHouse, type ClickHouseConfig } from '../exporters/clickhouse/index.js';
import { cleanup, startCollector } from '../test/helpers/collector.js';
import { runBench, writeResults } from './bench-run.js';
import { benchQueries, measureAll } from './query-latency.js';
import { columnBytes, columnTable, mergesSettled, optimizeAll, skipIndexBytes, tableBytes } from './storage-bytes.js';
import { compareVariants } from './storage-codecs.js';
import { loadSpans, migrateStore, type LoadFigures } from './storage-load.js';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '100000000' },
    data: { type: 'string' },
    reps: { type: 'string', default: '50' },
    'codec-sample': { type: 'string', default: '2000000' },
    'optimize-max': { type: 'string', default: '20000000' },
    'skip-codecs': { type: 'boolean', default: false },
    'spans-per-insert': { type: 'string', default: '200000' },
  },
});
const SPANS = Number(values.spans);
const REPS = Number(values.reps);
const CODEC_SAMPLE = Number(values['codec-sample']);
const OPTIMIZE_MAX = Number(values['optimize-max']);
const SPANS_PER_INSERT = Number(values['spans-per-insert']);
for (const [name, n] of Object.entries({ spans: SPANS, reps: REPS, 'codec-sample': CODEC_SAMPLE, 'optimize-max': OPTIMIZE_MAX, 'spans-per-insert': SPANS_PER_INSERT })) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name}: expected a positive whole number`);
    process.exit(2);
  }
}
const DATA = resolve(values.data ?? join(homedir(), '.cache', 'flowtrace', 'bench-storage', String(SPANS)));
const SERVICES = 8;
const SPREAD_NS = 24n * 3_600_000_000_000n;
const GOALS = { bytesPerSpan: 50, traceByIdP99Ms: 50, search1hP99Ms: 300, red24hP99Ms: 300 };
/** The longest wait for background merges before the bytes are read. */
const MERGE_WAIT_MS = 15 * 60_000;
/** How long before the newest span the query windows end (see offlinePhase); loads up to 2 h see full windows. */
const WINDOW_END_BEFORE_NEWEST_US = 2n * 3_600_000_000n;
/** The routes of bench:query this benchmark times. */
const ROUTES = ['traceById', 'searchServiceTag1h', 'searchGrammar1h', 'red24h'];

const STORE: ClickHouseConfig = { url: '', username: 'default', password: '', database: 'default', tracesTable: 'otel_traces', dataDir: DATA, retentionDays: 7, concurrency: 1 };
const fmt = (n: number) => n.toLocaleString('en-US');

/** Load, bytes and codec comparison, in this process on the stopped store (under its lock). */
async function offlinePhase() {
  mkdirSync(DATA, { recursive: true });
  const lock = new DataDirLock(DATA);
  lock.acquire();
  const clients = openClickHouse(STORE);
  try {
    const client = clients.writer;
    const count = async () => Number((await (await client.query({ query: 'SELECT count() AS n FROM otel_traces', format: 'JSONEachRow' })).json<{ n: string | number }>())[0]!.n);
    await migrateStore(clients, STORE);
    const already = await count();
    let load: LoadFigures | string = `reused the store in ${DATA} (${fmt(already)} spans)`;
    if (already >= SPANS) console.log(load);
    else {
      console.log(`loading ${fmt(SPANS - already)} spans into ${DATA} (${SERVICES} services, spread over 24 h, ${fmt(SPANS_PER_INSERT)} per insert)…`);
      let lastPrint = 0;
      load = await loadSpans(clients, STORE, {
        spans: SPANS - already,
        services: SERVICES,
        spreadNs: SPREAD_NS,
        spansPerInsert: SPANS_PER_INSERT,
        onProgress: (loaded, seconds) => {
          if (seconds - lastPrint < 15 && loaded < SPANS - already) return;
          lastPrint = seconds;
          console.log(`  ${seconds.toFixed(0)} s: ${fmt(loaded)} spans (${fmt(Math.round(loaded / seconds))}/s)`);
        },
      });
      console.log(`loaded ${fmt(load.spans)} spans in ${load.seconds} s (${fmt(load.spansPerSecond)} spans/s; ${load.insertWaitSeconds} s of it waiting for inserts), ${fmt(load.redRows)} RED rows`);
    }
    const spans = await count();
    // The windows end WINDOW_END_BEFORE_NEWEST before the newest span: a load spreads each request
    // over the 24 h before it was made, so only hours before the load began are fully populated.
    const newest = (await (await client.query({ query: 'SELECT toUnixTimestamp64Micro(max(Timestamp)) AS t FROM otel_traces', format: 'JSONEachRow' })).json<{ t: string | number }>())[0]!.t;
    const windowEndMicros = BigInt(newest) - WINDOW_END_BEFORE_NEWEST_US;

    console.log('waiting for background merges to settle…');
    const settled = await mergesSettled(client, STORE.database, MERGE_WAIT_MS);
    const optimized = spans <= OPTIMIZE_MAX;
    if (optimized) {
      console.log('OPTIMIZE FINAL on every table…');
      await optimizeAll(client, STORE.database);
    }
    const columns = await columnBytes(client, STORE.database, STORE.tracesTable, spans);
    const tables = await tableBytes(client, STORE.database, spans);
    const skipIndexes = await skipIndexBytes(client, STORE.database, STORE.tracesTable, spans);
    const totalPerSpan = +tables.reduce((n, t) => n + t.bytesPerSpan, 0).toFixed(2);
    const state = optimized ? 'after OPTIMIZE FINAL' : settled ? 'background merges settled' : `merges still running after ${MERGE_WAIT_MS / 60_000} min`;
    console.log(`\notel_traces per column, ${fmt(spans)} spans (${state}):`);
    for (const line of columnTable(columns, 15)) console.log(line);
    console.log('\nwhole parts on disk per table (columns + skip indexes + marks + primary index):');
    for (const t of tables) {
      console.log(`  ${t.table.padEnd(40)} ${String(t.parts).padStart(4)} parts ${fmt(t.rows).padStart(14)} rows ${fmt(t.bytesOnDisk).padStart(15)} B ${t.bytesPerSpan.toFixed(2).padStart(8)} B/span (skip indexes ${(t.skipIndexes / spans).toFixed(2)}, marks ${(t.marks / spans).toFixed(2)})`);
    }
    console.log(`  otel_traces skip indexes, B/span: ${Object.entries(skipIndexes).map(([name, b]) => `${name} ${b}`).join(', ')}`);
    console.log(`  ${'total'.padEnd(40)} ${' '.repeat(62)} ${totalPerSpan.toFixed(2).padStart(8)} B/span (goal ≤ ${GOALS.bytesPerSpan})`);

    let variants;
    if (!values['skip-codecs']) {
      const every = Math.max(1, Math.round(spans / CODEC_SAMPLE));
      console.log(`\ncodecs and ordering on a sample of whole traces (1 in ${every}, ≈ ${fmt(Math.round(spans / every))} spans), column data per span:`);
      variants = await compareVariants(client, STORE.database, STORE.tracesTable, every);
      for (const v of variants) {
        console.log(`  ${v.name.padEnd(28)} ${v.columnBytesPerSpan.toFixed(2).padStart(7)} B/span  (${v.vsCurrent.toFixed(3)}×)  disk ${v.diskBytesPerSpan.toFixed(2).padStart(7)}  insert+merge ${v.insertAndMergeSeconds} s  trace read p50/p99 ${v.traceReadMs.p50}/${v.traceReadMs.p99} ms  — ${v.what}`);
      }
    }
    return { load, spans, windowEndMicros, bytes: { settled: state, totalBytesPerSpan: totalPerSpan, tables, columns, skipIndexes }, variants };
  } finally {
    await clients.close();
    lock.release();
  }
}

async function main(): Promise<void> {
  const offline = await offlinePhase();
  console.log(`\nstarting flowtrace serve on ${DATA}…`);
  const collector = await startCollector({ dataDir: DATA });
  const queries = (await benchQueries(collector.apiUrl, REPS, SERVICES, offline.windowEndMicros)).filter(([name]) => ROUTES.includes(name));
  console.log(`measuring on ${fmt(offline.spans)} spans, ${REPS} calls each…`);
  const latencyMs = await measureAll(collector.apiUrl, REPS, queries);
  await collector.stop();
  await cleanup();

  const p99 = (name: string) => latencyMs[name]?.p99 ?? NaN;
  const goal = (goalMs: number, name: string) => ({ goalMs, p99Ms: p99(name), met: p99(name) < goalMs });
  const result = {
    benchmark: 'storage',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, note: 'shared with other work' },
    settings: { spans: SPANS, storedSpans: offline.spans, windowsEnd: new Date(Number(offline.windowEndMicros / 1000n)).toISOString(), spread: '24h', services: SERVICES, reps: REPS, store: 'embedded (chdb)', generator: 'collector/src/loadgen', dataDir: DATA },
    load: offline.load,
    bytes: offline.bytes,
    variants: offline.variants ?? 'skipped (--skip-codecs)',
    latencyMs,
    goals: {
      bytesPerSpanAtMost50: { goal: GOALS.bytesPerSpan, bytesPerSpan: offline.bytes.totalBytesPerSpan, met: offline.bytes.totalBytesPerSpan <= GOALS.bytesPerSpan },
      traceByIdP99Under50Ms: goal(GOALS.traceByIdP99Ms, 'traceById'),
      searchServiceTag1hP99Under300Ms: goal(GOALS.search1hP99Ms, 'searchServiceTag1h'),
      searchGrammar1hP99Under300Ms: goal(GOALS.search1hP99Ms, 'searchGrammar1h'),
      red24hP99Under300Ms: goal(GOALS.red24hP99Ms, 'red24h'),
    },
  };
  console.log(JSON.stringify(result.goals, null, 2));
  writeResults('storage.json', result);
}

runBench(main);
