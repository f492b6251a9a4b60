// End to end: the Node.js and Python agents' log records reach a real FlowTrace collector
// (`POST /v1/logs` over OTLP/gRPC, the agents' default) and come back from
// `GET /api/traces/:traceId/logs` with the IDs the application's own log lines carry —
// the span each line was written in and the request's correlation ID — and secrets masked.
// Apps: agents/node/test/fixtures/apps/log-app (pino, winston, console under --require) and
// agents/python/tests/fixtures/logapp (Flask under flowtrace-instrument, one request).
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt } from '../agents/node/test/helpers/ensure-built.mjs';
import { ensureVenv, oldestAndNewest } from '../agents/python/scripts/venv.mjs';
import { cleanup, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { agentEnv, startService, stopService, type Service } from './helpers/services.js';

const ROOT = resolve(import.meta.dirname, '..');
const NODE_APP = join(ROOT, 'agents/node/test/fixtures/apps/log-app');
const PYTHON_FIXTURES = join(ROOT, 'agents/python/tests/fixtures');

interface LogView {
  traceId: string;
  spanId: string;
  serviceName: string;
  body: unknown;
  correlationId: string;
  attributes: Record<string, unknown>;
  foundBy: string;
}

let collector: RunningCollector;
let venvBin: string;
const services: Service[] = [];

beforeAll(async () => {
  const newest = oldestAndNewest().at(-1);
  if (newest === undefined) throw new Error('no Python 3.9–3.13 under ~/.pyenv/versions');
  venvBin = dirname(ensureVenv(newest));
  await ensureAgentBuilt();
  collector = await startCollector();
}, 300_000);

afterAll(async () => {
  await Promise.all(services.map(stopService));
  await cleanup();
});

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr === 'object' ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

/** The records the collector holds for a trace, once there are `count`. */
async function traceLogs(traceId: string, count: number): Promise<LogView[]> {
  return waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/traces/${traceId}/logs`);
    if (!res.ok) throw new Error(`GET /api/traces/${traceId}/logs: ${res.status} ${await res.text()}`);
    const { logs } = (await res.json()) as { logs: LogView[] };
    return logs.length >= count ? logs : undefined;
  }, `${count} log records of trace ${traceId}`);
}

function one(logs: LogView[], body: string): LogView {
  const found = logs.filter((l) => l.body === body);
  expect(found, `one record "${body}" in ${JSON.stringify(logs.map((l) => l.body))}`).toHaveLength(1);
  return found[0];
}

/** The JSON lines of a service's output. */
function jsonLines(s: Service): Record<string, unknown>[] {
  return s.output.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('agent log records in the FlowTrace collector', () => {
  it('Node.js: pino and winston records of a request, with the IDs the lines carry', async () => {
    const port = await freePort();
    const app = await startService('log-app', process.execPath, ['--require', '@flowtrace/agent-node/register', 'main.js'], NODE_APP, agentEnv('node-log-app', collector.grpcEndpoint, { PORT: String(port) }));
    services.push(app);
    const res = await fetch(`http://127.0.0.1:${app.port}/order`, { headers: { 'x-request-id': 'logs-e2e-node' } });
    expect(await res.text()).toBe('6');
    await stopService(app); // the agent flushes on SIGTERM
    const lines = jsonLines(app);
    const request = lines.find((l) => l.msg === 'request in, password=hunter2');
    const placing = lines.find((l) => l.msg === 'placing order');
    const traceId = String(request?.trace_id);
    expect(request?.['flowtrace.correlation_id']).toBe('logs-e2e-node');

    const logs = await traceLogs(traceId, 3);
    const masked = one(logs, 'request in, password=[REDACTED]');
    expect(masked).toMatchObject({ serviceName: 'node-log-app', spanId: request?.span_id, correlationId: 'logs-e2e-node', foundBy: 'trace' });
    expect(masked.attributes).toMatchObject({ card: '[REDACTED]', 'flowtrace.correlation_id': 'logs-e2e-node' });
    expect(one(logs, 'winston in request').spanId).toBe(request?.span_id);
    expect(one(logs, 'placing order')).toMatchObject({ spanId: placing?.span_id, correlationId: 'logs-e2e-node' });
    expect(placing?.span_id).not.toBe(request?.span_id); // the traced function's own span
    expect(JSON.stringify(logs)).not.toMatch(/hunter2|4111 1111/);
  }, 120_000);

  it('Python: logging records of a Flask request, with the IDs the lines carry', async () => {
    const port = await freePort();
    const env = agentEnv('python-log-app', collector.grpcEndpoint, { LOGAPP_PORT: String(port), PYTHONUNBUFFERED: '1' });
    env.PATH = `${venvBin}:${env.PATH ?? ''}`;
    const app = await startService('logapp', join(venvBin, 'flowtrace-instrument'), ['python', '-m', 'logapp.main'], PYTHON_FIXTURES, env);
    services.push(app);
    const res = await fetch(`http://127.0.0.1:${app.port}/order`, { headers: { 'x-request-id': 'logs-e2e-python' } });
    expect(await res.text()).toBe('6');
    await new Promise<void>((r) => (app.child.exitCode !== null ? r() : app.child.once('exit', () => r()))); // one request, then it exits (atexit flush)
    const line = app.output.find((l) => l.startsWith('INFO logapp request in, password=hunter2 ['));
    const traceId = /\[([0-9a-f]{32})\]$/.exec(line ?? '')?.[1];
    expect(traceId, app.output.join('\n')).toBeDefined();

    const logs = await traceLogs(traceId!, 2);
    const masked = one(logs, 'request in, password=[REDACTED]');
    expect(masked).toMatchObject({ serviceName: 'python-log-app', traceId, correlationId: 'logs-e2e-python', foundBy: 'trace' });
    expect(masked.attributes).toMatchObject({ card: '[REDACTED]', 'flowtrace.correlation_id': 'logs-e2e-python' });
    const placing = one(logs, 'placing order of 3');
    expect(placing.correlationId).toBe('logs-e2e-python');
    expect(placing.spanId).not.toBe(masked.spanId); // the traced function's own span
    expect(JSON.stringify(logs)).not.toMatch(/hunter2|4111 1111/);
  }, 120_000);
});
