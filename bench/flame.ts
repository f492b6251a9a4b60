/**
 * `npx tsx bench/flame.ts [--traces 200] [--spans 500] [--reps 5]`: the aggregated flame graph's
 * cost, the way `/api/flame` computes it against the alternative of computing self time in the
 * engine.
 *
 * Embeds ClickHouse (chdb) in a temporary directory, stores --traces method-level traces of
 * --spans spans each (a server span, nested method spans 12 deep with code.* attributes, and
 * repeated calls: the N+1 shape), then times, --reps times each (median):
 *   A. what the route does: pick the traces (recentTraces), load narrow rows (loadSpans), merge
 *      them into the call tree and flatten it (analysis/flame.ts);
 *   B. the engine alternative: the hotspots query's arrayFold self time per span, computed in
 *      ClickHouse for the same traces, rows returned with their parent IDs (the path from the root
 *      — what a flame graph is keyed by — still has to be built outside the engine: ClickHouse has
 *      no recursive walk over parent IDs without the experimental recursive CTE), then merged the
 *      same way with the engine's self time.
 * Prints the figures and writes bench/results/flame.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { countNodes, flatten, mergeSpans, type FlameSpan } from '../collector/src/analysis/flame.js';
import { HOTSPOT_SETTINGS, METHOD } from '../collector/src/analysis/hotspots.js';
import { loadSpans, recentTraces } from '../collector/src/query/flame-routes.js';
import { openClickHouse } from '../exporters/clickhouse/index.js';
import { migrate } from '../exporters/clickhouse/schema.js';

const { values } = parseArgs({ options: { traces: { type: 'string', default: '200' }, spans: { type: 'string', default: '500' }, reps: { type: 'string', default: '5' } } });
const TRACES = Number(values.traces);
const SPANS = Number(values.spans);
const REPS = Number(values.reps);

const DB = 'flame_bench';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-flame-bench-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const clients = openClickHouse(config);
const TABLE = `\`${DB}\`.\`otel_traces\``;

async function seed(): Promise<void> {
  await migrate(clients.writer, config);
  const now = Date.now() - 600_000;
  const services = ['gateway', 'orders', 'billing', 'stock'];
  for (let t = 0; t < TRACES; t++) {
    const traceId = t.toString(16).padStart(32, '0');
    const rows: Record<string, unknown>[] = [];
    const t0 = now + t * 1000;
    const service = services[t % services.length]!;
    // Server span, then a chain of method spans 12 deep, then repeated leaf calls (N+1) under them.
    const add = (id: number, parent: number, name: string, startMs: number, durationMs: number, method?: [string, string]) =>
      rows.push({
        Timestamp: new Date(startMs).toISOString(),
        TraceId: traceId,
        SpanId: id.toString(16).padStart(16, '0'),
        ParentSpanId: parent < 0 ? '' : parent.toString(16).padStart(16, '0'),
        SpanName: name,
        SpanKind: parent < 0 ? 'Server' : 'Internal',
        ServiceName: service,
        SpanAttributes: method ? { 'code.namespace': method[0], 'code.function.name': method[1], 'thread.name': 'worker-1' } : { 'http.route': '/orders/{id}' },
        ResourceAttributes: { 'service.name': service, 'host.name': 'bench' },
        Duration: String(Math.round(durationMs * 1_000_000)),
        StatusCode: 'Unset',
      });
    add(1, -1, 'GET /orders/{id}', t0, 500);
    let id = 2;
    for (let d = 0; d < 12 && id <= SPANS; d++, id++) add(id, id - 1, `m${d}`, t0 + d, 480 - d * 10, [`com.example.L${d}`, `call${d % 3}`]);
    const deepest = id - 1;
    for (let k = 0; id <= SPANS; k++, id++) add(id, deepest - (k % 4), 'SELECT', t0 + 12 + (k % 300), 0.5, ['com.example.Repo', `find${k % 7}`]);
    await clients.writer.insert({ table: TABLE, values: rows, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
  }
}

/** B's query: self time per span by the hotspots arrayFold join, for a list of traces. */
const SELF_IN_ENGINE = `SELECT s.TraceId, s.SpanId, s.ParentSpanId, s.service, s.method, s.failed, s.startNs, s.durationNs,
  s.durationNs - arrayFold(
    (acc, iv) -> (toInt64(acc.1 + greatest(toInt64(0), iv.2 - greatest(iv.1, acc.2))), toInt64(greatest(acc.2, iv.2))),
    arraySort(iv -> iv.1, arrayFilter(iv -> iv.2 > iv.1, arrayMap(iv -> (greatest(iv.1, s.startNs), least(iv.2, s.startNs + s.durationNs)), c.intervals))),
    (toInt64(0), s.startNs)).1 AS selfNs
FROM (
  SELECT TraceId, SpanId, ParentSpanId, ServiceName AS service, ${METHOD} AS method, StatusCode = 'Error' AS failed,
    toInt64(toUnixTimestamp64Nano(Timestamp) - {from:Int64}) AS startNs, toInt64(Duration) AS durationNs
  FROM ${TABLE} WHERE Timestamp >= fromUnixTimestamp64Nano({from:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({to:Int64}) AND TraceId IN {ids:Array(String)}
) AS s
LEFT JOIN (
  SELECT TraceId AS ChildTraceId, ParentSpanId AS ParentId,
    groupArray((toInt64(toUnixTimestamp64Nano(Timestamp) - {from:Int64}), toInt64(toUnixTimestamp64Nano(Timestamp) - {from:Int64}) + toInt64(Duration))) AS intervals
  FROM ${TABLE} WHERE Timestamp >= fromUnixTimestamp64Nano({from:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({to:Int64}) AND TraceId IN {ids:Array(String)} AND ParentSpanId != ''
  GROUP BY ChildTraceId, ParentId
) AS c ON s.TraceId = c.ChildTraceId AND s.SpanId = c.ParentId`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

