/**
 * Real third-party peers for exporter tests, built from the Go module proxy by
 * test/peers/build.sh (see test/peers/README.md) and started on 127.0.0.1 on free ports:
 *
 * - Jaeger v2 (github.com/jaegertracing/jaeger v1.76.0 = Jaeger 2.13.0), all-in-one, in-memory storage.
 * - The Datadog Agent's trace intake (the trace-agent HTTP receiver, github.com/DataDog/datadog-agent/pkg/trace
 *   v0.85.4), which writes every payload it decoded to a JSON-lines file.
 * - The OpenTelemetry Collector v0.140.0 (otlp receiver, otlp and otlphttp exporters), for request compression.
 *
 * Nothing here is skipped or mocked: if a peer cannot be built or started, the call throws.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchLogged, runBuildScript, tail, tcpOpen, type LoggedProcess } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const PEERS_BUILD_SCRIPT = join(ROOT, 'test/peers/build.sh');

export type PeerName = 'jaeger' | 'datadog-agent' | 'otelcol';

/** A cold build downloads a few hundred MB of Go modules and compiles for minutes on 2 cores. */
export const PEER_BUILD_TIMEOUT_MS = 30 * 60_000;
/** For beforeAll hooks that call ensurePeer()/start*(): the build plus a start. */
export const PEER_HOOK_TIMEOUT_MS = PEER_BUILD_TIMEOUT_MS + 2 * 60_000;

const builds = new Map<PeerName, Promise<string>>();

/**
 * Builds the peer with test/peers/build.sh (a no-op when the binary is already cached) and
 * resolves to the binary's absolute path. Memoised per process.
 */
export function ensurePeer(name: PeerName): Promise<string> {
  let p = builds.get(name);
  if (!p) {
    p = runBuildScript(PEERS_BUILD_SCRIPT, name, PEER_BUILD_TIMEOUT_MS);
    builds.set(name, p);
    p.catch(() => builds.delete(name));
  }
  return p;
}

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// process bookkeeping

