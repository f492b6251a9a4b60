// Applications under the agent log inside HTTP requests through pino, winston and console;
// their lines carry the IDs of the span they were written in and the request's correlation
// ID, and the log records reach a real OpenTelemetry Collector over OTLP (and through it this
// test's receiver), masked, with the same IDs.
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt, REGISTER_CJS } from './helpers/ensure-built.mjs';
import { startOtelcol, type Otelcol } from './helpers/otelcol.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedLog, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { killAll, start, type Finished } from './helpers/run.js';

const app = fileURLToPath(new URL('./fixtures/apps/log-app', import.meta.url));
let receiver: OtlpReceiver;
let otelcol: Otelcol;
let serial = 0;

beforeAll(async () => {
  await ensureAgentBuilt();
  receiver = await startOtlpReceiver();
  otelcol = await startOtelcol(receiver.url);
}, 35 * 60_000);

afterAll(async () => {
  killAll();
  await otelcol?.stop();
  await receiver?.close();
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

/** Polls until `ready` holds for what the receiver has (the Collector forwards asynchronously). */
async function waitFor<T>(what: string, get: () => T, ready: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (ready(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; otelcol said:\n${otelcol.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Run {
  service: string;
  requestId: string;
  finished: Finished;
  json: Record<string, unknown>[];
  plain: string[];
}

/** Starts the app under the agent, sends one request with an x-request-id, stops it with SIGTERM (the agent flushes). */
async function runApp(env: Record<string, string>): Promise<Run> {
  const service = `log-app-${process.pid}-${++serial}`;
  const requestId = `req-${process.pid}-${serial}`;
  const port = await freePort();
  const child = start(['--require', REGISTER_CJS, 'main.js'], {
    cwd: app,
    // Batch delays no test outlives: spans and logs arrive because the agent flushes on SIGTERM.
    env: { OTEL_SERVICE_NAME: service, PORT: String(port), OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_BLRP_SCHEDULE_DELAY: '600000', ...env },
  });
  await child.waitForLine(`listening ${port}`);
  const res = await fetch(`http://127.0.0.1:${port}/order`, { headers: { 'x-request-id': requestId } });
  expect(await res.text()).toBe('6');
  child.child.kill('SIGTERM');
  const finished = await child.done;
  expect(finished.signal).toBe('SIGTERM');
  const lines = finished.stdout.split('\n').filter((l) => l !== '');
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { service, requestId, finished, json, plain: lines.filter((l) => !l.startsWith('{') && l !== `listening ${port}`) };
}

function line(run: Run, message: string): Record<string, unknown> {
  const found = run.json.filter((l) => l.msg === message || l.message === message);
  expect(found, `one line "${message}" in ${JSON.stringify(run.json)}`).toHaveLength(1);
  return found[0];
}

function spansOf(run: Run, count: number): Promise<ReceivedSpan[]> {
  return waitFor(`${count} spans of ${run.service}`, () => receiver.spans.filter((s) => s.service === run.service), (s) => s.length >= count);
}

const SERVER = 2; // OTLP span kind

describe('log correlation in an application under the agent', () => {
  it('by default pino and winston lines carry the span’s IDs and the request’s correlation ID, and the records arrive over OTLP/gRPC', async () => {
    const run = await runApp({ OTEL_EXPORTER_OTLP_ENDPOINT: otelcol.grpcEndpoint });
    expect(run.finished.stderr).toBe('');
    const spans = await spansOf(run, 2);
    const server = spans.find((s) => s.kind === SERVER);
    const method = spans.find((s) => s.name === 'orders.placeOrder');
    if (server === undefined || method === undefined) throw new Error(`no server or method span in ${spans.map((s) => s.name).join(', ')}`);
    expect(server.attributes['flowtrace.correlation_id']).toBe(run.requestId);
    expect(method.parentSpanId).toBe(server.spanId);

    const inServerSpan = { trace_id: server.traceId, span_id: server.spanId, 'flowtrace.correlation_id': run.requestId };
    const pinoLine = line(run, 'request in, password=hunter2');
    expect(pinoLine).toMatchObject(inServerSpan);
    expect(pinoLine).not.toHaveProperty('trace_flags');
    expect(line(run, 'winston in request')).toMatchObject({ ...inServerSpan, path: '/order' });
    // Written inside the traced function: its own span.
    expect(line(run, 'placing order')).toMatchObject({ trace_id: server.traceId, span_id: method.spanId, 'flowtrace.correlation_id': run.requestId });
    const outside = line(run, 'outside any request');
    expect(Object.keys(outside).filter((k) => k === 'trace_id' || k === 'span_id' || k.startsWith('flowtrace'))).toEqual([]);
    // Plain output is left alone by default.
    expect(run.plain).toEqual(['console in request']);

    const records = await waitFor(`4 log records of ${run.service}`, () => receiver.logs.filter((l) => l.service === run.service), (l) => l.length >= 4);
    const record = (body: string): ReceivedLog => {
      const found = records.filter((r) => r.body === body);
      expect(found, `one record "${body}" in ${JSON.stringify(records)}`).toHaveLength(1);
      return found[0];
    };
    // Masked like captured span values: the message's password, the card under its key.
    const masked = record('request in, password=[REDACTED]');
    expect(masked).toMatchObject({ traceId: server.traceId, spanId: server.spanId, severityText: 'info' });
    expect(masked.attributes).toMatchObject({ card: '[REDACTED]', 'flowtrace.correlation_id': run.requestId });
    expect(masked.attributes).not.toHaveProperty('trace_id');
    expect(record('winston in request')).toMatchObject({ traceId: server.traceId, spanId: server.spanId, attributes: { 'flowtrace.correlation_id': run.requestId } });
    expect(record('placing order')).toMatchObject({ traceId: server.traceId, spanId: method.spanId, attributes: { quantity: 3, 'flowtrace.correlation_id': run.requestId } });
    const unrelated = record('outside any request');
    expect(unrelated.traceId).toBe('');
    expect(unrelated.attributes).not.toHaveProperty('flowtrace.correlation_id');
    expect(records).toHaveLength(4); // console lines are not log records
  });

  it('with FLOWTRACE_LOG_CORRELATION=all console lines end in the IDs; OTEL_LOGS_EXPORTER=none exports no records', async () => {
    const run = await runApp({
      FLOWTRACE_LOG_CORRELATION: 'all',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: otelcol.httpEndpoint,
    });
    expect(run.finished.stderr).toBe('');
    const server = (await spansOf(run, 2)).find((s) => s.kind === SERVER);
    expect(run.plain).toEqual([`console in request trace_id=${server?.traceId} span_id=${server?.spanId} flowtrace.correlation_id=${run.requestId}`]);
    expect(line(run, 'winston in request')).toMatchObject({ trace_id: server?.traceId, 'flowtrace.correlation_id': run.requestId });
    // The spans were forwarded after the agent's single flush; records would have been in the same one.
    expect(receiver.logs.filter((l) => l.service === run.service)).toEqual([]);
  });

  it('a refused FLOWTRACE_LOG_CORRELATION is one line naming it, and the default applies to a traced application', async () => {
    const run = await runApp({ FLOWTRACE_LOG_CORRELATION: 'yes', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: otelcol.httpEndpoint });
    expect(run.finished.stderr).toBe('flowtrace: FLOWTRACE_LOG_CORRELATION must be auto, all or off (got "yes"); using auto\n');
    const server = (await spansOf(run, 2)).find((s) => s.kind === SERVER);
    expect(line(run, 'request in, password=hunter2')).toMatchObject({ trace_id: server?.traceId, span_id: server?.spanId });
    expect(run.plain).toEqual(['console in request']);
    await waitFor(`log records of ${run.service} over OTLP/HTTP JSON`, () => receiver.logs.filter((l) => l.service === run.service), (l) => l.length >= 4);
  });
});