async function main(): Promise<void> {
  const seeded = performance.now();
  await seed();
  console.log(`seeded ${TRACES} traces × ${SPANS} spans in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
  const endNs = BigInt(Date.now()) * 1_000_000n + 3_600_000_000_000n;
  const startNs = endNs - 2n * 3_600_000_000_000n;
  const range = { fromNs: startNs - 60_000_000_000n, toNs: endNs + 3_600_000_000_000n };
  const a = { pick: [] as number[], load: [] as number[], merge: [] as number[], total: [] as number[] };
  const b = { query: [] as number[], merge: [] as number[], total: [] as number[] };
  let nodes = 0;
  let spans = 0;
  for (let r = 0; r < REPS; r++) {
    const [picked, pickMs] = await time(() => recentTraces(clients.reader, TABLE, { startNs, endNs, limit: TRACES }, range));
    const ids = picked.map((p) => p.traceId);
    const [rows, loadMs] = await time(() => loadSpans(clients.reader, TABLE, ids, range));
    const m0 = performance.now();
    const tree = mergeSpans(rows);
    nodes = countNodes(tree);
    flatten(tree, 5000);
    const mergeMs = performance.now() - m0;
    spans = rows.length;
    a.pick.push(pickMs);
    a.load.push(loadMs);
    a.merge.push(mergeMs);
    a.total.push(pickMs + loadMs + mergeMs);

    const [engineRows, queryMs] = await time(async () =>
      (
        await clients.reader.query({
          query: SELF_IN_ENGINE,
          query_params: { from: range.fromNs.toString(), to: range.toNs.toString(), ids },
          format: 'JSONCompactEachRow',
          clickhouse_settings: { ...HOTSPOT_SETTINGS, output_format_json_quote_64bit_integers: 0 },
        })
      ).json<[string, string, string, string, string, number, number, number, number]>(),
    );
    const b0 = performance.now();
    // The path still has to be walked here; the engine's self time replaces the merge's own.
    const flame: FlameSpan[] = engineRows.map(([traceId, spanId, parentSpanId, service, method, failed, startNs, durationNs]) => ({ traceId, spanId, parentSpanId, service, method, failed: failed === 1, startNs, durationNs }));
    flatten(mergeSpans(flame), 5000);
    const bMergeMs = performance.now() - b0;
    b.query.push(queryMs);
    b.merge.push(bMergeMs);
    b.total.push(pickMs + queryMs + bMergeMs);
  }
  const med = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +median(v).toFixed(1)]));
  const result = {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    command: `npx tsx bench/flame.ts --traces ${TRACES} --spans ${SPANS} --reps ${REPS}`,
    traces: TRACES,
    spansPerTrace: SPANS,
    spansLoaded: spans,
    nodes,
    medianMs: { routeWay: med(a), selfTimeInEngine: med(b) },
  };
  console.log(JSON.stringify(result, null, 2));
  const out = resolve('bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'flame.json'), `${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main();
} finally {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
}
