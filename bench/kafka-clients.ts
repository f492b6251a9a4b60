/**
 * bench:kafka-clients — which npm Kafka client carries FlowTrace's ingest → process traffic.
 *
 * Starts a real broker (test/helpers/kafka.ts: Kafka 4.4.0, KRaft, one node), then for each
 * candidate client, on a topic of its own with PARTITIONS partitions:
 *   produce  N keyed records of SIZE bytes (a 16-byte trace ID key, an OTLP-sized value),
 *            acks=all, BATCH messages per send, IN_FLIGHT sends at once;
 *   consume  them back in a fresh consumer group from the earliest offset until all N arrived.
 * Prints records/s, MB/s and the CPU seconds of this process (the client) and of the broker per
 * phase, and writes bench/results/kafka-clients.json.
 *
 *   npm run bench:kafka-clients [-- --records 200000 --size 2048 --partitions 6 --only kafkajs|platformatic]
 *
 * The chosen client is a dependency. The others are installed on demand into
 * ~/.cache/flowtrace/kafka-bench (npm, exact versions) so the comparison can be repeated
 * without adding them to package.json. @confluentinc/kafka-javascript is not measured: its
 * install downloads a prebuilt librdkafka binary (and, failing that, openssl/zlib sources)
 * from GitHub, which this project's machines cannot reach (see exporters/kafka/README.md).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startKafka, type RunningKafka } from '../test/helpers/kafka.js';
import { runBench, writeResults } from './bench-run.js';
import { cpuSeconds } from './process-stats.js';

const CANDIDATES = { kafkajs: '2.2.4', '@platformatic/kafka': '1.35.0' } as const;
type Candidate = keyof typeof CANDIDATES;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const RECORDS = arg('records', 200_000);
const SIZE = arg('size', 2048);
const PARTITIONS = arg('partitions', 6);
const BATCH = arg('batch', 500);
const IN_FLIGHT = arg('in-flight', 4);
const BENCH_DIR = join(homedir(), '.cache/flowtrace/kafka-bench');

/** Loads a candidate from the repository's node_modules, else from the bench's own install. */
async function load(name: Candidate): Promise<unknown> {
  for (const base of [join(import.meta.dirname, '..'), BENCH_DIR]) {
    try {
      const path = createRequire(join(base, 'package.json')).resolve(name);
      return await import(pathToFileURL(path).href);
    } catch {
      // not there: try the next place
    }
  }
  mkdirSync(BENCH_DIR, { recursive: true });
  if (!existsSync(join(BENCH_DIR, 'package.json'))) writeFileSync(join(BENCH_DIR, 'package.json'), '{"name":"flowtrace-kafka-bench","private":true}\n');
  console.log(`installing ${name}@${CANDIDATES[name]} into ${BENCH_DIR} ...`);
  execFileSync('npm', ['install', '--ignore-scripts', '--save-exact', '--no-audit', '--no-fund', `${name}@${CANDIDATES[name]}`], { cwd: BENCH_DIR, stdio: 'inherit' });
  const path = createRequire(join(BENCH_DIR, 'package.json')).resolve(name);
  return import(pathToFileURL(path).href);
}

// The few calls the bench makes, typed here so the losing client need not be a dependency.
interface KafkaJsModule {
  Kafka: new (o: { clientId: string; brokers: string[]; logLevel: number }) => {
    producer(o: { allowAutoTopicCreation: boolean; maxInFlightRequests?: number }): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      send(o: { topic: string; acks: number; messages: { key: Buffer; value: Buffer }[] }): Promise<unknown>;
    };
    consumer(o: { groupId: string; maxBytes?: number }): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      subscribe(o: { topic: string; fromBeginning: boolean }): Promise<void>;
      run(o: { autoCommit: boolean; eachBatch: (p: { batch: { messages: { value: Buffer | null }[] } }) => Promise<void> }): Promise<void>;
    };
  };
}
interface PlatformaticModule {
  Producer: new (o: { clientId: string; bootstrapBrokers: string[]; acks: number; autocreateTopics: boolean }) => {
    send(o: { messages: { topic: string; key: Buffer; value: Buffer }[] }): Promise<unknown>;
    close(): Promise<void>;
  };
  Consumer: new (o: { clientId: string; groupId: string; bootstrapBrokers: string[]; maxBytes?: number }) => {
    consume(o: { topics: string[]; mode: string; autocommit: boolean | number; maxBytes?: number }): Promise<{
      on(event: 'data', f: (m: { value: Buffer }) => void): void;
      on(event: 'error', f: (e: Error) => void): void;
      close(): Promise<void>;
    }>;
    close(force?: boolean): Promise<void>;
  };
}

interface Phase {
  seconds: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  clientCpuSeconds: number;
  brokerCpuSeconds: number;
}

interface ClientResult {
  client: Candidate;
  version: string;
  produce: Phase;
  consume: Phase;
}

interface Workload {
  keys: Buffer[];
  values: Buffer[];
}

function workload(): Workload {
  // 64 distinct values (random bytes: compression would not help, as with real span IDs) and a key per record.
  const values = Array.from({ length: 64 }, () => randomBytes(SIZE));
  const keys = Array.from({ length: RECORDS }, () => randomBytes(16));
  return { keys, values };
}

