/**
 * `npm run bench:sidebyside`: FlowTrace and the official OpenTelemetry Collector (and Jaeger) on
 * the same OTLP load, one after the other in interleaved rounds, on this machine.
 *
 * Each run starts the system fresh, then 4 OTLP/HTTP and 4 OTLP/gRPC clients send agent-shaped
 * requests of ≈500 spans for `--seconds`, from the project's load tool (`flowtrace bench`, one
 * process per transport); FlowTrace runs are then followed until every
 * acknowledged span is queryable in ClickHouse. Figures per run:
 * - CPU µs per acknowledged span: the system's process CPU (user + system, every thread —
 *   ClickHouse's included for FlowTrace) from the first request until the last span is stored
 *   (FlowTrace) or the load ends (the others), over the spans acknowledged;
 * - acknowledged spans/s (over the load window) and stored spans/s (until the last is stored);
 * - peak RSS (VmHWM);
 * - per transport: requests, spans acknowledged, export latency p50/p99 — the fairness check.
 * Rounds are interleaved (system order rotates each round) and the table gives medians.
 *
 * Systems: flowtrace-storage (no processors: receive, fsync'd queue, ClickHouse), flowtrace-default
 * (the default processors and the write-ahead journal), otelcol (the official collector built by
 * its builder from bench/peers/otelcol-builder.yaml: otlp → batch → nop, stores nothing),
 * jaeger-memory (Jaeger v2, in-memory store; test/peers/build.sh).
 *
 * Flags: --seconds N (10), --rounds N (3), --http-clients N (4), --grpc-clients N (4),
 * --spans-per-request N (500), --systems a,b,… (all four). Writes bench/results/sidebyside.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import type { BenchFigures } from '../collector/src/cli/commands/bench.js';
import { countStored } from '../collector/src/loadgen/stored.js';
import { cleanup, FLOWTRACE_BIN, startCollector, type RunningCollector } from '../test/helpers/collector.js';
import { ensurePeer, freePort, jaegerConfig } from '../test/helpers/peers.js';
import { launchLogged, runBuildScript, runCommand, tcpOpen, type LoggedProcess } from '../test/helpers/process.js';
import { median, positiveFlag } from './figures.js';
import { cpuSeconds, peakRssMiB } from './process-stats.js';

const ROOT = resolve(import.meta.dirname, '..');
const SYSTEMS = ['flowtrace-storage', 'flowtrace-default', 'otelcol', 'jaeger-memory'] as const;
type SystemName = (typeof SYSTEMS)[number];

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'http-clients': { type: 'string', default: '4' },
    'grpc-clients': { type: 'string', default: '4' },
    'spans-per-request': { type: 'string', default: '500' },
    systems: { type: 'string', default: SYSTEMS.join(',') },
  },
});

const SECONDS = positiveFlag('seconds', values.seconds);
const ROUNDS = positiveFlag('rounds', values.rounds);
const HTTP_CLIENTS = positiveFlag('http-clients', values['http-clients']);
const GRPC_CLIENTS = positiveFlag('grpc-clients', values['grpc-clients']);
const SPANS_PER_REQUEST = positiveFlag('spans-per-request', values['spans-per-request']);
const CHOSEN = values.systems.split(',').map((s) => s.trim());
for (const s of CHOSEN) {
  if (!(SYSTEMS as readonly string[]).includes(s)) {
    console.error(`--systems: unknown system ${JSON.stringify(s)} (want ${SYSTEMS.join(', ')})`);
    process.exit(2);
  }
}
const SERVICES = 8;
/** How long FlowTrace may take to store the last acknowledged span after the load ends. */
const STORE_PATIENCE_MS = 120_000;

interface RunningSystem {
  pid: number;
  http: string;
  grpc: string;
  /** Spans of a load run stored so far; undefined for systems that store nothing we can count. */
  stored?: (runId: string) => Promise<number>;
  stop(): Promise<void>;
}

