/**
 * `npm run bench:queue`: the persistent exporter queue's write path on this machine's disk.
 *
 * Concurrent appenders (8 by default, like receivers handling requests in parallel) append
 * 512-span records of ~300 KB (the size of an SDK batch of 512 spans as OTLP protobuf; the
 * content is random bytes, which the queue never looks into) for a fixed time, while an
 * exporter that accepts everything drains the queue, so segments are written, read back,
 * acknowledged and deleted as in production. Reports records/s, MB/s and spans/s appended,
 * fsyncs/s and records per fsync (group commit), append latency p50/p99 (time to durable);
 * then the same with a single appender (one fsync per record: what group commit saves); then
 * both again with small records (4 KB, 8 spans), where the fsync rather than the bytes is the
 * cost; then the time to reopen a queue holding 256 MB of undelivered records (every record's
 * CRC is checked). Writes bench/results/queue.json.
 *
 * Flags: --seconds N (10), --appenders N (8), --record-kb N (300), --spans N (512),
 * --dir PATH (a temp dir under os.tmpdir(); the disk being measured).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Exporter } from '../exporters/exporter.js';
import type { Span } from '../collector/src/model/span.js';
import { queueConfigSchema } from '../collector/src/pipeline/persistent-queue/config.js';
import { PersistentQueue } from '../collector/src/pipeline/persistent-queue/persistent-queue.js';
import { CollectorMetrics } from '../collector/src/telemetry.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    appenders: { type: 'string', default: '8' },
    'record-kb': { type: 'string', default: '300' },
    spans: { type: 'string', default: '512' },
    dir: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const APPENDERS = Number(values.appenders);
const RECORD_BYTES = Number(values['record-kb']) * 1000;
const SPANS = Number(values.spans);
const root = mkdtempSync(join(values.dir ?? tmpdir(), 'ft-bench-queue-'));
const SMALL_BYTES = 4000;
const SMALL_SPANS = 8;

/** Accepts every batch at once: the bench measures the queue, not a backend. */
class SinkExporter implements Exporter {
  readonly encoding = 'bench';
  spans = 0;
  constructor(readonly name: string) {}
  encode(_spans: Span[]): Uint8Array {
    return new Uint8Array();
  }
  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
  async send(_payload: Buffer, spanCount: number): Promise<void> {
    this.spans += spanCount;
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function appendFor(appenders: number, seconds: number, name: string, recordBytes = RECORD_BYTES, spans = SPANS) {
  const record = randomBytes(recordBytes);
  const exporter = new SinkExporter(name);
  const config = queueConfigSchema.parse({ batch: { max_spans: 100_000 } });
  const queue = new PersistentQueue(exporter, { dir: join(root, name), config, metrics: new CollectorMetrics(), logger: pino({ level: 'warn' }) });
  await queue.start();
  const latencies: number[] = [];
  let records = 0;
  let refused = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await queue.append(record, spans);
          latencies.push(performance.now() - t);
          records++;
        } catch {
          refused++; // full: a client would be told to retry later
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const { syncs } = queue.writeStats;
  await queue.shutdown();
  latencies.sort((a, b) => a - b);
  return {
    appenders,
    seconds: +elapsed.toFixed(2),
    records,
    refused,
    recordsPerSecond: Math.round(records / elapsed),
    megabytesPerSecond: +((records * recordBytes) / 1e6 / elapsed).toFixed(1),
    spansPerSecond: Math.round((records * spans) / elapsed),
    fsyncsPerSecond: Math.round(syncs / elapsed),
    recordsPerFsync: +(records / Math.max(1, syncs)).toFixed(2),
    appendLatencyMs: { p50: +quantile(latencies, 0.5).toFixed(2), p99: +quantile(latencies, 0.99).toFixed(2) },
    spansDelivered: exporter.spans,
  };
}

/** Fills a queue whose backend is down with `bytes` of records, then times reopening it. */
async function recovery(bytes: number) {
  const dir = join(root, 'recovery');
  const config = queueConfigSchema.parse({});
  const down = new SinkExporter('recovery');
  down.send = () => Promise.reject(new Error('backend down'));
  let queue = new PersistentQueue(down, { dir, config, metrics: new CollectorMetrics(), logger: pino({ level: 'silent' }) });
  await queue.start();
  const record = randomBytes(RECORD_BYTES);
  const count = Math.ceil(bytes / RECORD_BYTES);
  for (let i = 0; i < count; i += APPENDERS) await Promise.all(Array.from({ length: Math.min(APPENDERS, count - i) }, () => queue.append(record, SPANS)));
  await queue.shutdown(0);
  queue = new PersistentQueue(down, { dir, config, metrics: new CollectorMetrics(), logger: pino({ level: 'silent' }) });
  const t = performance.now();
  await queue.start();
  const ms = performance.now() - t;
  const recovered = queue.depth.records;
  await queue.shutdown(0);
  return { megabytes: Math.round((count * RECORD_BYTES) / 1e6), records: recovered, startMs: Math.round(ms), megabytesPerSecond: Math.round((count * RECORD_BYTES) / 1e6 / (ms / 1000)) };
}

try {
  console.log(`appending ${RECORD_BYTES / 1000} KB records of ${SPANS} spans for ${SECONDS} s in ${root}`);
  const grouped = await appendFor(APPENDERS, SECONDS, 'grouped');
  console.log(`${APPENDERS} appenders:`, grouped);
  const single = await appendFor(1, Math.max(2, SECONDS / 2), 'single');
  console.log('1 appender:', single);
  const smallGrouped = await appendFor(APPENDERS, Math.max(2, SECONDS / 2), 'small-grouped', SMALL_BYTES, SMALL_SPANS);
  console.log(`${APPENDERS} appenders, 4 KB records:`, smallGrouped);
  const smallSingle = await appendFor(1, Math.max(2, SECONDS / 2), 'small-single', SMALL_BYTES, SMALL_SPANS);
  console.log('1 appender, 4 KB records:', smallSingle);
  const reopen = await recovery(256e6);
  console.log('reopen:', reopen);
  const result = {
    benchmark: 'queue',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    settings: { recordBytes: RECORD_BYTES, spansPerRecord: SPANS, segmentBytes: queueConfigSchema.parse({}).segment_bytes, dir: values.dir ?? 'os.tmpdir()' },
    groupCommit: grouped,
    singleAppender: single,
    smallRecords: { recordBytes: SMALL_BYTES, spansPerRecord: SMALL_SPANS, groupCommit: smallGrouped, singleAppender: smallSingle },
    reopen,
  };
  writeFileSync(resolve(import.meta.dirname, 'results/queue.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
