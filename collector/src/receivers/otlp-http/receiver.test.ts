import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect, type Socket } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { pino } from 'pino';
import { compressSync as snappyCompress } from 'snappy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeTestPki, type TestPki } from '../../../../exporters/otlp/certs.testing.js';
import { waitFor } from '../../../../test/helpers/collector.js';
import { protobufRequest, sdkSpans } from '../../../../test/helpers/spans.js';
import { AuthError, type Principal } from '../../auth/principal.js';
import type { ConnectionLimits } from '../../server/config.js';
import { CollectorMetrics } from '../../telemetry.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { Ingest } from '../ingest.js';
import { WIRE, WireWriter, minimalSpan, spanIdOf, traceIdOf } from '../otlp/otlp-fixtures.js';
import { Capture, RecordingIngest } from '../receiver.testing.js';
import type { OtlpHttpConfig } from './config.js';
import { OtlpHttpReceiver, type OtlpHttpReceiverOptions } from './receiver.js';

const receivers: OtlpHttpReceiver[] = [];
/** Raw client sockets, destroyed before the receivers shut down (a failed test may leave them open). */
const sockets = new Set<Socket>();
afterEach(async () => {
  sockets.forEach((s) => s.destroy());
  sockets.clear();
  await Promise.all(receivers.splice(0).map((r) => r.shutdown()));
});

async function start(config: Partial<OtlpHttpConfig> = {}, options: OtlpHttpReceiverOptions = {}) {
  const pipeline = new Capture();
  const ingest = new RecordingIngest(pipeline, new CollectorMetrics());
  const receiver = new OtlpHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, ...config }, ingest, pino({ level: 'silent' }), options);
  await receiver.start();
  receivers.push(receiver);
  return { pipeline, ingest, address: receiver.address, url: `http://${receiver.address}/v1/traces` };
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const LIMITS: ConnectionLimits = { max_connections: 50, idle_timeout_seconds: 1, headers_timeout_seconds: 1, request_timeout_seconds: 2 };

describe('OTLP/HTTP receiver: ingest authentication', () => {
  const principal: Principal = { id: 'token:t1', kind: 'token', name: 'agent', scopes: new Set(['ingest']), rules: {} };
  const auth = async (authorization: string | undefined) => {
    if (authorization === 'Bearer good') return principal;
    if (authorization === 'Bearer read-only') throw new AuthError(403, 'token lacks the ingest scope');
    throw new AuthError(401, 'missing or invalid bearer token');
  };

  it('answers 401 with WWW-Authenticate and a google.rpc.Status in the request encoding, 403 without the scope', async () => {
    const r = await start({}, { auth });
    const body = new Uint8Array(protobufRequest((await sdkSpans(2)).spans));
    const missing = await fetch(r.url, { method: 'POST', headers: PROTOBUF, body });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.headers.get('content-type')).toBe('application/x-protobuf');
    // google.rpc.Status { code (1): 16 UNAUTHENTICATED, message (2) }
    const status = Buffer.from(await missing.arrayBuffer());
    expect([status[0], status[1]]).toEqual([0x08, 16]);
    expect(status.toString()).toMatch(/missing or invalid bearer token/);

    const json = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer read-only' }, body: '{}' });
    expect(json.status).toBe(403);
    expect(json.headers.get('www-authenticate')).toBeNull();
    expect(await json.json()).toEqual({ code: 7, message: 'token lacks the ingest scope' });
    expect(r.pipeline.spans).toHaveLength(0);
  });

  it('checks the credential before reading the body: an oversized body from an unauthenticated client is a 401, not a 413', async () => {
    const r = await start({ maxBodyBytes: 1024 }, { auth });
    const res = await fetch(r.url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(64 * 1024) });
    expect(res.status).toBe(401);
  });

  it('hands the principal, the client address and the decompressed size to ingest', async () => {
    const r = await start({}, { auth });
    const body = protobufRequest((await sdkSpans(3)).spans);
    const res = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, authorization: 'Bearer good' }, body: new Uint8Array(body) });
    expect(res.status).toBe(200);
    expect(r.pipeline.spans).toHaveLength(3);
    expect(r.ingest.contexts).toEqual([{ principal, remoteAddress: '127.0.0.1', bytes: body.length }]);
  });
});

