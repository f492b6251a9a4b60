import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { compressFrameSync } from 'lz4-napi';
import { pino } from 'pino';
import { compressSync as snappyCompress } from 'snappy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeTestPki, type TestPki } from '../../../../exporters/otlp/certs.testing.js';
import { waitFor } from '../../../../test/helpers/collector.js';
import { grpcExport } from '../../../../test/helpers/grpc.js';
import { protobufRequest, sdkSpans } from '../../../../test/helpers/spans.js';
import { AuthError, type Principal } from '../../auth/principal.js';
import type { ConnectionLimits } from '../../server/config.js';
import { CollectorMetrics } from '../../telemetry.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { Capture, RecordingIngest } from '../receiver.testing.js';
import type { OtlpGrpcConfig } from './config.js';
import { EXPORT_PATH, OtlpGrpcReceiver, type OtlpGrpcReceiverOptions } from './receiver.js';

const receivers: OtlpGrpcReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.shutdown(1000)));
});

async function start(config: Partial<OtlpGrpcConfig> = {}, options: OtlpGrpcReceiverOptions = {}) {
  const pipeline = new Capture();
  const ingest = new RecordingIngest(pipeline, new CollectorMetrics());
  const receiver = new OtlpGrpcReceiver({ endpoint: '127.0.0.1:0', maxMessageBytes: 1 << 20, ...config }, ingest, pino({ level: 'silent' }), options);
  await receiver.start();
  receivers.push(receiver);
  return { receiver, pipeline, ingest, address: receiver.address };
}

function exportWith(exporter: OTLPTraceExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, (result) => resolve(result)));
}

const LIMITS: ConnectionLimits = { max_connections: 50, idle_timeout_seconds: 1, headers_timeout_seconds: 1, request_timeout_seconds: 1 };

