import { get, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { LOOPBACK_ANONYMOUS, type Principal } from '../../auth/principal.js';
import '../../auth/request-principal.js';
import type { Resource, Span } from '../../model/span.js';
import { testSpan } from '../../model/span.testing.js';
import { QueryParamError } from '../params.js';
import { TailHub } from './tail-hub.js';
import type { TailSpan } from './tail-line.js';
import { registerTailRoutes } from './tail-routes.js';
import { readEvents, type ServerSentEvent } from './sse.js';

const scope = { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const resource = (service: string): Resource => ({ attributes: { 'service.name': service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service });
let n = 0;
function span(service: string, fields: Partial<Span> = {}): Span {
  n++;
  return testSpan({ resource: resource(service), scope, traceId: 'b'.repeat(32), spanId: n.toString(16).padStart(16, '0'), name: 'op', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n, ...fields });
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The tail route alone, with the principal's service rules taken from a test header. */
/** `heartbeatMs`: the route's own setting, or 'hub' for none (the hub's `api.tail.heartbeat_seconds` then applies). */
async function serve(hub: TailHub, heartbeatMs: number | 'hub' = 60_000): Promise<string> {
  app = Fastify();
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (req) => {
    const services = req.headers['x-test-services'];
    req.principal = typeof services === 'string' ? { ...LOOPBACK_ANONYMOUS, rules: { services: services.split(',') } } : LOOPBACK_ANONYMOUS;
  });
  app.setErrorHandler((err: Error, _req, reply) => reply.code(err instanceof QueryParamError ? 400 : 500).send({ error: err.message }));
  registerTailRoutes(app, { hub, heartbeatMs: heartbeatMs === 'hub' ? undefined : heartbeatMs });
  return `${await app.listen({ host: '127.0.0.1', port: 0 })}/api/tail`;
}

/** A GET on its own connection (no pooling: what is open is exactly what the test opened). */
interface Stream {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  close(): void;
  json(): Promise<{ error: string }>;
}
function open(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers }, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: res,
        close: () => req.destroy(),
        json: async () => {
          let text = '';
          for await (const chunk of res) text += String(chunk);
          return JSON.parse(text) as { error: string };
        },
      });
    });
    req.on('error', reject);
  });
}

/** Reads events until `done` says so (or 5 s pass), then disconnects. */
async function collect(stream: Stream, done: (events: ServerSentEvent[]) => boolean): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  const timer = setTimeout(() => stream.close(), 5_000);
  try {
    for await (const e of readEvents(stream.body)) {
      events.push(e);
      if (done(events)) break;
    }
  } catch (err) {
    if (!stream.body.destroyed) throw err;
  } finally {
    clearTimeout(timer);
    stream.close();
  }
  return events;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(condition()).toBe(true);
}

const spansOf = (events: ServerSentEvent[]) => events.filter((e) => e.event === 'span').map((e) => JSON.parse(e.data) as TailSpan);

describe('GET /api/tail', () => {
  it('streams matching spans as server-sent events, and forgets the client when it disconnects', async () => {
    const hub = new TailHub();
    const url = await serve(hub);
    const response = await open(`${url}?service=shop&errorsOnly=true`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await until(() => hub.clients === 1);
    hub.publish([span('shop', { name: 'ok' }), span('shop', { name: 'bad', statusCode: 2 }), span('pay', { statusCode: 2 })]);
    const events = await collect(response, (es) => es.some((e) => e.event === 'span'));
    expect(events[0]!.event).toBe('open');
    expect(spansOf(events).map((s) => s.name)).toEqual(['bad']);
    await until(() => hub.clients === 0);
  });

  it('gives a token limited to one service only that service\'s spans', async () => {
    const hub = new TailHub();
    const url = await serve(hub);
    const response = await open(url, { 'x-test-services': 'pay' });
    await until(() => hub.clients === 1);
    hub.publish([span('shop', { name: 'secret' }), span('pay', { name: 'mine' }), span('shop', { name: 'secret2' }), span('pay', { name: 'last' })]);
    const events = await collect(response, (es) => spansOf(es).length >= 2);
    expect(spansOf(events).map((s) => [s.service, s.name])).toEqual([['pay', 'mine'], ['pay', 'last']]);
  });

  it('tells a client that fell behind how many spans it missed', async () => {
    const hub = new TailHub({ maxClients: 4, queueSpans: 5 });
    const url = await serve(hub);
    const response = await open(url);
    await until(() => hub.clients === 1);
    // One synchronous publish: the client's writer cannot run before its queue of 5 overflows.
    hub.publish(Array.from({ length: 20 }, () => span('shop')));
    const events = await collect(response, (es) => spansOf(es).length >= 5);
    const dropped = events.find((e) => e.event === 'dropped');
    expect(JSON.parse(dropped!.data)).toEqual({ dropped: 15, total: 15 });
    expect(spansOf(events)).toHaveLength(5);
  });

  it('refuses clients beyond the limit with 429, and takes one again after a disconnect', async () => {
    const hub = new TailHub({ maxClients: 1, queueSpans: 10 });
    const url = await serve(hub);
    const first = await open(url);
    expect(first.status).toBe(200);
    const refused = await open(url);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect((await refused.json()).error).toMatch(/too many live tail clients \(at most 1\)/);
    first.close();
    await until(() => hub.clients === 0);
    const reopened = await open(url);
    expect(reopened.status).toBe(200);
    reopened.close();
  });

  it('sends heartbeats on an idle stream', async () => {
    const hub = new TailHub();
    const url = await serve(hub, 30);
    const response = await open(url);
    let text = '';
    for await (const chunk of response.body) {
      text += String(chunk);
      if (text.includes(': heartbeat')) break;
    }
    response.close();
    expect(text).toMatch(/^: heartbeat \d{4}-/m);
  });

  it('takes its heartbeat interval and queue size from the hub\'s settings (api.tail)', async () => {
    const hub = new TailHub({ maxClients: 1, queueSpans: 7, heartbeatMs: 30 });
    const response = await open(await serve(hub, 'hub'));
    let text = '';
    for await (const chunk of response.body) {
      text += String(chunk);
      if (text.includes(': heartbeat')) break;
    }
    response.close();
    expect(text).toContain('event: open\ndata: {"queueSpans":7,"heartbeatMs":30}\n\n');
    expect(text).toMatch(/^: heartbeat \d{4}-/m);
  });

  it('answers 400 naming a bad parameter', async () => {
    const url = await serve(new TailHub());
    for (const [query, message] of [
      ['errorsOnly=maybe', /^errorsOnly: expected true or false/],
      ['minDuration=soon', /^minDuration: expected a duration/],
      ['service=a&service=b', /^service: /],
    ] as const) {
      const response = await open(`${url}?${query}`);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatch(message);
    }
  });

  it('ends open streams when the server closes', async () => {
    const hub = new TailHub();
    const url = await serve(hub);
    const response = await open(url);
    await until(() => hub.clients === 1);
    await app!.close();
    app = undefined;
    expect(hub.clients).toBe(0);
    // The stream ends rather than hanging.
    const events: ServerSentEvent[] = [];
    for await (const e of readEvents(response.body)) events.push(e);
    expect(events.map((e) => e.event)).toEqual(['open']);
  });
});
