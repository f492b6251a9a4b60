/**
 * `npm run bench:insert`: what the embedded ClickHouse engine itself costs per span, with no
 * receiver, queue or pipeline in the loop — the floor under bench:sidebyside's "storage only".
 *
 * Requests from the project's load generator (the spans `flowtrace bench` sends) are transcoded
 * into RowBinary rows up front; then, timed by this process's CPU (every thread: the engine runs
 * in-process), they are inserted in batches of `--batch` spans exactly as the ClickHouse exporter
 * inserts a queue batch, and finally all parts are merged into one (OPTIMIZE FINAL: one merge of
 * every row, what background merges do to each row once per level). Per schema:
 * - `otel`: the OpenTelemetry Collector ClickHouse exporter's tables (with FlowTrace's extra
 *   columns) — what a Go collector feeding a ClickHouse server makes the server do;
 * - `flowtrace`: the collector's default schema, adding the attribute catalog's materialized
 *   views and the hot-attribute columns with their skip indexes.
 * Rounds alternate the schemas; medians are printed. Writes bench/results/insert-cost.json.
 *
 * Flags: --spans N per round (600000), --batch N spans per insert (100000), --rounds N (3).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LoadGenerator } from '../collector/src/loadgen/generator.js';
import { transcodeTraceRequest } from '../collector/src/receivers/otlp/rowbinary-transcoder.js';
import type { ClickHouseConfig } from '../exporters/clickhouse/config.js';
import { openClickHouse } from '../exporters/clickhouse/connection.js';
import { INSERT_COLUMNS } from '../exporters/clickhouse/rowbinary.js';
import { migrate, tableName } from '../exporters/clickhouse/schema.js';
import { median, positiveFlag } from './figures.js';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '600000' },
    batch: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
  },
});
const SPANS = positiveFlag('spans', values.spans);
const BATCH = positiveFlag('batch', values.batch);
const ROUNDS = positiveFlag('rounds', values.rounds);
const SCHEMAS = ['otel', 'flowtrace'] as const;
type Schema = (typeof SCHEMAS)[number];

interface Figures {
  schema: Schema;
  spans: number;
  insertMicrosPerSpan: number;
  mergeMicrosPerSpan: number;
  insertSeconds: number;
  bytesPerSpanOnDisk: number;
}

/** The batches of one round: `BATCH`-span inserts of transcoded load-generator requests. */
function makeBatches(): { batches: Buffer[][]; spans: number } {
  const generator = new LoadGenerator({ services: 5, spansPerRequest: 500, spreadNs: 0n, runId: 'insert-cost' });
  const batches: Buffer[][] = [];
  let spans = 0;
  while (spans < SPANS) {
    const records: Buffer[] = [];
    for (let n = 0; n < BATCH; ) {
      const t = transcodeTraceRequest(generator.next().bytes);
      records.push(t.rowBinary);
      n += t.spans;
      spans += t.spans;
    }
    batches.push(records);
  }
  return { batches, spans };
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function round(schema: Schema): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'ft-insert-cost-'));
  const config: ClickHouseConfig = {
    url: '',
    username: '',
    password: '',
    database: 'flowtrace',
    tracesTable: 'otel_traces',
    dataDir: dir,
    retentionDays: 30,
    concurrency: 1,
    attributeCatalog: schema === 'flowtrace',
    hotAttributes: schema === 'flowtrace' ? undefined : [],
  };
  const clickhouse = openClickHouse(config);
  try {
    await migrate(clickhouse.writer, config);
    const { batches, spans } = makeBatches();
    const table = tableName(config);
    // No background merge may run while inserting: they would be counted as the insert's.
    await clickhouse.writer.command({ query: `SYSTEM STOP MERGES ${table}` });
    const before = cpuSeconds();
    const started = performance.now();
    let n = 0;
    for (const records of batches) await clickhouse.insertRowBinary(table, INSERT_COLUMNS, records, `insert-cost-${n++}`);
    const inserted = cpuSeconds();
    const insertSeconds = (performance.now() - started) / 1000;
    await clickhouse.writer.command({ query: `SYSTEM START MERGES ${table}` });
    await clickhouse.writer.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    const merged = cpuSeconds();
    const [disk] = await (
      await clickhouse.reader.query({ query: `SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = 'flowtrace' AND table = 'otel_traces'`, format: 'JSONEachRow' })
    ).json<{ bytes: string }>();
    return {
      schema,
      spans,
      insertMicrosPerSpan: round2(((inserted - before) * 1e6) / spans),
      mergeMicrosPerSpan: round2(((merged - inserted) * 1e6) / spans),
      insertSeconds: round2(insertSeconds),
      bytesPerSpanOnDisk: round2(Number(disk!.bytes) / spans),
    };
  } finally {
    await clickhouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

console.log(`bench:insert — ${cpus().length} CPUs, Node ${process.version}; ${ROUNDS} rounds × ${SCHEMAS.length} schemas, ${SPANS} spans each in ${BATCH}-span inserts`);
const runs: Figures[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Each round in its own engine directory; the order alternates so neither always goes first.
  for (const schema of r % 2 === 0 ? SCHEMAS : [...SCHEMAS].reverse()) {
    const f = await round(schema);
    runs.push(f);
    console.log(`  round ${r + 1} ${schema}: insert ${f.insertMicrosPerSpan} µs/span (${f.insertSeconds} s), merge ${f.mergeMicrosPerSpan} µs/span, ${f.bytesPerSpanOnDisk} B/span`);
  }
}
const summary = SCHEMAS.map((schema) => {
  const mine = runs.filter((r) => r.schema === schema);
  return {
    schema,
    insertMicrosPerSpan: median(mine.map((r) => r.insertMicrosPerSpan)),
    mergeMicrosPerSpan: median(mine.map((r) => r.mergeMicrosPerSpan)),
    bytesPerSpanOnDisk: median(mine.map((r) => r.bytesPerSpanOnDisk)),
  };
});
console.log('\n| schema | insert CPU µs/span | one merge of every row, CPU µs/span | bytes/span on disk |\n|---|---|---|---|');
for (const s of summary) console.log(`| ${s.schema} | ${s.insertMicrosPerSpan} | ${s.mergeMicrosPerSpan} | ${s.bytesPerSpanOnDisk} |`);
const out = resolve(import.meta.dirname, 'results/insert-cost.json');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(out, `${JSON.stringify({ benchmark: 'insert-cost', date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, settings: { spans: SPANS, batch: BATCH, rounds: ROUNDS }, summary, runs }, null, 2)}\n`);
console.log(`\nwritten to ${out}`);