describe('OTLP/gRPC receiver (node:http2)', () => {
  it('accepts the official OpenTelemetry exporter, plain and gzip, and stores every span acknowledged', async () => {
    const r = await start();
    const { spans } = await sdkSpans(5);
    for (const compression of [CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP]) {
      const exporter = new OTLPTraceExporter({ url: `http://${r.address}`, compression });
      expect((await exportWith(exporter, spans)).code).toBe(0);
      await exporter.shutdown();
    }
    expect(r.pipeline.spans).toHaveLength(10);
  });

  it('opens flow-control windows that take a whole export at once, so uploads do not wait on a busy event loop for window updates', async () => {
    const r = await start();
    const client = connect(`http://${r.address}`);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('remoteSettings', () => resolve());
        client.once('error', reject);
      });
      // The stream window (SETTINGS_INITIAL_WINDOW_SIZE): a 500-span export is ≈ 300 KB, the default 64 KiB.
      expect(client.remoteSettings.initialWindowSize).toBeGreaterThanOrEqual(4 * 1024 * 1024);
      // The connection window grows by a WINDOW_UPDATE on stream 0, which has arrived once a PING sent after it is answered.
      await new Promise<void>((resolve, reject) => client.ping((err) => (err ? reject(err) : resolve())));
      expect(client.state.remoteWindowSize).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    } finally {
      client.close();
    }
  });

  it('decompresses deflate and refuses an unknown grpc-encoding with UNIMPLEMENTED naming the supported ones', async () => {
    const r = await start();
    const body = protobufRequest((await sdkSpans(2)).spans);
    expect((await rawCall(r.address, frame(deflateSync(body), true), { 'grpc-encoding': 'deflate' })).trailers['grpc-status']).toBe('0');
    const unknown = await rawCall(r.address, frame(body, true), { 'grpc-encoding': 'br' });
    expect(unknown.trailers['grpc-status']).toBe(String(status.UNIMPLEMENTED));
    expect(decodeURIComponent(String(unknown.trailers['grpc-message']))).toMatch(/unsupported grpc-encoding 'br' \(supported: identity, gzip, deflate, zstd, snappy, lz4\)/);
    expect(r.pipeline.spans).toHaveLength(2);
  });

  it('decompresses snappy and lz4, and refuses a snappy bomb with RESOURCE_EXHAUSTED', async () => {
    const r = await start({ maxMessageBytes: 64 * 1024 });
    const body = protobufRequest((await sdkSpans(2)).spans);
    expect((await rawCall(r.address, frame(snappyCompress(body), true), { 'grpc-encoding': 'snappy' })).trailers['grpc-status']).toBe('0');
    expect((await rawCall(r.address, frame(compressFrameSync(body), true), { 'grpc-encoding': 'lz4' })).trailers['grpc-status']).toBe('0');
    expect(r.pipeline.spans).toHaveLength(4);
    const bomb = await rawCall(r.address, frame(snappyCompress(Buffer.alloc(1024 * 1024)), true), { 'grpc-encoding': 'snappy' });
    expect(bomb.trailers['grpc-status']).toBe(String(status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(String(bomb.trailers['grpc-message']))).toMatch(/decompressed message exceeds the limit of 65536 bytes/);
  });

  it('answers INVALID_ARGUMENT for a message that is not OTLP, UNIMPLEMENTED for another method, 415 for a non-gRPC content-type', async () => {
    const r = await start();
    expect((await grpcExport(r.address, Buffer.from([0x0a, 0x05, 0x01]))).error?.code).toBe(status.INVALID_ARGUMENT);
    const other = await rawCall(r.address, frame(Buffer.alloc(0)), {}, '/opentelemetry.proto.collector.logs.v1.LogsService/Export');
    expect(other.trailers['grpc-status']).toBe(String(status.UNIMPLEMENTED));
    const notGrpc = await rawCall(r.address, Buffer.from('{}'), { 'content-type': 'application/json' });
    expect(notGrpc.headers[':status']).toBe(415);
  });

  it('refuses a message over the limit from its length prefix, and a gzip bomb without inflating it, with RESOURCE_EXHAUSTED', async () => {
    const r = await start({ maxMessageBytes: 64 * 1024 });
    const big = await grpcExport(r.address, Buffer.alloc(2 * 1024 * 1024));
    expect(big.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(big.error?.details).toMatch(/exceeds the limit of 65536 bytes/);
    const bomb = await grpcExport(r.address, Buffer.alloc(50 * 1024 * 1024), { gzip: true });
    expect(bomb.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(bomb.error?.details).toMatch(/decompressed message exceeds the limit/);
    // The connection is still usable afterwards.
    expect((await grpcExport(r.address, protobufRequest((await sdkSpans(1)).spans))).response).toBeDefined();
  });

  it('reports partial success for spans with invalid IDs and stores the others', async () => {
    const r = await start();
    const { spans } = await sdkSpans(3);
    // The second span's trace ID is 2 bytes long: rejected alone, as the OTLP spec says.
    const broken = Object.assign(Object.create(Object.getPrototypeOf(spans[1]) as object), spans[1], {
      spanContext: () => ({ ...spans[1].spanContext(), traceId: 'abcd' }),
    }) as ReadableSpan;
    const outcome = await grpcExport(r.address, protobufRequest([spans[0], broken, spans[2]]));
    // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1): 1, error_message (2) } }
    expect(outcome.response?.subarray(2, 4)).toEqual(Buffer.from([0x08, 0x01]));
    expect(outcome.response?.toString()).toMatch(/trace_id has 2 bytes/);
    expect(r.pipeline.spans).toHaveLength(2);
  });

  it('percent-encodes grpc-message so any error text survives the trip', async () => {
    const r = await start({}, { auth: async () => Promise.reject(new AuthError(401, 'token «x» 100% unknown')) });
    const outcome = await grpcExport(r.address, Buffer.alloc(0));
    expect(outcome.error?.code).toBe(status.UNAUTHENTICATED);
    expect(outcome.error?.details).toBe('token «x» 100% unknown');
  });

  it('authenticates from the authorization metadata before reading the message: UNAUTHENTICATED, PERMISSION_DENIED, or the principal handed to ingest', async () => {
    const principal: Principal = { id: 'token:t1', kind: 'token', name: 'agent', scopes: new Set(['ingest']), rules: {} };
    const seen: Array<string | undefined> = [];
    const r = await start({}, {
      auth: async (authorization) => {
        seen.push(authorization);
        if (authorization === 'Bearer good') return principal;
        if (authorization === 'Bearer read-only') throw new AuthError(403, 'token lacks the ingest scope');
        throw new AuthError(401, 'missing or invalid bearer token');
      },
    });
    const body = protobufRequest((await sdkSpans(3)).spans);
    const call = (token?: string) => rawCall(r.address, frame(body), token ? { authorization: `Bearer ${token}` } : {});
    expect((await call()).trailers['grpc-status']).toBe(String(status.UNAUTHENTICATED));
    expect((await call('read-only')).trailers['grpc-status']).toBe(String(status.PERMISSION_DENIED));
    // A message too large to be read is never looked at when the caller is not authenticated.
    const huge = await rawCall(r.address, frame(Buffer.alloc(2 << 20)), {});
    expect(huge.trailers['grpc-status']).toBe(String(status.UNAUTHENTICATED));
    expect(r.pipeline.spans).toHaveLength(0);

    const exporter = new OTLPTraceExporter({ url: `http://${r.address}`, metadata: metadataOf({ authorization: 'Bearer good' }) });
    expect((await exportWith(exporter, (await sdkSpans(3)).spans)).code).toBe(0);
    await exporter.shutdown();
    expect(r.pipeline.spans).toHaveLength(3);
    expect(r.ingest.contexts.at(-1)).toMatchObject({ principal, remoteAddress: '127.0.0.1' });
    expect(r.ingest.contexts.at(-1)!.bytes).toBeGreaterThan(100);
    expect(seen).toContain('Bearer good');
  });

  it('answers DEADLINE_EXCEEDED once the client deadline (grpc-timeout) passes', async () => {
    const r = await start();
    // Headers sent with a 100 ms deadline, the message never: the deadline ends the call.
    const outcome = await rawCall(r.address, undefined, { 'grpc-timeout': '100m' });
    expect(outcome.trailers['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
  });

  it('cuts a request whose body does not arrive within the request timeout, and serves other calls meanwhile', async () => {
    const r = await start({ limits: { ...LIMITS, idle_timeout_seconds: 30 } });
    const body = protobufRequest((await sdkSpans(2)).spans);
    const slow = rawCall(r.address, frame(body).subarray(0, 10), {}, EXPORT_PATH, { keepOpen: true });
    expect((await grpcExport(r.address, body)).response).toBeDefined();
    const cut = await slow;
    expect(cut.trailers['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
    expect(decodeURIComponent(String(cut.trailers['grpc-message']))).toMatch(/request not received within 1 s/);
    expect(r.pipeline.spans).toHaveLength(2);
  });

  it('closes a connection that sends nothing, and an idle HTTP/2 session', async () => {
    const r = await start({ limits: LIMITS });
    const [host, port] = r.address.split(':');
    const silent = tcpConnect(Number(port), host).resume(); // reading, so the server's close is seen
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    const session = connect(`http://${r.address}`);
    session.on('error', () => undefined);
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    expect(session.closed || session.destroyed).toBe(true);
  });

  it('closes connections beyond max_connections at once and counts them', async () => {
    let refused = 0;
    const r = await start({ limits: { ...LIMITS, max_connections: 2, headers_timeout_seconds: 30, idle_timeout_seconds: 30 } }, { onConnectionRefused: () => refused++ });
    const [host, port] = r.address.split(':');
    const open = await Promise.all([0, 1].map(() => new Promise<ReturnType<typeof tcpConnect>>((resolve) => { const s = tcpConnect(Number(port), host, () => resolve(s)); })));
    const third = tcpConnect(Number(port), host).resume();
    third.on('error', () => undefined);
    await new Promise<void>((resolve) => third.once('close', () => resolve()));
    expect(refused).toBe(1);
    open.forEach((s) => s.destroy());
  });
});

describe('OTLP/gRPC receiver: in-flight byte budget', () => {
  const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

  it('refuses streams with a retryable RESOURCE_EXHAUSTED once partial messages use the budget, releases every byte, and serves again', async () => {
    const budget = new InFlightBudget(300_000);
    const r = await start({ maxMessageBytes: 1 << 20 }, { inFlight: budget });
    const session = connect(`http://${r.address}`);
    session.on('error', () => undefined);
    // Ten calls announcing 500 KB messages and sending 120 KB of each: at most two fit in 300 KB.
    const STREAMS = 10;
    const PART = 120_000;
    const answered: RawOutcome[] = [];
    for (let i = 0; i < STREAMS; i++) {
      void partialCall(session, 500_000, PART).then((outcome) => answered.push(outcome));
    }
    // Settled: every call is either answered or holds its whole part.
    await waitFor(async () => (budget.usedBytes === PART * (STREAMS - answered.length) ? true : undefined), 'every partial call answered or reserved', 10_000);
    expect(session.remoteSettings.maxConcurrentStreams).toBe(16);
    expect(answered.length).toBeGreaterThanOrEqual(STREAMS - 2);
    expect(budget.refused).toBe(answered.length);
    for (const outcome of answered) {
      expect(outcome.trailers['grpc-status']).toBe(String(status.RESOURCE_EXHAUSTED));
      expect(decodeURIComponent(String(outcome.trailers['grpc-message']))).toMatch(/max_in_flight_mib/);
      expect(Buffer.from(String(outcome.trailers['grpc-status-details-bin']), 'base64').toString('latin1')).toContain(RETRY_INFO);
    }
    expect(budget.usedBytes).toBeLessThanOrEqual(budget.limitBytes);

    // The client goes away: what its calls held is released, and a normal export succeeds.
    session.destroy();
    await waitFor(async () => (budget.usedBytes === 0 ? true : undefined), 'the budget released', 10_000);
    expect((await grpcExport(r.address, protobufRequest((await sdkSpans(2)).spans))).response).toBeDefined();
    expect(r.pipeline.spans).toHaveLength(2);
    expect(budget.usedBytes).toBe(0);
  });

  it('counts the decompressed output against the budget while inflating', async () => {
    const budget = new InFlightBudget(300_000);
    const r = await start({ maxMessageBytes: 1 << 20 }, { inFlight: budget });
    // A few hundred bytes on the wire, 600 KB inflated: within the message limit, over the budget.
    const outcome = await rawCall(r.address, frame(gzipSync(Buffer.alloc(600_000)), true), { 'grpc-encoding': 'gzip' });
    expect(outcome.trailers['grpc-status']).toBe(String(status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(String(outcome.trailers['grpc-message']))).toMatch(/max_in_flight_mib/);
    expect(budget.refused).toBe(1);
    expect(budget.usedBytes).toBe(0);
    // Compressed exports that fit are served, and release what they held.
    const body = protobufRequest((await sdkSpans(3)).spans);
    expect((await rawCall(r.address, frame(gzipSync(body), true), { 'grpc-encoding': 'gzip' })).trailers['grpc-status']).toBe('0');
    expect(r.pipeline.spans).toHaveLength(3);
    await waitFor(async () => (budget.usedBytes === 0 ? true : undefined), 'the budget released', 5_000);
  });

  it('a grpc-timeout beyond what a timer holds (99999999H) is the request timeout, not an immediate DEADLINE_EXCEEDED', async () => {
    const r = await start({ limits: { ...LIMITS, idle_timeout_seconds: 30 } });
    // Headers only, the message never: the request timeout (1 s) ends the call, not an overflowed timer.
    const outcome = await rawCall(r.address, undefined, { 'grpc-timeout': '99999999H' });
    expect(outcome.trailers['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
    expect(decodeURIComponent(String(outcome.trailers['grpc-message']))).toMatch(/request not received within 1 s/);
  });
});

describe.skipIf(!hasOpenssl())('OTLP/gRPC receiver over TLS', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.remove());

  it('serves the official exporter over TLS (ALPN h2), with and without gzip', async () => {
    const r = await start({ tls: { cert_file: pki.serverCertFile, key_file: pki.serverKeyFile, client_ca_file: '' } });
    for (const compression of [CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP]) {
      const exporter = new OTLPTraceExporter({ url: `https://${r.address}`, compression, credentials: credentials.createSsl(pki.read(pki.caFile)) });
      expect((await exportWith(exporter, (await sdkSpans(2)).spans)).code).toBe(0);
      await exporter.shutdown();
    }
    expect(r.pipeline.spans).toHaveLength(4);
  });

  it('with a client CA, refuses a client without a certificate and accepts one with it', async () => {
    const r = await start({ tls: { cert_file: pki.serverCertFile, key_file: pki.serverKeyFile, client_ca_file: pki.caFile } });
    const { spans } = await sdkSpans(2);
    const anonymous = new OTLPTraceExporter({ url: `https://${r.address}`, credentials: credentials.createSsl(pki.read(pki.caFile)), timeoutMillis: 5000 });
    expect((await exportWith(anonymous, spans)).code).not.toBe(0);
    await anonymous.shutdown();
    const withCert = new OTLPTraceExporter({
      url: `https://${r.address}`,
      credentials: credentials.createSsl(pki.read(pki.caFile), pki.read(pki.clientKeyFile), pki.read(pki.clientCertFile)),
    });
    expect((await exportWith(withCert, spans)).code).toBe(0);
    await withCert.shutdown();
    expect(r.pipeline.spans).toHaveLength(2);
  });
});

function metadataOf(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(entries)) metadata.set(k, v);
  return metadata;
}

function frame(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

interface RawOutcome {
  headers: Record<string, string | number | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
}

/** A call on `session` announcing a `declared`-byte message and sending only `sent` bytes of it; resolves when the server answers. */
function partialCall(session: ClientHttp2Session, declared: number, sent: number): Promise<RawOutcome> {
  const req = session.request({ ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  const outcome: RawOutcome = { headers: {}, trailers: {} };
  req.on('response', (h) => {
    outcome.headers = { ...h };
    outcome.trailers = { ...h } as RawOutcome['trailers'];
  });
  req.on('trailers', (t) => Object.assign(outcome.trailers, t));
  req.on('error', () => undefined);
  req.resume();
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declared, 1);
  req.write(Buffer.concat([prefix, Buffer.alloc(sent - 5)]));
  return new Promise((resolve) => req.on('close', () => (outcome.headers[':status'] !== undefined ? resolve(outcome) : undefined)));
}

/**
 * One call with a raw HTTP/2 client, to send what grpc-js never would (a partial body, odd
 * encodings). Trailers-only responses carry the status in the headers: both are merged.
 */
function rawCall(address: string, body: Buffer | undefined, headers: Record<string, string>, path = EXPORT_PATH, options: { keepOpen?: boolean } = {}): Promise<RawOutcome> {
  const session: ClientHttp2Session = connect(`http://${address}`);
  session.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers }, { endStream: false });
    const outcome: RawOutcome = { headers: {}, trailers: {} };
    req.on('response', (h) => {
      outcome.headers = { ...h };
      outcome.trailers = { ...h } as RawOutcome['trailers'];
    });
    req.on('trailers', (t) => Object.assign(outcome.trailers, t));
    req.on('data', () => undefined);
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      if (outcome.headers[':status'] === undefined) reject(new Error(`no response (rst ${req.rstCode})`));
      else resolve(outcome);
    });
    if (body) req.write(body);
    if (!options.keepOpen && body) req.end();
  });
}
