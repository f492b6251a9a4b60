import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { SpanView } from '../../collector/src/query/span-view.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const FLOWTRACE_BIN = join(ROOT, 'bin/flowtrace.js');

export interface RunningCollector {
  /** `http://127.0.0.1:PORT`, for OTLP/gRPC exporters. */
  grpcEndpoint: string;
  /** `http://127.0.0.1:PORT`, for OTLP/HTTP (append `/v1/traces`). */
  httpEndpoint: string;
  /** `http://127.0.0.1:PORT`, the query API. */
  apiUrl: string;
  dataDir: string;
  /** Everything the collector logged so far (JSON lines). */
  logs: string[];
  /** SIGTERM, then waits for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no flush. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Reuse a data directory (e.g. to restart on the same store); a fresh temp dir otherwise. */
  dataDir?: string;
  args?: string[];
  /** YAML for `--config`, written to a temp file. */
  config?: string;
  env?: Record<string, string>;
  /** Options for the collector's Node.js itself (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

const started = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/**
 * Runs `flowtrace serve` as a child process on 127.0.0.1 with port 0 everywhere, and reads
 * the bound addresses from its "collector ready" log line, so tests never race for ports.
 */
export async function startCollector(options: StartOptions = {}): Promise<RunningCollector> {
  const dataDir = options.dataDir ?? newTempDir('ft-data-');
  const args = [...(options.args ?? [])];
  if (options.config !== undefined) {
    const file = join(newTempDir('ft-config-'), 'flowtrace.yaml');
    writeFileSync(file, options.config);
    args.push('--config', file);
  }
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), FLOWTRACE_BIN, 'serve', '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', dataDir, ...args],
    { env: { ...process.env, FLOWTRACE_LOG_LEVEL: 'info', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.add(child);
  const logs: string[] = [];
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const ready = new Promise<{ grpc: string; http: string; api: string }>((res, rej) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"collector ready"')) res(JSON.parse(line));
    });
    void exited.then((code) => rej(new Error(`collector exited with ${code} before it was ready:\n${logs.join('\n')}`)));
  });
  const addresses = await withTimeout(ready, 60_000, () => `collector not ready after 60 s:\n${logs.join('\n')}`);
  const url = (address: string) => `http://${address}`;
  return {
    grpcEndpoint: url(addresses.grpc),
    httpEndpoint: url(addresses.http),
    apiUrl: url(addresses.api),
    dataDir,
    logs,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      started.delete(child);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
      started.delete(child);
    },
  };
}

/**
 * Stops `collector` gracefully, then starts and stops it once more on the same store, so that
 * whatever the first stop left in the write-ahead journal or the queues (replayed at the next
 * start) is stored before the store is inspected. `options`: those it was started with.
 * Returns the data directory.
 */
export async function stopAndSettle(collector: RunningCollector, options: StartOptions = {}): Promise<string> {
  if ((await collector.stop()) !== 0) throw new Error(`collector exited uncleanly:\n${collector.logs.join('\n')}`);
  const again = await startCollector({ ...options, dataDir: collector.dataDir });
  if ((await again.stop()) !== 0) throw new Error(`collector exited uncleanly after a restart:\n${again.logs.join('\n')}`);
  return collector.dataDir;
}

/** Makes a temp dir removed by `cleanup()`. */
export function newTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Kills every collector still running and removes the temp dirs (call in afterAll). */
export async function cleanup(): Promise<void> {
  for (const child of started) child.kill('SIGKILL');
  started.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/**
 * Polls `fn` until it returns a value other than undefined. The timeout only bounds a
 * failing test; a passing one returns as soon as the condition holds.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(message())), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** POST /api/sql and return the rows. */
export async function sql<T = Record<string, unknown>>(apiUrl: string, query: string): Promise<T[]> {
  const res = await fetch(`${apiUrl}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { rows?: T[]; error?: string };
  if (!res.ok) throw new Error(`SQL failed (${res.status}): ${body.error}`);
  return body.rows!;
}

/**
 * The one stored trace whose spans carry correlation ID `id` (through /api/sql, then
 * /api/traces/:id); undefined while there is none, or more than one.
 */
export async function traceOfCorrelationId(apiUrl: string, id: string): Promise<{ traceId: string; spans: SpanView[] } | undefined> {
  const rows = await sql<{ TraceId: string }>(apiUrl, `SELECT DISTINCT TraceId FROM otel_traces WHERE SpanAttributes['flowtrace.correlation_id'] = '${id}'`);
  if (rows.length !== 1) return undefined;
  return getJson<{ traceId: string; spans: SpanView[] }>(`${apiUrl}/api/traces/${rows[0]!.TraceId}`);
}

/** GET JSON from the query API (undefined on 404). */
export async function getJson<T>(url: string): Promise<T | undefined> {
  const res = await fetch(url);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
