/**
 * The live tail's bounds as config keys, seen through the collector's own `/metrics`, on the
 * real collector (child process, embedded engine) with `api.tail.queue_spans: 5` and
 * `max_clients: 2`: a client that never reads has what does not fit in its queue dropped and
 * counted (`flowtrace_tail_spans_dropped_total{reason="slow_client"}`) while every OTLP request
 * is still accepted; clients are counted while connected, and a client over the limit is
 * refused (429) and counted. Counts are checked by what they must add up to, never by timing.
 */
import { connect, type Socket } from 'node:net';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';

let c: RunningCollector;
const QUEUE_SPANS = 5;

let counter = 0;
function batch(count: number, padding = 0): OtlpRequest {
  const end = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: count }, (): OtlpSpan => ({
    traceId: 'ef'.repeat(16),
    spanId: (++counter).toString(16).padStart(16, '0'),
    name: 'GET /slow',
    kind: 2,
    startTimeUnixNano: String(end - 1_000_000n),
    endTimeUnixNano: String(end),
    ...(padding > 0 ? { attributes: [{ key: 'pad', value: { stringValue: 'x'.repeat(padding) } }] } : {}),
  }));
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tail-limits' } }] }, scopeSpans: [{ scope: { name: 'e2e' }, spans }] }] };
}

async function send(body: OtlpRequest): Promise<number> {
  const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** The tail metrics from `/metrics`. */
async function tailMetrics(): Promise<{ clients: number; sent: number; slow: number; rateLimited: number; refused: number }> {
  const text = await (await fetch(`${c.apiUrl}/metrics`)).text();
  const value = (pattern: RegExp): number => {
    const m = pattern.exec(text);
    if (!m) throw new Error(`no ${String(pattern)} in /metrics`);
    return Number(m[1]);
  };
  return {
    clients: value(/^flowtrace_tail_clients (\d+)$/m),
    sent: value(/^flowtrace_tail_spans_sent_total (\d+)$/m),
    slow: value(/^flowtrace_tail_spans_dropped_total\{reason="slow_client"\} (\d+)$/m),
    rateLimited: value(/^flowtrace_tail_spans_dropped_total\{reason="rate_limit"\} (\d+)$/m),
    refused: value(/^flowtrace_tail_clients_refused_total (\d+)$/m),
  };
}

/** A tail client that sends its request and never reads a byte of the answer. */
function stuckClient(): Promise<Socket> {
  const { hostname, port } = new URL(c.apiUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.pause();
      socket.write(`GET /api/tail HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

function tail(): Promise<{ res: IncomingMessage; req: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = get(`${c.apiUrl}/api/tail`, { agent: false }, (res) => {
      res.resume();
      resolve({ res, req });
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  c = await startCollector({ config: `api:\n  tail:\n    queue_spans: ${QUEUE_SPANS}\n    max_clients: 2\n` });
}, 120_000);
afterAll(cleanup);

describe('live tail limits on the real collector', () => {
  it('drops and counts what a client that does not read cannot take, and ingest accepts everything', async () => {
    expect(await tailMetrics()).toEqual({ clients: 0, sent: 0, slow: 0, rateLimited: 0, refused: 0 });
    const stuck = await stuckClient();
    await waitFor(async () => ((await tailMetrics()).clients === 1 ? true : undefined), 'the stuck client to be subscribed');

    // One batch of 50 for a queue of 5: at most 5 reach the client, the rest are dropped as slow.
    expect(await send(batch(50))).toBe(200);
    const first = await waitFor(async () => {
      const m = await tailMetrics();
      return m.sent + m.slow === 50 ? m : undefined;
    }, 'the first batch to be sent or dropped');
    expect(first.slow).toBeGreaterThanOrEqual(50 - QUEUE_SPANS);
    expect(first.rateLimited).toBe(0);

    // Keep sending, larger spans, while the client still reads nothing: every request is accepted
    // and every span is accounted for; once the socket's buffers are full nothing more is written.
    const BATCHES = 10;
    const PER_BATCH = 500;
    for (let i = 0; i < BATCHES; i++) expect(await send(batch(PER_BATCH, 2048))).toBe(200);
    const total = 50 + BATCHES * PER_BATCH;
    const after = await waitFor(async () => {
      const m = await tailMetrics();
      return m.sent + m.slow + m.rateLimited === total ? m : undefined;
    }, 'every span to be sent or dropped');
    expect(after.sent).toBeLessThanOrEqual(QUEUE_SPANS * (BATCHES + 1));
    expect(after.slow).toBeGreaterThanOrEqual(total - QUEUE_SPANS * (BATCHES + 1) - after.rateLimited);
    expect(after.clients).toBe(1);

    stuck.destroy();
    await waitFor(async () => ((await tailMetrics()).clients === 0 ? true : undefined), 'the stuck client to be gone');
  }, 120_000);

  it('counts connected clients and refuses (and counts) one over api.tail.max_clients', async () => {
    const a = await tail();
    const b = await tail();
    expect([a.res.statusCode, b.res.statusCode]).toEqual([200, 200]);
    expect((await tailMetrics()).clients).toBe(2);
    const refused = await tail();
    expect(refused.res.statusCode).toBe(429);
    expect(refused.res.headers['retry-after']).toBe('5');
    expect(await tailMetrics()).toMatchObject({ clients: 2, refused: 1 });
    for (const t of [a, b, refused]) t.req.destroy();
    await waitFor(async () => ((await tailMetrics()).clients === 0 ? true : undefined), 'the clients to be gone');
  }, 60_000);
});