describe('OTLP/HTTP receiver: CORS', () => {
  it('is off by default: no preflight route and no CORS headers', async () => {
    const r = await start();
    const preflight = await fetch(r.url, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(404);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the preflight of an allowed origin and marks its responses; other origins get no CORS headers', async () => {
    const r = await start({ corsOrigins: ['https://app.example'] });
    const preflight = await fetch(r.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type, content-encoding, authorization');

    const body = new Uint8Array(protobufRequest((await sdkSpans(1)).spans));
    const post = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, origin: 'https://app.example' }, body });
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-allow-origin')).toBe('https://app.example');

    const evil = await fetch(r.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const evilPost = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, origin: 'https://evil.example' }, body });
    expect(evilPost.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('OTLP/HTTP receiver: connection limits', () => {
  it('closes a connection that sends no request head within the headers timeout', async () => {
    const r = await start({ limits: LIMITS });
    const socket = connectTo(r.address);
    await closed(socket);
  });

  it('cuts a request whose body trickles past the request timeout (408) while a normal request succeeds', async () => {
    const r = await start({ limits: { ...LIMITS, idle_timeout_seconds: 30 } });
    const body = protobufRequest((await sdkSpans(2)).spans);
    const socket = connectTo(r.address);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 5));
    const ok = await fetch(r.url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(body) });
    expect(ok.status).toBe(200);
    await closed(socket);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(r.pipeline.spans).toHaveLength(2);
  });

  it('closes connections beyond max_connections at once and counts them', async () => {
    let refused = 0;
    const r = await start({ limits: { ...LIMITS, max_connections: 2, headers_timeout_seconds: 30, request_timeout_seconds: 30 } }, { onConnectionRefused: () => refused++ });
    const open = [connectTo(r.address), connectTo(r.address)];
    await Promise.all(open.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    await closed(connectTo(r.address));
    expect(refused).toBe(1);
    open.forEach((s) => s.destroy());
  });
});