/** Runs `work` and measures wall time, this process's CPU and the broker's CPU. */
async function measure(kafka: RunningKafka, work: () => Promise<void>): Promise<Phase> {
  const cpu0 = process.cpuUsage();
  const broker0 = cpuSeconds(kafka.pid);
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds: round(seconds),
    recordsPerSecond: Math.round(RECORDS / seconds),
    mbPerSecond: round((RECORDS * SIZE) / 1e6 / seconds),
    clientCpuSeconds: round((cpu.user + cpu.system) / 1e6),
    brokerCpuSeconds: round(cpuSeconds(kafka.pid) - broker0),
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Sends batches of BATCH with at most IN_FLIGHT sends outstanding. */
async function produceAll(send: (from: number, to: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < RECORDS) {
      const from = next;
      next = Math.min(RECORDS, next + BATCH);
      await send(from, next);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

function waitForAll(what: string, count: () => number, timeoutMs = 600_000): Promise<void> {
  return new Promise((res, rej) => {
    const deadline = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      if (count() >= RECORDS) {
        clearInterval(timer);
        res();
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        rej(new Error(`${what}: ${count()} of ${RECORDS} records consumed in ${timeoutMs / 1000} s`));
      }
    }, 20);
  });
}

async function benchKafkaJs(kafka: RunningKafka, w: Workload): Promise<ClientResult> {
  const { Kafka } = (await load('kafkajs')) as KafkaJsModule;
  const topic = 'bench-kafkajs';
  await kafka.createTopic(topic, PARTITIONS);
  const client = new Kafka({ clientId: 'bench', brokers: [kafka.brokers], logLevel: 1 });
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const produce = await measure(kafka, () =>
    produceAll((from, to) => {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ key: w.keys[i]!, value: w.values[i % w.values.length]! });
      return producer.send({ topic, acks: -1, messages });
    }),
  );
  await producer.disconnect();

  const consumer = client.consumer({ groupId: 'bench-kafkajs', maxBytes: 10 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let received = 0;
  const consume = await measure(kafka, async () => {
    await consumer.run({ autoCommit: true, eachBatch: async ({ batch }) => void (received += batch.messages.length) });
    await waitForAll('kafkajs', () => received);
  });
  await consumer.disconnect();
  return { client: 'kafkajs', version: CANDIDATES.kafkajs, produce, consume };
}

async function benchPlatformatic(kafka: RunningKafka, w: Workload): Promise<ClientResult> {
  const { Producer, Consumer } = (await load('@platformatic/kafka')) as PlatformaticModule;
  const topic = 'bench-platformatic';
  await kafka.createTopic(topic, PARTITIONS);
  const producer = new Producer({ clientId: 'bench', bootstrapBrokers: [kafka.brokers], acks: -1, autocreateTopics: false });
  const produce = await measure(kafka, () =>
    produceAll((from, to) => {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ topic, key: w.keys[i]!, value: w.values[i % w.values.length]! });
      return producer.send({ messages });
    }),
  );
  await producer.close();

  const consumer = new Consumer({ clientId: 'bench', groupId: 'bench-platformatic', bootstrapBrokers: [kafka.brokers], maxBytes: 10 << 20 });
  let received = 0;
  const consume = await measure(kafka, async () => {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1000, maxBytes: 10 << 20 });
    stream.on('data', () => void received++);
    stream.on('error', (err) => console.error('consumer stream:', err));
    await waitForAll('@platformatic/kafka', () => received);
    await stream.close();
  });
  await consumer.close(true);
  return { client: '@platformatic/kafka', version: CANDIDATES['@platformatic/kafka'], produce, consume };
}

function line(r: ClientResult, phase: 'produce' | 'consume'): string {
  const p = r[phase];
  return `${`${r.client}@${r.version}`.padEnd(26)} ${phase.padEnd(8)} ${String(p.recordsPerSecond).padStart(8)} rec/s ${p.mbPerSecond.toFixed(1).padStart(7)} MB/s  ${p.seconds.toFixed(1).padStart(6)} s  client CPU ${p.clientCpuSeconds.toFixed(1).padStart(5)} s  broker CPU ${p.brokerCpuSeconds.toFixed(1).padStart(5)} s`;
}

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

runBench(async () => {
  console.log(`${RECORDS} records × ${SIZE} B, ${PARTITIONS} partitions, acks=all, ${BATCH} per send, ${IN_FLIGHT} sends in flight`);
  const kafka = await startKafka({ partitions: PARTITIONS });
  const results: ClientResult[] = [];
  try {
    const w = workload();
    // The broker's JIT warms up during the first run: the faster client goes first, so any handicap is its own.
    for (const run of [benchPlatformatic, benchKafkaJs].filter((f) => !only || f.name.toLowerCase().includes(only.toLowerCase()))) {
      const r = await run(kafka, w);
      results.push(r);
      console.log(line(r, 'produce'));
      console.log(line(r, 'consume'));
    }
  } finally {
    await kafka.stop();
  }
  // A run of one client is for trying things: the results file keeps the comparison.
  if (only) return;
  writeResults('kafka-clients.json', {
    date: new Date().toISOString(),
    broker: 'Apache Kafka 4.4.0 (KRaft, one node, 127.0.0.1)',
    node: process.version,
    records: RECORDS,
    recordBytes: SIZE,
    partitions: PARTITIONS,
    batch: BATCH,
    inFlight: IN_FLIGHT,
    notMeasured: { '@confluentinc/kafka-javascript': 'install fails: its prebuilt librdkafka binary (and the openssl/zlib sources of its fallback build) come from GitHub, which is not reachable here' },
    results,
  });
});