type PeerProcess = LoggedProcess;

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function newTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function launch(bin: string, args: string[], logFile: string): PeerProcess {
  return launchLogged(bin, args, logFile, running);
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves to the exit code. */
async function terminate(p: PeerProcess, graceMs = 10_000): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; fails early if the process exits, or after `timeoutMs`. */
async function waitUntil(what: string, p: PeerProcess, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void p.exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${what} exited (${exitCode}) before it was ready:\n${tail(readLog(p.logFile), 40)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      await terminate(p, 2000);
      throw new Error(`${what} not ready after ${timeoutMs / 1000} s:\n${tail(readLog(p.logFile), 40)}`);
    }
    await sleep(150);
  }
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

// ---------------------------------------------------------------------------------------------
// Jaeger

export interface RunningJaeger {
  /** `http://127.0.0.1:PORT`: OTLP/gRPC. */
  otlpGrpcEndpoint: string;
  /** `http://127.0.0.1:PORT`: OTLP/HTTP (append `/v1/traces`). */
  otlpHttpEndpoint: string;
  /** `http://127.0.0.1:PORT`: the jaeger_query HTTP API (`/api/services`, `/api/traces/<hex id>`, `/api/v3/...`). */
  queryUrl: string;
  /** The YAML config the process runs with, and its combined stdout/stderr log. */
  configFile: string;
  logFile: string;
  /** Whether the process is running. */
  readonly running: boolean;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<number | null>;
  /**
   * Starts Jaeger again on the same ports (stopping it first if it runs) and waits until it is ready.
   * Storage is in memory: traces received before the restart are gone after it.
   */
  restart(): Promise<void>;
}

/** Jaeger v2 all-in-one's config: OTLP in, in-memory storage, every port on loopback (also bench:sidebyside's). */
export function jaegerConfig(ports: { grpc: number; http: number; query: number; queryGrpc: number }): string {
  return `# Written by test/helpers/peers.ts: Jaeger v2 all-in-one, in-memory storage, loopback only.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    # On by default in v2: it would export the query service's own traces to localhost:4317.
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.query}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${ports.grpc}
      http:
        endpoint: 127.0.0.1:${ports.http}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export async function startJaeger(): Promise<RunningJaeger> {
  const bin = await ensurePeer('jaeger');
  const dir = newTempDir('ft-jaeger-');
  const ports = { grpc: await freePort(), http: await freePort(), query: await freePort(), queryGrpc: await freePort() };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, jaegerConfig(ports));
  const logFile = join(dir, 'jaeger.log');
  const queryUrl = `http://127.0.0.1:${ports.query}`;

  let proc: PeerProcess | undefined;
  const start = async () => {
    proc = launch(bin, ['--config', configFile], logFile);
    // Extensions (the query API) start before the pipelines' receivers: wait for both.
    await waitUntil('jaeger', proc, async () => (await httpOk(`${queryUrl}/api/services`)) && (await tcpOpen(ports.grpc)) && (await tcpOpen(ports.http)));
  };
  const stop = async () => (proc ? terminate(proc) : null);
  await start();

  return {
    otlpGrpcEndpoint: `http://127.0.0.1:${ports.grpc}`,
    otlpHttpEndpoint: `http://127.0.0.1:${ports.http}`,
    queryUrl,
    configFile,
    logFile,
    get running() {
      return !!proc && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}

/** Jaeger's `/api/traces/<id>` answer (the internal UI JSON model), for the fields tests use. */
export interface JaegerTraceResponse {
  data: Array<{
    traceID: string;
    spans: Array<{
      traceID: string;
      spanID: string;
      operationName: string;
      references: Array<{ refType: string; traceID: string; spanID: string }>;
      startTime: number;
      duration: number;
      tags: Array<{ key: string; type: string; value: unknown }>;
      processID: string;
    }>;
    processes: Record<string, { serviceName: string; tags: Array<{ key: string; type: string; value: unknown }> }>;
  }>;
  errors: unknown;
}

/** GET `/api/traces/<traceIdHex>`; resolves to undefined while Jaeger does not have it (404). */
export async function getJaegerTrace(queryUrl: string, traceIdHex: string): Promise<JaegerTraceResponse | undefined> {
  const res = await fetch(`${queryUrl}/api/traces/${traceIdHex}`, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (!res.ok) throw new Error(`jaeger /api/traces/${traceIdHex}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as JaegerTraceResponse;
}

// ---------------------------------------------------------------------------------------------
// Datadog Agent trace intake

/**
 * A span as the Datadog Agent decoded it: pb.Span as protojson with the proto field names.
 * 64-bit integers (IDs, start, duration) are decimal strings; zero values are omitted
 * (a root span has no parentID, a span without error has no error).
 */
export interface DatadogSpan {
  service?: string;
  name?: string;
  resource?: string;
  traceID?: string;
  spanID?: string;
  parentID?: string;
  /** Unix nanoseconds. */
  start?: string;
  /** Nanoseconds. */
  duration?: string;
  error?: number;
  meta?: Record<string, string>;
  metrics?: Record<string, number>;
  type?: string;
  /** Values are base64 (msgpack bytes). */
  meta_struct?: Record<string, string>;
  spanLinks?: Array<{ traceID?: string; traceID_high?: string; spanID?: string; attributes?: Record<string, string>; tracestate?: string; flags?: number }>;
  spanEvents?: Array<{ time_unix_nano?: string; name?: string; attributes?: Record<string, unknown> }>;
}

/** pb.TracerPayload as protojson (proto field names). */
export interface DatadogTracerPayload {
  containerID?: string;
  languageName?: string;
  languageVersion?: string;
  tracerVersion?: string;
  runtimeID?: string;
  chunks?: Array<{ priority?: number; origin?: string; spans?: DatadogSpan[]; tags?: Record<string, string>; droppedTrace?: boolean }>;
  tags?: Record<string, string>;
  env?: string;
  hostname?: string;
  appVersion?: string;
}

/** One line of the intake's output file. */
export interface DatadogIntakeRecord {
  kind: 'traces' | 'traces_v1' | 'stats';
  received_at: string;
  /** For traces: the API version the payload came in on, e.g. "v0.4". */
  endpoint?: string;
  /** From the Datadog-Meta-Lang / -Lang-Version / -Tracer-Version headers. */
  lang?: string;
  lang_version?: string;
  tracer_version?: string;
  client_computed_top_level?: boolean;
  client_computed_stats?: boolean;
  client_dropped_p0s?: number;
  container_tags?: string[] | null;
  process_tags?: string;
  payload: unknown;
}

export interface RunningDatadogIntake {
  /** `http://127.0.0.1:PORT`: the agent's APM API (`PUT /v0.4/traces`, `/v0.5/traces`, `/v0.6/stats`, `/info`). */
  endpoint: string;
  /** The JSON-lines file the intake writes each decoded payload to. */
  outputFile: string;
  logFile: string;
  readonly running: boolean;
  /** Every record written so far. */
  readRecords(): DatadogIntakeRecord[];
  /** The decoded trace payloads (kind "traces") written so far. */
  readTraces(): DatadogTracerPayload[];
  /** All spans of readTraces(), flattened. */
  readSpans(): DatadogSpan[];
  /** SIGTERM, then waits for the exit. Idempotent. */
  stop(): Promise<number | null>;
  /** Starts the intake again on the same port; the output file is kept (appended to). */
  restart(): Promise<void>;
}

export async function startDatadogIntake(): Promise<RunningDatadogIntake> {
  const bin = await ensurePeer('datadog-agent');
  const dir = newTempDir('ft-ddagent-');
  const port = await freePort();
  const outputFile = join(dir, 'payloads.jsonl');
  const logFile = join(dir, 'datadog-agent.log');
  const endpoint = `http://127.0.0.1:${port}`;
  writeFileSync(outputFile, '');

  let proc: PeerProcess | undefined;
  const start = async () => {
    proc = launch(bin, ['-addr', `127.0.0.1:${port}`, '-out', outputFile], logFile);
    await waitUntil('datadog-agent trace intake', proc, () => httpOk(`${endpoint}/info`));
  };
  const stop = async () => (proc ? terminate(proc) : null);
  await start();

  const readRecords = (): DatadogIntakeRecord[] =>
    readFileSync(outputFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as DatadogIntakeRecord);
  const readTraces = () => readRecords().filter((r) => r.kind === 'traces').map((r) => r.payload as DatadogTracerPayload);

  return {
    endpoint,
    outputFile,
    logFile,
    get running() {
      return !!proc && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    readRecords,
    readTraces,
    readSpans: () => readTraces().flatMap((tp) => (tp.chunks ?? []).flatMap((c) => c.spans ?? [])),
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry Collector (otlp receiver; otlp and otlphttp exporters; test/peers/otelcol)

export interface RunningOtelcol {
  /** `http://127.0.0.1:PORT`: the Collector's OTLP/HTTP receiver (append `/v1/traces`). */
  otlpHttpEndpoint: string;
  /** `http://127.0.0.1:PORT`: its OTLP/gRPC receiver, when started with `grpc: true`. */
  otlpGrpcEndpoint?: string;
  logFile: string;
  /** Resolves to the exit code when the process exits (e.g. a config the Collector refuses). */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Starts the Collector with an OTLP/HTTP receiver on a free loopback port (and a gRPC one with
 * `grpc`) and a pipeline per signal (traces when not given) into `exporter` (the YAML of
 * `exporters:`, whose single entry the pipelines use). With
 * `waitReady: false` it only launches it (for configs the Collector is expected to refuse).
 */
export async function startOtelcol(
  exporterName: string,
  exporterYaml: string,
  options: { waitReady?: boolean; /** Pipelines through the exporter; traces when absent. */ signals?: ReadonlyArray<'traces' | 'logs'>; /** An OTLP/gRPC receiver too. */ grpc?: boolean } = {},
): Promise<RunningOtelcol> {
  const bin = await ensurePeer('otelcol');
  const dir = newTempDir('ft-otelcol-');
  const port = await freePort();
  const grpcPort = options.grpc ? await freePort() : undefined;
  const pipelines = (options.signals ?? ['traces']).map((signal) => `    ${signal}:\n      receivers: [otlp]\n      exporters: [${exporterName}]\n`).join('');
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
${grpcPort === undefined ? '' : `      grpc:\n        endpoint: 127.0.0.1:${grpcPort}\n`}exporters:
${exporterYaml}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
${pipelines}`,
  );
  const logFile = join(dir, 'otelcol.log');
  const proc = launch(bin, [`--config=${configFile}`], logFile);
  if (options.waitReady !== false) await waitUntil('otelcol', proc, () => tcpOpen(port));
  return {
    otlpHttpEndpoint: `http://127.0.0.1:${port}`,
    otlpGrpcEndpoint: grpcPort === undefined ? undefined : `http://127.0.0.1:${grpcPort}`,
    logFile,
    exited: proc.exited,
    stop: () => terminate(proc),
  };
}

// ---------------------------------------------------------------------------------------------

/** Stops every peer this process started (SIGTERM, then SIGKILL) and removes their temp dirs. */
export async function cleanupPeers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            res();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  running.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// Last resort if a test file forgets cleanupPeers(): no peer outlives the test process.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
