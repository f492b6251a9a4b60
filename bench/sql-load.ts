/**
 * `npm run bench:sql`: what heavy user SQL costs everything else. A real collector (embedded
 * engine) receives OTLP/HTTP from `--senders` concurrent senders (100-span requests made by the
 * official SDK serializer) while `/healthz` is polled every 20 ms, for `--seconds`; first with
 * no user SQL, then with `--sql-clients` clients running a heavy aggregation back to back
 * (429s, i.e. queries beyond `api.sql.max_concurrent`, are counted and retried). Reports ingest
 * spans/s, /healthz latency p50/p99/max, and SQL queries completed/refused. Writes
 * bench/results/sql-load.json.
 *
 * Flags: --seconds N (10), --senders N (4), --sql-clients N (4).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanup, startCollector, type RunningCollector } from '../test/helpers/collector.js';
import { protobufRequest, sdkSpans } from '../test/helpers/spans.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, senders: { type: 'string', default: '4' }, 'sql-clients': { type: 'string', default: '4' } },
});
const SECONDS = Number(values.seconds);
const SENDERS = Number(values.senders);
const SQL_CLIENTS = Number(values['sql-clients']);
const SPANS_PER_REQUEST = 100;
const HEAVY_SQL = "SELECT count() AS spans, (SELECT uniqExact(sipHash64(toString(number))) FROM numbers(20000000)) AS u FROM otel_traces";

interface Phase {
  name: string;
  ingestSpansPerSecond: number;
  healthzMs: { p50: number; p99: number; max: number; samples: number };
  sql: { completed: number; refused429: number; failed: number };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function phase(c: RunningCollector, name: string, sqlClients: number, body: Buffer): Promise<Phase> {
  const deadline = Date.now() + SECONDS * 1000;
  let spans = 0;
  const senders = Array.from({ length: SENDERS }, async () => {
    while (Date.now() < deadline) {
      const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
      await res.arrayBuffer();
      if (res.status === 200) spans += SPANS_PER_REQUEST;
    }
  });
  const latencies: number[] = [];
  const poller = (async () => {
    while (Date.now() < deadline) {
      const t0 = performance.now();
      await (await fetch(`${c.apiUrl}/healthz`)).arrayBuffer();
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const sql = { completed: 0, refused429: 0, failed: 0 };
  const clients = Array.from({ length: sqlClients }, async () => {
    while (Date.now() < deadline) {
      const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: HEAVY_SQL }) });
      await res.arrayBuffer();
      if (res.status === 200) sql.completed++;
      else if (res.status === 429) {
        sql.refused429++;
        await new Promise((r) => setTimeout(r, 100));
      } else if (++sql.failed === 1) console.error(`SQL failed: ${res.status}`);
    }
  });
  await Promise.all([...senders, poller, ...clients]);
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    name,
    ingestSpansPerSecond: Math.round(spans / SECONDS),
    healthzMs: { p50: round(quantile(latencies, 0.5)), p99: round(quantile(latencies, 0.99)), max: round(latencies.at(-1) ?? 0), samples: latencies.length },
    sql,
  };
}

const collector = await startCollector();
try {
  const { spans } = await sdkSpans(SPANS_PER_REQUEST, 'bench');
  const body = protobufRequest(spans);
  const phases = [await phase(collector, 'ingest only', 0, body), await phase(collector, `ingest + ${SQL_CLIENTS} heavy SQL clients`, SQL_CLIENTS, body)];
  for (const p of phases) {
    console.log(
      `${p.name.padEnd(34)} ingest ${String(p.ingestSpansPerSecond).padStart(7)} spans/s  /healthz p50 ${p.healthzMs.p50} ms p99 ${p.healthzMs.p99} ms max ${p.healthzMs.max} ms` +
        `  SQL done ${p.sql.completed} 429 ${p.sql.refused429} failed ${p.sql.failed}`,
    );
  }
  const out = resolve(import.meta.dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'sql-load.json'),
    JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, seconds: SECONDS, senders: SENDERS, sqlClients: SQL_CLIENTS, heavySql: HEAVY_SQL, phases }, null, 2) + '\n',
  );
} finally {
  await collector.stop();
  await cleanup();
}
