import { decode } from '@msgpack/msgpack';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ExportError } from '../exporter.js';
import { datadogConfigSchema } from './config.js';
import { DatadogTraceIntakeExporter } from './exporter.js';
import { datadogExporterFactory } from './factory.js';
import { span } from './spans.testing.js';

/** A stand-in agent on a free port: records requests, answers with the scripted statuses in turn (200 after them). */
interface FakeAgent {
  endpoint: string;
  requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }>;
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function fakeAgent(answers: Array<{ status: number; headers?: Record<string, string>; body?: string } | 'hang'> = []): Promise<FakeAgent> {
  const requests: FakeAgent['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const answer = answers.shift() ?? { status: 200, body: '{"rate_by_service":{}}' };
      if (answer === 'hang') return; // never answers: the client's timeout must fire
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

function exporter(settings: Record<string, unknown>): DatadogTraceIntakeExporter {
  return new DatadogTraceIntakeExporter('datadog', datadogConfigSchema.parse(settings), { logger: pino({ level: 'silent' }) });
}

async function sendError(p: Promise<void>): Promise<ExportError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExportError);
  return err as ExportError;
}

const twoTraces = () => [span({ traceId: '11111111111111111111111111111111' }), span({ traceId: '22222222222222222222222222222222' })];

describe('DatadogTraceIntakeExporter over HTTP', () => {
  it('PUTs msgpack to {endpoint}/v0.4/traces with the tracer headers', async () => {
    const agent = await fakeAgent();
    const e = exporter({ endpoint: `${agent.endpoint}/prefix/`, api_key: 'secret', container_id: 'abc123', headers: { 'X-Tenant': 'acme' } });
    await e.send(Buffer.from(e.encode(twoTraces())), 2, 'b1');
    expect(agent.requests).toHaveLength(1);
    const [r] = agent.requests;
    expect(r.method).toBe('PUT');
    expect(r.url).toBe('/prefix/v0.4/traces');
    expect(r.headers).toMatchObject({
      'content-type': 'application/msgpack',
      'x-datadog-trace-count': '2',
      'datadog-meta-lang': 'nodejs',
      'datadog-meta-lang-version': process.version,
      'datadog-meta-lang-interpreter': 'v8',
      'datadog-client-computed-top-level': 'yes',
      'datadog-send-real-http-status': 'true',
      'dd-api-key': 'secret',
      'datadog-container-id': 'abc123',
      'x-tenant': 'acme',
    });
    expect(r.headers['datadog-meta-tracer-version']).toMatch(/^flowtrace-\d+\.\d+\.\d+/);
    expect(decode(r.body, { useBigInt64: true })).toHaveLength(2);
  });

  it('sends neither API key nor container ID unless configured', async () => {
    const agent = await fakeAgent();
    const e = exporter({ endpoint: agent.endpoint });
    await e.send(Buffer.from(e.encode([span()])), 1, 'b1');
    expect(agent.requests[0].headers).not.toHaveProperty('dd-api-key');
    expect(agent.requests[0].headers).not.toHaveProperty('datadog-container-id');
  });

  it('treats 400, 403 and 413 as permanent', async () => {
    for (const status of [400, 403, 413]) {
      const agent = await fakeAgent([{ status, body: 'nope' }]);
      const e = exporter({ endpoint: agent.endpoint });
      const err = await sendError(e.send(Buffer.from(e.encode([span()])), 1, 'b1'));
      expect(err.retryable).toBe(false);
      expect(err.message).toContain(`HTTP ${status}: nope`);
    }
  });

  it('retries 429 and 503, honouring Retry-After', async () => {
    const agent = await fakeAgent([{ status: 429, headers: { 'Retry-After': '3' } }, { status: 503 }]);
    const e = exporter({ endpoint: agent.endpoint });
    const payload = Buffer.from(e.encode([span()]));
    expect(await sendError(e.send(payload, 1, 'b1'))).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(await sendError(e.send(payload, 1, 'b1'))).toMatchObject({ retryable: true, retryAfterMs: undefined });
    await e.send(payload, 1, 'b1');
    expect(agent.requests).toHaveLength(3);
  });

  it('retries when nothing listens, and when the agent does not answer in time', async () => {
    const gone = await fakeAgent();
    await gone.close();
    const refused = exporter({ endpoint: gone.endpoint });
    const err = await sendError(refused.send(Buffer.from(refused.encode([span()])), 1, 'b1'));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/ECONNREFUSED/);

    const slow = await fakeAgent(['hang']);
    const impatient = exporter({ endpoint: slow.endpoint, timeout_ms: 200 });
    const timeout = await sendError(impatient.send(Buffer.from(impatient.encode([span()])), 1, 'b1'));
    expect(timeout).toMatchObject({ retryable: true });
    expect(timeout.message).toMatch(/timed out$/);
  });

  it('splits a large batch and, on retry, resends only the requests the agent did not take', async () => {
    const agent = await fakeAgent([{ status: 200 }, { status: 200 }, { status: 503 }]);
    const e = exporter({ endpoint: agent.endpoint, max_request_bytes: 2048 });
    const spans = Array.from({ length: 12 }, (_, i) => span({ name: `op-${i}`, attributes: { pad: 'x'.repeat(300) } }));
    const payload = Buffer.from(e.encode(spans));
    expect((await sendError(e.send(payload, 12, 'batch-7'))).retryable).toBe(true);
    const firstAttempt = agent.requests.length;
    expect(firstAttempt).toBe(3);
    await e.send(payload, 12, 'batch-7');
    const accepted = [agent.requests[0], agent.requests[1], ...agent.requests.slice(3)];
    const resources = accepted.flatMap((r) => (decode(r.body) as Array<Array<{ resource: string }>>).flat().map((s) => s.resource));
    expect(resources).toEqual(spans.map((s) => s.name)); // each span accepted exactly once
    for (const r of agent.requests) expect(r.body.length).toBeLessThanOrEqual(2048);

    // Another batch is sent whole.
    const before = agent.requests.length;
    await e.send(payload, 12, 'batch-8');
    expect(agent.requests.length - before).toBeGreaterThan(2);
  });

  it('dead-letters a payload that is not its records, without a request', async () => {
    const agent = await fakeAgent();
    const e = exporter({ endpoint: agent.endpoint });
    const err = await sendError(e.send(Buffer.from('{"not":"a record"}'), 1, 'b1'));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/unreadable record/);
    expect(agent.requests).toHaveLength(0);
  });
});

describe('mode otlp', () => {
  it('sends OTLP/HTTP protobuf to {endpoint}/v1/traces through the OTLP exporter', async () => {
    const agent = await fakeAgent();
    const e = datadogExporterFactory.create('datadog', datadogConfigSchema.parse({ mode: 'otlp', endpoint: agent.endpoint, otlp: { compression: 'none' } }), { logger: pino({ level: 'silent' }) });
    await e.start();
    try {
      await e.send(Buffer.from(e.encode([span({ name: 'via-otlp' })])), 1, 'b1');
    } finally {
      await e.shutdown();
    }
    expect(agent.requests).toHaveLength(1);
    expect(agent.requests[0]).toMatchObject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' } });
    expect(agent.requests[0].body.includes(Buffer.from('via-otlp'))).toBe(true);
  });
});