const peerProcesses = new Set<ChildProcess>();

async function startSystem(name: SystemName): Promise<RunningSystem> {
  if (name === 'flowtrace-storage' || name === 'flowtrace-default') {
    const collector: RunningCollector = await startCollector({ config: name === 'flowtrace-storage' ? 'pipeline:\n  processors: []\n' : undefined });
    const pid = Number(/"pid":(\d+)/.exec(collector.logs.find((l) => l.includes('"collector ready"')) ?? '')?.[1]);
    return {
      pid,
      http: collector.httpEndpoint,
      grpc: collector.grpcEndpoint.replace('http://', 'grpc://'),
      stored: (runId) => countStored(collector.apiUrl, undefined, runId),
      async stop() {
        await collector.stop();
        rmSync(collector.dataDir, { recursive: true, force: true });
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), `ft-${name}-`));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const config = join(dir, 'config.yaml');
  let bin: string;
  if (name === 'otelcol') {
    bin = await runBuildScript(join(ROOT, 'bench/peers/build.sh'), 'otelcol', 30 * 60_000);
    writeFileSync(config, otelcolConfig(grpcPort, httpPort));
  } else {
    bin = await ensurePeer('jaeger');
    writeFileSync(config, jaegerConfig({ grpc: grpcPort, http: httpPort, query: await freePort(), queryGrpc: await freePort() }));
  }
  const proc: LoggedProcess = launchLogged(bin, ['--config', config], join(dir, 'log.txt'), peerProcesses);
  const deadline = Date.now() + 60_000;
  while (!((await tcpOpen(grpcPort)) && (await tcpOpen(httpPort)))) {
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${readFileSync(proc.logFile, 'utf8').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: proc.child.pid!,
    http: `http://127.0.0.1:${httpPort}`,
    grpc: `grpc://127.0.0.1:${grpcPort}`,
    async stop() {
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function otelcolConfig(grpcPort: number, httpPort: number): string {
  return `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
      http:
        endpoint: 127.0.0.1:${httpPort}
processors:
  batch: {}
exporters:
  nop: {}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [nop]
`;
}

interface TransportFigures {
  clients: number;
  requests: number;
  acknowledgedSpans: number;
  refusedSpans: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

interface RunFigures {
  system: SystemName;
  round: number;
  acknowledgedSpans: number;
  acknowledgedPerSecond: number;
  storedSpans?: number;
  storedPerSecond?: number;
  cpuMicrosecondsPerSpan: number;
  /** Of the CPU above, the part spent after the load ended (storing what was acknowledged). */
  cpuAfterLoadSeconds: number;
  peakRssMiB: number;
  /** The load tool's own speed (spans one core makes per second): it must be far above the load. */
  generatorSpansPerSecondPerCore: number;
  http: TransportFigures;
  grpc: TransportFigures;
}

/**
 * One transport's clients, as the project's load tool in a process of its own (`flowtrace bench
 * --json --no-stored`), so that neither the systems nor the other transport's clients share an
 * event loop with them.
 */
async function loadProcess(endpoint: string, clients: number): Promise<BenchFigures> {
  const args = [FLOWTRACE_BIN, 'bench', '--endpoint', endpoint, '--seconds', String(SECONDS), '--clients', String(clients), '--spans-per-request', String(SPANS_PER_REQUEST), '--services', String(SERVICES), '--no-stored', '--json'];
  const result = await runCommand(process.execPath, args, { timeoutMs: (SECONDS + 120) * 1000 });
  if (result.code !== 0) throw new Error(`flowtrace bench ${endpoint} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout) as BenchFigures;
}

function transport(figures: BenchFigures): TransportFigures {
  return {
    clients: figures.clients,
    requests: figures.requests,
    acknowledgedSpans: figures.acceptedSpans,
    refusedSpans: figures.refusedSpans,
    latencyP50Ms: figures.exportLatencyMs.p50,
    latencyP99Ms: figures.exportLatencyMs.p99,
  };
}

async function measure(name: SystemName, round: number): Promise<RunFigures> {
  const system = await startSystem(name);
  try {
    const cpu0 = cpuSeconds(system.pid);
    const t0 = performance.now();
    const [http, grpc] = await Promise.all([loadProcess(system.http, HTTP_CLIENTS), loadProcess(system.grpc, GRPC_CLIENTS)]);
    const loadSeconds = Math.max(http.sendSeconds, grpc.sendSeconds);
    const cpuAtLoadEnd = cpuSeconds(system.pid);
    const acknowledged = http.acceptedSpans + grpc.acceptedSpans;
    let stored: number | undefined;
    let storedSeconds: number | undefined;
    if (system.stored) {
      const count = async () => (await system.stored!(http.runId)) + (await system.stored!(grpc.runId));
      const deadline = Date.now() + STORE_PATIENCE_MS;
      stored = await count();
      while (stored < acknowledged && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        stored = await count();
      }
      storedSeconds = (performance.now() - t0) / 1000;
      if (stored < acknowledged) console.warn(`  ${name}: only ${stored} of ${acknowledged} acknowledged spans stored after ${STORE_PATIENCE_MS / 1000} s`);
    }
    const cpu = cpuSeconds(system.pid) - cpu0;
    const figures: RunFigures = {
      system: name,
      round,
      acknowledgedSpans: acknowledged,
      acknowledgedPerSecond: Math.round(acknowledged / loadSeconds),
      ...(stored !== undefined && storedSeconds !== undefined ? { storedSpans: stored, storedPerSecond: Math.round(stored / storedSeconds) } : {}),
      cpuMicrosecondsPerSpan: +((cpu / acknowledged) * 1e6).toFixed(2),
      cpuAfterLoadSeconds: +(cpu - (cpuAtLoadEnd - cpu0)).toFixed(2),
      peakRssMiB: Math.round(peakRssMiB(system.pid)),
      generatorSpansPerSecondPerCore: Math.min(http.generatorSpansPerSecond, grpc.generatorSpansPerSecond),
      http: transport(http),
      grpc: transport(grpc),
    };
    console.log(
      `  round ${round} ${name}: ${figures.cpuMicrosecondsPerSpan} µs/span, ${figures.acknowledgedPerSecond} ack/s` +
        (figures.storedPerSecond !== undefined ? `, ${figures.storedPerSecond} stored/s` : '') +
        `, ${figures.peakRssMiB} MiB, p99 http ${figures.http.latencyP99Ms} ms / grpc ${figures.grpc.latencyP99Ms} ms (requests ${figures.http.requests} / ${figures.grpc.requests})`,
    );
    return figures;
  } finally {
    await system.stop();
  }
}

interface Summary {
  system: SystemName;
  cpuMicrosecondsPerSpan: number;
  acknowledgedPerSecond: number;
  storedPerSecond?: number;
  peakRssMiB: number;
  httpLatencyP99Ms: number;
  grpcLatencyP99Ms: number;
  httpRequests: number;
  grpcRequests: number;
  /** The slower transport's p99 over the faster one's: the fairness goal is ≤ 2. */
  transportP99Ratio: number;
}

function summarise(name: SystemName, runs: RunFigures[]): Summary {
  const stored = runs.map((r) => r.storedPerSecond).filter((x): x is number => x !== undefined);
  const http = median(runs.map((r) => r.http.latencyP99Ms));
  const grpc = median(runs.map((r) => r.grpc.latencyP99Ms));
  return {
    system: name,
    cpuMicrosecondsPerSpan: +median(runs.map((r) => r.cpuMicrosecondsPerSpan)).toFixed(2),
    acknowledgedPerSecond: Math.round(median(runs.map((r) => r.acknowledgedPerSecond))),
    ...(stored.length ? { storedPerSecond: Math.round(median(stored)) } : {}),
    peakRssMiB: Math.round(median(runs.map((r) => r.peakRssMiB))),
    httpLatencyP99Ms: http,
    grpcLatencyP99Ms: grpc,
    httpRequests: Math.round(median(runs.map((r) => r.http.requests))),
    grpcRequests: Math.round(median(runs.map((r) => r.grpc.requests))),
    transportP99Ratio: +(Math.max(http, grpc) / Math.min(http, grpc)).toFixed(2),
  };
}

const LABELS: Record<SystemName, string> = {
  'flowtrace-storage': 'FlowTrace, storage only (embedded ClickHouse, fsync\'d queue)',
  'flowtrace-default': 'FlowTrace, default processors (+ journal)',
  otelcol: 'OpenTelemetry Collector 0.165 (otlp → batch → nop: stores nothing)',
  'jaeger-memory': 'Jaeger v2.13, memory store',
};

async function main(): Promise<void> {
  const systems = CHOSEN as SystemName[];
  console.log(`bench:sidebyside — ${cpus().length} CPUs, Node ${process.version}; ${ROUNDS} rounds × ${systems.length} systems, ${SECONDS} s each, ${HTTP_CLIENTS} HTTP + ${GRPC_CLIENTS} gRPC clients, ${SPANS_PER_REQUEST}-span requests`);
  const runs: RunFigures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotate the order so that no system always runs first (cold disk cache) or last.
    const order = systems.map((_, i) => systems[(i + round - 1) % systems.length]!);
    for (const name of order) runs.push(await measure(name, round));
  }
  const summaries = systems.map((name) => summarise(name, runs.filter((r) => r.system === name)));
  const otelcol = summaries.find((s) => s.system === 'otelcol');

  console.log('\n| system | CPU µs/span | acknowledged spans/s | stored spans/s | peak RSS | p99 HTTP / gRPC (ratio) | requests HTTP / gRPC |');
  console.log('|---|---|---|---|---|---|---|');
  for (const s of summaries) {
    console.log(
      `| ${LABELS[s.system]} | ${s.cpuMicrosecondsPerSpan} | ${s.acknowledgedPerSecond.toLocaleString('en')} | ${s.storedPerSecond?.toLocaleString('en') ?? '—'} | ${s.peakRssMiB} MiB | ${s.httpLatencyP99Ms} / ${s.grpcLatencyP99Ms} ms (${s.transportP99Ratio}×) | ${s.httpRequests} / ${s.grpcRequests} |`,
    );
  }
  if (otelcol) {
    console.log('');
    for (const s of summaries) {
      if (s.system === 'otelcol') continue;
      console.log(`${LABELS[s.system]}: ${(s.cpuMicrosecondsPerSpan / otelcol.cpuMicrosecondsPerSpan).toFixed(2)}× the OpenTelemetry Collector's CPU per span, ${(s.acknowledgedPerSecond / otelcol.acknowledgedPerSecond).toFixed(2)}× its throughput`);
    }
  }
  const out = join(ROOT, 'bench/results/sidebyside.json');
  writeFileSync(
    out,
    JSON.stringify(
      {
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        settings: { seconds: SECONDS, rounds: ROUNDS, httpClients: HTTP_CLIENTS, grpcClients: GRPC_CLIENTS, spansPerRequest: SPANS_PER_REQUEST, services: SERVICES },
        summaries,
        ratiosToOtelcol: otelcol
          ? Object.fromEntries(summaries.filter((s) => s.system !== 'otelcol').map((s) => [s.system, { cpuPerSpan: +(s.cpuMicrosecondsPerSpan / otelcol.cpuMicrosecondsPerSpan).toFixed(2), throughput: +(s.acknowledgedPerSecond / otelcol.acknowledgedPerSecond).toFixed(2) }]))
          : undefined,
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwritten to ${out}`);
}

try {
  await main();
} finally {
  for (const child of peerProcesses) child.kill('SIGKILL');
  await cleanup();
}
