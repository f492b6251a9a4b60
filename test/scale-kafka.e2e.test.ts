/**
 * Scale-out with Kafka between the tiers, all real on loopback: a KRaft broker from Maven
 * Central's jars, two `ingest` collectors publishing to it, three `process` collectors in one
 * consumer group holding whole traces (stitch, tail sampling) and storing through the `query`
 * collector that owns the embedded store. The spans of each trace leave its three services in
 * separate requests to different ingest collectors.
 *
 * Phase A: no trace is split — each failing trace is kept whole, every other one dropped whole —
 * and the service graph equals a single collector's on the same traffic.
 * Phase B: a process collector is SIGKILLed mid-stream (and comes back, as a StatefulSet's pod
 * does): every acknowledged span is stored exactly once.
 *
 * Nothing waits on a timer: traces are held longer than the test runs, and the process
 * collectors' graceful stop hands on what they hold once the consumer group has committed every
 * record (read from the broker).
 */
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, sql, startCollector, stopAndSettle, waitFor, type RunningCollector } from './helpers/collector.js';
import { KAFKA_HOOK_TIMEOUT_MS, startKafka, type RunningKafka } from './helpers/kafka.js';
import { otlpBody, scaleTrace, sendAcknowledged, type ScaleTrace } from './helpers/scale-traffic.js';

const TOPIC = 'otlp_spans';
const GROUP = 'flowtrace-process';
const PARTITIONS = 6;
const TRACES = 120;

const PROCESSORS = `
processors:
  stitch:
    decision_wait_ms: 600000
  sample:
    tail:
      enabled: true
      decision_wait_ms: 600000
      policies:
        - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
        - { name: kept, type: string_attribute, string_attribute: { key: test.keep, values: ['yes'] } }
`;

let kafka: RunningKafka;
let admin: Admin;
let owner: RunningCollector;
const ingest: RunningCollector[] = [];
const processes: RunningCollector[] = [];
/** Records published so far (one per trace part: a part is one request holding one trace). */
let published = 0;

function processConfig(): string {
  return `${PROCESSORS}
receivers:
  kafka:
    enabled: true
    brokers: ['${kafka.brokers}']
    topic: ${TOPIC}
    group_id: ${GROUP}
    # The broker's minimum: a SIGKILLed member's partitions move after this long.
    session_timeout_ms: 6000
storage:
  owner:
    endpoint: ${owner.httpEndpoint}
    api: ${owner.apiUrl}
`;
}

const startProcess = (dataDir?: string) => startCollector({ args: ['--role', 'process'], config: processConfig(), dataDir });

/** Sends every part of each trace, part j of trace i to ingest collector (i + j) % 2; resolves once all are acknowledged. */
async function send(traces: ScaleTrace[]): Promise<void> {
  await Promise.all(
    traces.flatMap((t, i) => t.parts.map((part, j) => sendAcknowledged(ingest[(i + j) % ingest.length]!.httpEndpoint, otlpBody(part.spans)))),
  );
  published += traces.length * 3;
}

/** Resolves once the topic holds `published` records and the group has committed all of them. */
async function consumed(): Promise<void> {
  const partitions = Array.from({ length: PARTITIONS }, (_, i) => i);
  await waitFor(async () => {
    const [ends] = await admin.listOffsets({ topics: [{ name: TOPIC, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) }] });
    const total = ends!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    if (total < published) return undefined;
    const [group] = await admin.listConsumerGroupOffsets({ groups: [GROUP] });
    const committed = new Map((group?.topics.find((t) => t.name === TOPIC)?.partitions ?? []).map((p) => [p.partitionIndex, p.committedOffset]));
    return ends!.partitions.every((p) => committed.get(p.partitionIndex) === p.offset) ? true : undefined;
  }, `the group to commit all ${published} records`, 180_000);
}

