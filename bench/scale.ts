/**
 * bench:scale — how the `process` tier scales with its replicas (README "Scaling out").
 *
 For 1, 2 and 3 `process` collectors (default processors: filter, redact, stitch, sample; the
 * write-ahead journal, since stitch holds traces; each replica with its own embedded store) in a
 * consumer group on a topic of their own on a real Kafka broker (test/helpers/kafka.ts): once
 * every replica has joined and the group holds every partition, TRACES traces of six spans across
 * three services (test/helpers/scale-traffic.ts) are published through FlowTrace's own kafka
 * exporter (one message per trace part, keyed by trace ID, as `ingest` collectors publish them),
 * (PUBLISHERS producers at once), and the figure is spans per second from the first publish until the group has committed every
 * record (a record is committed once its spans are durable in a replica). Last, three replicas
 * storing through one `query` owner (the embedded-store topology): the same rate, and how long
 * until the owner has stored every span.
 *
 *   npm run bench:scale [-- --traces 30000]
 *
 * The honest caveat: this machine has two cores, shared by the broker, the replicas and the
 * owner. Replicas beyond the cores cannot add throughput here; what the figures show is the
 * tier's overhead and that the group spreads the partitions, not what three machines would do.
 */
import { pino } from 'pino';
import { Admin } from '@platformatic/kafka';
import { kafkaExporterConfigSchema, kafkaExporterFactory } from '../exporters/kafka/index.js';
import { cleanup, sql, startCollector, waitFor, type RunningCollector } from '../test/helpers/collector.js';
import { startKafka, type RunningKafka } from '../test/helpers/kafka.js';
import { scaleTrace } from '../test/helpers/scale-traffic.js';
import { runBench, writeResults } from './bench-run.js';
import { cpuSeconds } from './process-stats.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const TRACES = arg('traces', 30_000);
const PARTITIONS = 6;
const TOPIC = 'otlp_spans';
const RECORDS = TRACES * 3;
const SPANS = TRACES * 6;

interface Run {
  replicas: number;
  topology: 'own store' | 'owner';
  spansPerSecond: number;
  seconds: number;
  /** CPU seconds of the replicas (and the owner) during the measured window. */
  cpuSeconds: number;
  /** Owner topology: from the start of the window until the owner stored every span. */
  storedAfterSeconds?: number;
}

/** Publishers at once: one producer sends one batch at a time (its sequence numbers), so the ingest side is several. */
const PUBLISHERS = 4;

async function publish(kafka: RunningKafka, topic: string): Promise<void> {
  const exporters = Array.from({ length: PUBLISHERS }, () =>
    kafkaExporterFactory.create('kafka', kafkaExporterConfigSchema.parse({ brokers: [kafka.brokers], topic }), { logger: pino({ level: 'silent' }) }),
  );
  for (const e of exporters) await e.start();
  const batches: Buffer[] = [];
  for (let from = 0; from < TRACES; from += 500) {
    const records: Uint8Array[] = [];
    for (let i = from; i < Math.min(TRACES, from + 500); i++) for (const part of scaleTrace(i).parts) records.push(exporters[0]!.encode(part.spans));
    batches.push(Buffer.concat(records));
  }
  await Promise.all(
    exporters.map(async (exporter, p) => {
      for (let b = p; b < batches.length; b += PUBLISHERS) await exporter.send(batches[b]!, 3_000, `publish-${b}`);
    }),
  );
  for (const e of exporters) await e.shutdown();
}

async function committed(admin: Admin, group: string, topic: string): Promise<number> {
  const [g] = await admin.listConsumerGroupOffsets({ groups: [group] });
  return (g?.topics.find((t) => t.name === topic)?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.committedOffset)), 0);
}

/** Partitions the collector's Kafka receiver holds (its /metrics). */
async function assignedTo(collector: RunningCollector): Promise<number> {
  const text = await (await fetch(`${collector.apiUrl}/metrics`)).text();
  return Number(/^flowtrace_kafka_assigned_partitions (\d+)$/m.exec(text)?.[1] ?? 0);
}

