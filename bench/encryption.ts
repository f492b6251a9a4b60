/**
 * `npm run bench:encryption`: what `storage.encryption` (AES-256-GCM, storage/encryption/) costs.
 *
 * 1. Sealing alone: MB/s of seal and open on one core, for 300 KB and 4 KB records.
 * 2. The queue's log (SegmentLog, as every durable queue and the journal use it): 8 concurrent
 *    appenders of 300 KB records for --seconds, then everything read back through the cursor;
 *    records/s and MB/s appended, MB/s read, and this process's CPU per MB — in the clear and
 *    sealed, interleaved (clear, sealed, clear, sealed) because the machine is shared.
 * 3. End to end: `flowtrace serve` (default processors, so the journal is written; the embedded
 *    engine, on its encrypted disk when on) receives --requests load-generator requests of 512
 *    spans over OTLP/HTTP from 4 concurrent senders; collector CPU (/proc) per span stored, from
 *    the first send until every span is in the store. Clear and encrypted, interleaved, --rounds times.
 *
 * Prints the machine, the command and the figures; writes bench/results/encryption.json.
 * Flags: --seconds N (5), --requests N (80), --rounds N (2), --dir PATH (the disk measured; os.tmpdir()).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { SegmentLog } from '../collector/src/pipeline/persistent-queue/segment-log.js';
import { Opener, Sealer } from '../collector/src/storage/encryption/envelope.js';
import { atRestKey, Keyring } from '../collector/src/storage/encryption/keyring.js';
import { LoadGenerator, RUN_ATTRIBUTE } from '../collector/src/loadgen/generator.js';
import { cleanup, newTempDir, sql, startCollector } from '../test/helpers/collector.js';
import { postTraces } from '../test/helpers/otlp-send.js';
import { runBench, writeResults } from './bench-run.js';
import { cpuSeconds } from './process-stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '80' },
    rounds: { type: 'string', default: '2' },
    dir: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const APPENDERS = 8;
const RECORD_BYTES = 300_000;
const keyring = new Keyring(atRestKey(randomBytes(32)));
const logger = pino({ level: 'warn' });

function sealing(bytes: number) {
  const plaintext = randomBytes(bytes);
  const sealer = new Sealer(keyring, 'bench');
  const opener = new Opener(keyring, 'bench');
  const position = Buffer.alloc(36);
  const n = Math.max(50, Math.round(200e6 / bytes));
  let sealed: Buffer = Buffer.alloc(0);
  let t = performance.now();
  for (let i = 0; i < n; i++) sealed = sealer.sealToBuffer(plaintext, position);
  const sealMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < n; i++) if (!opener.open(sealed, position).ok) throw new Error('did not open');
  const openMs = performance.now() - t;
  const mb = (n * bytes) / 1e6;
  return { recordBytes: bytes, sealMBps: Math.round(mb / (sealMs / 1000)), openMBps: Math.round(mb / (openMs / 1000)), sealUsPerRecord: +((sealMs * 1000) / n).toFixed(2) };
}

async function queueRun(root: string, name: string, encrypted: boolean) {
  const dir = join(root, name);
  const log = await SegmentLog.open({
    dir, segmentBytes: 64 * 1024 * 1024, ackedSeq: 0, readAfter: 0, minNextSeq: 1, logger,
    encryption: encrypted ? { keyring, context: 'queue:bench' } : undefined,
  });
  const record = randomBytes(RECORD_BYTES);
  let records = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (performance.now() < end) {
        await log.append(record, 512);
        records++;
      }
    }),
  );
  const appendSeconds = (performance.now() - started) / 1000;
  const appendCpu = process.cpuUsage(cpu0);
  const cpu1 = process.cpuUsage();
  const readStarted = performance.now();
  let read = 0;
  for (;;) {
    const batch = await log.readNext(100_000, 32 * 1024 * 1024);
    if (!batch) break;
    read += batch.records;
  }
  const readSeconds = (performance.now() - readStarted) / 1000;
  const readCpu = process.cpuUsage(cpu1);
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  if (read !== records) throw new Error(`read ${read} of ${records} records`);
  const mb = (records * RECORD_BYTES) / 1e6;
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  return {
    encrypted,
    records,
    appendRecordsPerSecond: Math.round(records / appendSeconds),
    appendMBps: +(mb / appendSeconds).toFixed(1),
    appendCpuMsPerMB: +(cpuMs(appendCpu) / mb).toFixed(3),
    readMBps: +(mb / readSeconds).toFixed(1),
    readCpuMsPerMB: +(cpuMs(readCpu) / mb).toFixed(3),
  };
}

async function endToEnd(encrypted: boolean, keyFile: string) {
  const config = encrypted ? `storage:\n  encryption:\n    key_file: ${keyFile}\n` : undefined;
  const collector = await startCollector({ config });
  const pid = Number(/"pid":(\d+)/.exec(collector.logs.find((l) => l.includes('"collector ready"')) ?? '')?.[1]);
  const runId = randomBytes(6).toString('hex');
  const generator = new LoadGenerator({ services: 10, spansPerRequest: 512, spreadNs: 0n, runId });
  const requests = Array.from({ length: REQUESTS }, () => generator.next());
  const spans = requests.reduce((n, r) => n + r.spans, 0);
  const cpu0 = cpuSeconds(pid);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        for (;;) {
          const outcome = await postTraces(collector.httpEndpoint, r.bytes, 'application/x-protobuf');
          if (outcome.status === 200) break;
          if (outcome.status !== 429 && outcome.status !== 503) throw new Error(`send failed: ${outcome.status} ${outcome.message}`);
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    }),
  );
  const acceptedSeconds = (performance.now() - started) / 1000;
  for (;;) {
    const [row] = await sql<{ n: string | number }>(collector.apiUrl, `SELECT count() AS n FROM otel_traces WHERE ResourceAttributes['${RUN_ATTRIBUTE}'] = '${runId}'`);
    if (Number(row?.n) >= spans) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  const cpu = cpuSeconds(pid) - cpu0;
  await collector.stop();
  return { encrypted, spans, acceptedSpansPerSecond: Math.round(spans / acceptedSeconds), collectorCpuUsPerSpan: +((cpu * 1e6) / spans).toFixed(2) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

runBench(async () => {
  // The load average says how shared the machine was: figures from a busy machine compare A with B, not with other machines.
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage1m: +loadavg()[0]!.toFixed(1) };
  const command = `npm run bench:encryption -- --seconds ${SECONDS} --requests ${REQUESTS} --rounds ${ROUNDS}${values.dir ? ` --dir ${values.dir}` : ''}`;
  console.log('machine:', machine);
  console.log('command:', command);
  const seal = [sealing(RECORD_BYTES), sealing(4000)];
  console.log('sealing:', seal);
  const root = mkdtempSync(join(values.dir ?? tmpdir(), 'ft-bench-enc-'));
  const queue: Array<Awaited<ReturnType<typeof queueRun>>> = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const encrypted of [false, true]) {
        const r = await queueRun(root, `q${i}-${encrypted}`, encrypted);
        console.log('queue:', r);
        queue.push(r);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const keyFile = join(newTempDir('ft-bench-key-'), 'key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const e2e: Array<Awaited<ReturnType<typeof endToEnd>>> = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const encrypted of [false, true]) {
      const r = await endToEnd(encrypted, keyFile);
      console.log('end to end:', r);
      e2e.push(r);
    }
  }
  await cleanup();
  const summary = (encrypted: boolean) => ({
    appendMBps: median(queue.filter((q) => q.encrypted === encrypted).map((q) => q.appendMBps)),
    appendCpuMsPerMB: median(queue.filter((q) => q.encrypted === encrypted).map((q) => q.appendCpuMsPerMB)),
    readMBps: median(queue.filter((q) => q.encrypted === encrypted).map((q) => q.readMBps)),
    readCpuMsPerMB: median(queue.filter((q) => q.encrypted === encrypted).map((q) => q.readCpuMsPerMB)),
    collectorCpuUsPerSpan: median(e2e.filter((r) => r.encrypted === encrypted).map((r) => r.collectorCpuUsPerSpan)),
    acceptedSpansPerSecond: median(e2e.filter((r) => r.encrypted === encrypted).map((r) => r.acceptedSpansPerSecond)),
  });
  const result = { benchmark: 'encryption', date: new Date().toISOString(), machine, command, sealing: seal, queue, endToEnd: e2e, median: { clear: summary(false), encrypted: summary(true) } };
  console.log('median:', result.median);
  writeResults('encryption.json', result);
});