/** Kafka messages a collector's receiver has accepted (its /metrics). */
async function acceptedBy(collector: RunningCollector): Promise<number> {
  const text = await (await fetch(`${collector.apiUrl}/metrics`)).text();
  return Number(/^flowtrace_kafka_messages_total\{outcome="accepted"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function count(apiUrl: string, query: string): Promise<number> {
  const [row] = await sql<{ n: string }>(apiUrl, query);
  return Number(row?.n ?? 0);
}

type Edges = Record<string, number>;
async function graph(apiUrl: string): Promise<Edges> {
  const answer = (await (await fetch(`${apiUrl}/api/service-graph?lookback=1h`)).json()) as { edges: Array<{ caller: string; callee: string; operation: string; calls: number | string }> };
  const edges: Edges = {};
  for (const e of answer.edges) edges[`${e.caller} -> ${e.callee} ${e.operation}`] = (edges[`${e.caller} -> ${e.callee} ${e.operation}`] ?? 0) + Number(e.calls);
  return edges;
}

/** Spans stored per trace at the owner. */
async function storedPerTrace(traces: ScaleTrace[]): Promise<Map<string, { spans: number; unique: number }>> {
  const ids = traces.map((t) => `'${t.traceId}'`).join(',');
  const rows = await sql<{ t: string; n: string; u: string }>(owner.apiUrl, `SELECT TraceId AS t, count() AS n, uniqExact(SpanId) AS u FROM otel_traces WHERE TraceId IN (${ids}) GROUP BY TraceId`);
  return new Map(rows.map((r) => [r.t, { spans: Number(r.n), unique: Number(r.u) }]));
}

beforeAll(async () => {
  kafka = await startKafka({ partitions: PARTITIONS });
  await kafka.createTopic(TOPIC, PARTITIONS);
  admin = new Admin({ clientId: 'scale-test', bootstrapBrokers: [kafka.brokers] });
  owner = await startCollector({ args: ['--role', 'query'] });
  for (let i = 0; i < 3; i++) processes.push(await startProcess());
  const ingestConfig = `exporters:\n  kafka:\n    brokers: ['${kafka.brokers}']\n    topic: ${TOPIC}\n`;
  for (let i = 0; i < 2; i++) ingest.push(await startCollector({ args: ['--role', 'ingest'], config: ingestConfig }));
}, KAFKA_HOOK_TIMEOUT_MS);

afterAll(async () => {
  for (const c of [...ingest, ...processes]) await c.stop().catch(() => undefined);
  await owner?.stop().catch(() => undefined);
  await admin?.close().catch(() => undefined);
  await kafka?.stop();
  await cleanup();
}, 120_000);

describe('ingest → Kafka → process → owner', () => {
  const phaseA = Array.from({ length: TRACES }, (_, i) => scaleTrace(i));

  it('takes every tail-sampling decision over a whole trace, and draws the single collector\'s service graph', async () => {
    await send(phaseA);
    await consumed();
    // A graceful stop hands every held trace on: decided, stitched, sent to the owner.
    for (const p of processes.splice(0)) expect(await p.stop()).toBe(0);
    const failed = phaseA.filter((t) => t.failed);
    await waitFor(async () => ((await count(owner.apiUrl, 'SELECT count() AS n FROM otel_traces')) >= failed.length * 6 ? true : undefined), 'the kept traces at the owner', 120_000);
    const stored = await storedPerTrace(phaseA);
    const split = phaseA.filter((t) => (stored.get(t.traceId)?.spans ?? 0) !== (t.failed ? 6 : 0));
    expect(split.map((t) => t.traceId)).toEqual([]);
    expect([...stored.values()].every((s) => s.unique === s.spans)).toBe(true);

    // The same traffic through one collector doing everything.
    const single = await startCollector({ config: PROCESSORS });
    for (const t of phaseA) for (const part of t.parts) await sendAcknowledged(single.httpEndpoint, otlpBody(part.spans));
    const dataDir = await stopAndSettle(single, { config: PROCESSORS });
    const reread = await startCollector({ config: PROCESSORS, dataDir });
    const expected = await graph(reread.apiUrl);
    await reread.stop();
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    expect(await graph(owner.apiUrl)).toEqual(expected);
  }, 600_000);

  it('stores every acknowledged span once when a process collector is SIGKILLed mid-stream', async () => {
    for (let i = 0; i < 3; i++) processes.push(await startProcess());
    const acceptedBefore = await acceptedBy(processes[0]!);
    const phaseB = Array.from({ length: TRACES }, (_, i) => scaleTrace(i, 5, { 'test.keep': 'yes' }));
    await send(phaseB.slice(0, TRACES / 2));
    const victim = processes[0]!;
    // Mid-stream: it has taken records of this phase (and holds their traces) when it dies.
    await waitFor(async () => ((await acceptedBy(victim)) > acceptedBefore ? true : undefined), 'the victim to take records', 60_000);
    await victim.kill();
    await send(phaseB.slice(TRACES / 2));
    // Back on its own data directory, as a StatefulSet pod: its journal replays what it held.
    processes[0] = await startProcess(victim.dataDir);
    await consumed();
    for (const p of processes.splice(0)) expect(await p.stop()).toBe(0);
    const expected = phaseB.length * 6;
    const where = `SpanAttributes['test.keep'] = 'yes'`;
    await waitFor(async () => ((await count(owner.apiUrl, `SELECT count() AS n FROM otel_traces WHERE ${where}`)) >= expected ? true : undefined), `${expected} spans at the owner`, 120_000);
    const stored = await storedPerTrace(phaseB);
    const wrong = phaseB.filter((t) => stored.get(t.traceId)?.spans !== 6 || stored.get(t.traceId)?.unique !== 6);
    expect(wrong.map((t) => ({ trace: t.traceId, ...stored.get(t.traceId) }))).toEqual([]);
    const duplicates = /^flowtrace_dedupe_duplicate_spans_total (\d+)$/m.exec(await (await fetch(`${owner.apiUrl}/metrics`)).text())?.[1];
    console.log(`scale-kafka: SIGKILL mid-stream: ${expected} spans stored once; the owner dropped ${duplicates} replayed copies`);
  }, 600_000);
});