const pidOf = (c: RunningCollector) => Number(/"pid":(\d+)/.exec(c.logs.find((l) => l.includes('"collector ready"')) ?? '')?.[1]);

async function measure(kafka: RunningKafka, admin: Admin, replicas: number, owner?: RunningCollector): Promise<Run> {
  const group = `bench-scale-${replicas}-${owner ? 'owner' : 'own'}`;
  const topic = `${TOPIC}-${replicas}-${owner ? 'owner' : 'own'}`;
  await kafka.createTopic(topic, PARTITIONS);
  const config = `receivers:\n  kafka:\n    enabled: true\n    brokers: ['${kafka.brokers}']\n    topic: ${topic}\n    group_id: ${group}\n` +
    (owner ? `storage:\n  owner:\n    endpoint: ${owner.httpEndpoint}\n    api: ${owner.apiUrl}\n` : '');
  // Each with its own store: role `all` (a process collector on the embedded store must have an owner), which
  // consumes from Kafka like `process` and runs the same pipeline; its API is idle here.
  const started = await Promise.all(Array.from({ length: replicas }, () => startCollector({ args: ['--role', owner ? 'process' : 'all'], config })));
  // Every replica in the group and every partition held: no rebalance inside the window.
  await waitFor(async () => ((await Promise.all(started.map(assignedTo))).every((n) => n > 0) && (await Promise.all(started.map(assignedTo))).reduce((a, b) => a + b, 0) === PARTITIONS ? true : undefined), `${group} to hold every partition`, 120_000);
  const pids = [...started, ...(owner ? [owner] : [])].map(pidOf);
  const cpu0 = pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
  const t0 = performance.now();
  await publish(kafka, topic);
  await waitFor(async () => ((await committed(admin, group, topic)) >= RECORDS ? true : undefined), `${group} to commit ${RECORDS} records`, 30 * 60_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = pids.reduce((n, pid) => n + cpuSeconds(pid), 0) - cpu0;
  const run: Run = { replicas, topology: owner ? 'owner' : 'own store', spansPerSecond: Math.round(SPANS / seconds), seconds: Number(seconds.toFixed(1)), cpuSeconds: Number(cpu.toFixed(1)) };
  // Stopping hands on every trace stitch still holds; the owner then stores what it was sent.
  for (const c of started) await c.stop();
  if (owner) {
    await waitFor(async () => {
      const [row] = await sql<{ n: string }>(owner.apiUrl, 'SELECT count() AS n FROM otel_traces');
      return Number(row?.n ?? 0) >= SPANS ? true : undefined;
    }, 'the owner to store every span', 30 * 60_000);
    run.storedAfterSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  }
  console.log(
    `${String(replicas).padStart(2)} process replica(s), ${run.topology.padEnd(9)} ${String(run.spansPerSecond).padStart(7)} spans/s  ${run.seconds.toFixed(1).padStart(6)} s  CPU ${run.cpuSeconds.toFixed(1).padStart(6)} s` +
      (run.storedAfterSeconds === undefined ? '' : `  all stored at the owner after ${run.storedAfterSeconds} s`),
  );
  return run;
}

runBench(async () => {
  console.log(`${TRACES} traces × 6 spans (${RECORDS} Kafka records), ${PARTITIONS} partitions, on a machine with 2 cores`);
  const kafka = await startKafka({ partitions: PARTITIONS });
  const admin = new Admin({ clientId: 'bench-scale', bootstrapBrokers: [kafka.brokers] });
  try {
    const runs: Run[] = [];
    for (const replicas of [1, 2, 3]) runs.push(await measure(kafka, admin, replicas));
    const owner = await startCollector({ args: ['--role', 'query'] });
    runs.push(await measure(kafka, admin, 3, owner));
    await owner.stop();
    const one = runs[0]!.spansPerSecond;
    for (const r of runs) console.log(`  ${r.replicas} × ${r.topology}: ${(r.spansPerSecond / one).toFixed(2)}× one replica`);
    writeResults('scale.json', { traces: TRACES, spans: SPANS, partitions: PARTITIONS, cores: 2, runs });
  } finally {
    await admin.close().catch(() => undefined);
    await kafka.stop();
    await cleanup();
  }
});