describe('OTLP/HTTP receiver: in-flight byte budget', () => {
  it('answers 429 with Retry-After and a google.rpc.Status once concurrent slow bodies use the budget, releases every byte, and serves again', async () => {
    const budget = new InFlightBudget(300_000);
    const r = await start({ maxBodyBytes: 1 << 20 }, { inFlight: budget });
    // Bodies announced at 500 KB of which 120 KB arrive: two fit in 300 KB, the third does not.
    const PART = 120_000;
    const slow: Array<{ socket: Socket; answer: () => string }> = [];
    for (let i = 0; i < 3; i++) {
      const socket = connectTo(r.address);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 500000\r\n\r\n`);
      socket.write(Buffer.alloc(PART));
      slow.push({ socket, answer: () => answer });
      if (i < 2) await waitFor(async () => (budget.usedBytes === PART * (i + 1) ? true : undefined), `body ${i + 1} reserved`, 10_000);
    }
    const refused = await waitFor(async () => (slow[2].answer().includes('\r\n\r\n') ? slow[2].answer() : undefined), 'the third body answered', 10_000);
    expect(refused).toMatch(/^HTTP\/1\.1 429/);
    expect(refused).toMatch(/\r\nretry-after: 1\r\n/i);
    // google.rpc.Status { code (1): 8 RESOURCE_EXHAUSTED, message, details: RetryInfo }, in the request's encoding.
    const body = refused.slice(refused.indexOf('\r\n\r\n') + 4);
    expect([body.charCodeAt(0), body.charCodeAt(1)]).toEqual([0x08, 8]);
    expect(body).toMatch(/max_in_flight_mib/);
    expect(body).toContain('type.googleapis.com/google.rpc.RetryInfo');
    expect(budget.refused).toBe(1);
    expect(budget.usedBytes).toBe(2 * PART);

    // The clients go away: what they held is released, and a normal export succeeds.
    slow.forEach(({ socket }) => socket.destroy());
    await waitFor(async () => (budget.usedBytes === 0 ? true : undefined), 'the budget released', 10_000);
    const ok = await fetch(r.url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(protobufRequest((await sdkSpans(2)).spans)) });
    expect(ok.status).toBe(200);
    expect(r.pipeline.spans).toHaveLength(2);
    await waitFor(async () => (budget.usedBytes === 0 ? true : undefined), 'the budget released after the export', 5_000);
  });

  it('accepts every Content-Encoding the OpenTelemetry Collector sends, and names them when refusing another', async () => {
    const r = await start({ maxBodyBytes: 64 * 1024 });
    const body = protobufRequest((await sdkSpans(1)).spans);
    const encodings: [string, Buffer][] = [
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['zlib', deflateSync(body)],
      ['snappy', snappyCompress(body)],
      ['lz4', compressFrameSync(body)],
    ];
    for (const [encoding, compressed] of encodings) {
      const res = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, 'content-encoding': encoding }, body: new Uint8Array(compressed) });
      expect(res.status, encoding).toBe(200);
    }
    expect(r.pipeline.spans).toHaveLength(encodings.length);
    const bomb = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, 'content-encoding': 'lz4' }, body: new Uint8Array(compressFrameSync(Buffer.alloc(8 << 20))) });
    expect(bomb.status).toBe(413);
    const brotli = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: '{}' });
    expect(brotli.status).toBe(415);
    expect(((await brotli.json()) as { message: string }).message).toBe(
      "unsupported Content-Encoding 'br' (supported: identity, gzip, x-gzip, deflate, zlib, zstd, snappy, x-snappy-framed, lz4)",
    );
  });

  it('counts the decompressed body against the budget while inflating', async () => {
    const budget = new InFlightBudget(300_000);
    const r = await start({ maxBodyBytes: 1 << 20 }, { inFlight: budget });
    const res = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, 'content-encoding': 'gzip' }, body: new Uint8Array(gzipSync(Buffer.alloc(600_000))) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(budget.refused).toBe(1);
    const body = protobufRequest((await sdkSpans(3)).spans);
    const ok = await fetch(r.url, { method: 'POST', headers: { ...PROTOBUF, 'content-encoding': 'gzip' }, body: new Uint8Array(gzipSync(body)) });
    expect(ok.status).toBe(200);
    expect(r.pipeline.spans).toHaveLength(3);
    await waitFor(async () => (budget.usedBytes === 0 ? true : undefined), 'the budget released', 5_000);
  });
});

describe.skipIf(!hasOpenssl())('OTLP/HTTP receiver over TLS', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.remove());

  it('with a client CA, refuses a client without a certificate and accepts one with it', async () => {
    const r = await start({ tls: { cert_file: pki.serverCertFile, key_file: pki.serverKeyFile, client_ca_file: pki.caFile } });
    const body = protobufRequest((await sdkSpans(2)).spans);
    const anonymous = await httpsPost(r.address, body, { ca: pki.read(pki.caFile) });
    expect(anonymous.status).toBeUndefined();
    const withCert = await httpsPost(r.address, body, { ca: pki.read(pki.caFile), cert: pki.read(pki.clientCertFile), key: pki.read(pki.clientKeyFile) });
    expect(withCert.status).toBe(200);
    expect(r.pipeline.spans).toHaveLength(2);
  });
});

function connectTo(address: string): Socket {
  const [host, port] = address.split(':');
  const socket = tcpConnect(Number(port), host);
  socket.on('error', () => undefined);
  sockets.add(socket);
  return socket.resume();
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
}

function httpsPost(address: string, body: Buffer, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status?: number; error?: Error }> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const req = httpsRequest({ host, port: Number(port), path: '/v1/traces', method: 'POST', headers: PROTOBUF, ...tls, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (error) => resolve({ error }));
    req.end(body);
  });
}

describe('OTLP/HTTP receiver: requests too large as storage rows', () => {
  /** One resource with a 30 KB attribute over 200 tiny spans: 31 KB sent, 6 MB as rows (each repeats the resource). */
  function amplified(): Uint8Array {
    const resource = new WireWriter().field(1, new WireWriter().field(1, 'big').field(2, new WireWriter().field(1, 'x'.repeat(30_000))));
    const scopeSpans = new WireWriter();
    for (let i = 0; i < 200; i++) {
      scopeSpans.field(2, minimalSpan(traceIdOf(i + 1), spanIdOf(i + 1)).tag(7, WIRE.I64).fixed64(1_700_000_000_000_000_000n).tag(8, WIRE.I64).fixed64(1_700_000_000_000_000_001n));
    }
    return new WireWriter().field(1, new WireWriter().field(1, resource).field(2, scopeSpans)).finish();
  }

  for (const rows of [false, true]) {
    it(`answers 413 naming the limit, and hands nothing on (${rows ? 'storage-rows' : 'object'} path)`, async () => {
      const taken: unknown[] = [];
      const pipeline = rows
        ? { takesRows: true, consume: async (s: unknown) => void taken.push(s), consumeRows: async (b: unknown) => void taken.push(b) }
        : { consume: async (s: unknown) => void taken.push(s) };
      const ingest = new Ingest(pipeline, new CollectorMetrics(), undefined, { maxRowBytes: 1 << 20 });
      const receiver = new OtlpHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20 }, ingest, pino({ level: 'silent' }));
      await receiver.start();
      receivers.push(receiver);
      const res = await fetch(`http://${receiver.address}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200); // an empty request is fine
      const big = await fetch(`http://${receiver.address}/v1/traces`, { method: 'POST', headers: PROTOBUF, body: Buffer.from(amplified()) });
      expect(big.status).toBe(413);
      expect(big.headers.get('retry-after')).toBeNull();
      const status = Buffer.from(await big.arrayBuffer()).toString('latin1');
      expect(status).toContain('as storage rows');
      expect(taken).toEqual([]);
    });
  }
});
