/**
 * The otlp exporter over OTLP/HTTP against a local node:http(s) server on 127.0.0.1:0 that
 * records each request and answers what the test chose.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { encodeExportTraceResponse } from '../../collector/src/receivers/otlp/response.js';
import { encodeRpcStatus } from '../../collector/src/receivers/rpc-status.js';
import { hasOpenssl, makeTestPki, type TestPki } from './certs.testing.js';
import type { OtlpExporter } from './exporter.js';
import { captureLogs, payloadOf, sampleSpans, sendError, startedExporter } from './exporter.testing.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  clientCertCn?: string;
}

type Responder = (req: Received, res: ServerResponse) => void;

const ok: Responder = (_req, res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();

class TestServer {
  received: Received[] = [];
  respond: Responder = ok;
  constructor(readonly server: Server) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerCertificate?.();
        const received: Received = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
        if (peer?.subject) received.clientCertCn = String(peer.subject.CN);
        this.received.push(received);
        this.respond(received, res);
      });
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The request body as the exporter meant it (gunzipped when it said gzip). */
  static payload(r: Received): Buffer {
    return r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('otlp exporter, http/protobuf', () => {
  const test = new TestServer(createHttpServer());
  let address = '';
  const exporters: OtlpExporter[] = [];
  const exporter = async (config: Record<string, unknown> = {}, logger?: ReturnType<typeof captureLogs>['logger']) => {
    const e = await startedExporter({ protocol: 'http/protobuf', endpoint: `http://${address}`, ...config }, logger);
    exporters.push(e);
    return e;
  };

  beforeAll(async () => {
    address = await test.listen();
  });
  afterEach(async () => {
    test.received = [];
    test.respond = ok;
    await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  });
  afterAll(() => test.close());

  it('POSTs gzip-compressed protobuf to /v1/traces with the configured headers', async () => {
    const spans = sampleSpans(3);
    const e = await exporter({ headers: { 'X-Api-Key': 'secret', Authorization: 'Bearer t0k3n' } });
    await e.send(payloadOf(spans), 3, 'b1');
    expect(test.received).toHaveLength(1);
    const [r] = test.received;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/v1/traces');
    expect(r.headers).toMatchObject({
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      'x-api-key': 'secret',
      authorization: 'Bearer t0k3n',
      'user-agent': 'FlowTrace-OTLP-Exporter',
    });
    expect(r.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip magic
    expect(decodeTraceRequest(TestServer.payload(r)).spans).toStrictEqual(spans);
  });

  it('sends uncompressed with compression: none, and concatenated records as one request', async () => {
    const first = sampleSpans(2, 'aa');
    const second = sampleSpans(1, 'bb');
    const e = await exporter({ compression: 'none', endpoint: `http://${address}/custom/` });
    await e.send(payloadOf(first, second), 3, 'b2');
    const [r] = test.received;
    expect(r.url).toBe('/custom/v1/traces');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(decodeTraceRequest(r.body).spans).toStrictEqual([...first, ...second]);
  });

  it('logs a partial success as a warning and does not fail (the rejected spans are not retryable)', async () => {
    const logs = captureLogs();
    test.respond = (_req, res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeExportTraceResponse(2, 'span 0: name too long'));
    const e = await exporter({}, logs.logger);
    await e.send(payloadOf(sampleSpans(3)), 3, 'batch-7');
    const warnings = logs.records.filter((r) => r.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ exporter: 'otlp/test', batchId: 'batch-7', spanCount: 3, rejectedSpans: 2, reason: 'span 0: name too long' });
    expect(logs.records.filter((r) => (r.level as number) >= 50)).toHaveLength(0);
  });

  it('reads a gzip-compressed response', async () => {
    const logs = captureLogs();
    test.respond = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }).end(gzipSync(encodeExportTraceResponse(1, 'dup')));
    const e = await exporter({}, logs.logger);
    await e.send(payloadOf(sampleSpans(1)), 1, 'b');
    expect(logs.records.find((r) => r.level === 40)).toMatchObject({ rejectedSpans: 1, reason: 'dup' });
  });

  it('retries 429, 502, 503 and 504, honouring Retry-After in seconds or as a date', async () => {
    const e = await exporter();
    const cases: Array<[number, Record<string, string>, number | undefined]> = [
      [429, { 'retry-after': '7' }, 7000],
      [502, {}, undefined],
      [503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() }, 30_000],
      [504, { 'retry-after': 'soon' }, undefined],
    ];
    for (const [status, headers, retryAfterMs] of cases) {
      test.respond = (_req, res) => res.writeHead(status, headers).end();
      const err = await sendError(e);
      expect(err.retryable, `HTTP ${status}`).toBe(true);
      if (retryAfterMs === undefined) expect(err.retryAfterMs).toBeUndefined();
      else expect(err.retryAfterMs).toBeGreaterThanOrEqual(retryAfterMs - 2000);
      if (retryAfterMs !== undefined) expect(err.retryAfterMs).toBeLessThanOrEqual(retryAfterMs);
      expect(err.message).toMatch(new RegExp(`^HTTP ${status} `));
    }
  });

  it('gives up on every other status, with the message from a google.rpc.Status body', async () => {
    const e = await exporter();
    test.respond = (_req, res) => res.writeHead(400, { 'content-type': 'application/x-protobuf' }).end(encodeRpcStatus(3, 'span 2: trace_id is missing'));
    const bad = await sendError(e);
    expect(bad).toMatchObject({ retryable: false, message: 'HTTP 400 Bad Request: span 2: trace_id is missing' });
    expect(bad.retryAfterMs).toBeUndefined();

    test.respond = (_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 16, message: 'invalid API key' }));
    expect(await sendError(e)).toMatchObject({ retryable: false, message: 'HTTP 401 Unauthorized: invalid API key' });

    for (const status of [403, 404, 408, 413, 500, 501]) {
      test.respond = (_req, res) => res.writeHead(status, { 'content-type': 'text/plain', 'retry-after': '5' }).end('nope');
      const err = await sendError(e);
      expect(err.retryable, `HTTP ${status}`).toBe(false);
      expect(err.retryAfterMs).toBeUndefined();
      expect(err.message).toMatch(/: nope$/);
    }
  });

  it('retries when the backend is unreachable or does not answer in time', async () => {
    const unreachable = await exporter({ endpoint: 'http://127.0.0.1:1' });
    const refused = await sendError(unreachable);
    expect(refused).toMatchObject({ retryable: true });
    expect(refused.message).toMatch(/^ECONNREFUSED/);

    test.respond = () => {}; // never answers
    const slow = await exporter({ timeout_ms: 200 });
    expect(await sendError(slow)).toMatchObject({ retryable: true, message: 'no response within 200 ms' });
  });
});

describe.skipIf(!hasOpenssl())('otlp exporter, http/protobuf over TLS (certificates made with openssl)', () => {
  let pki: TestPki;
  let test: TestServer;
  let mutual: TestServer;
  let address = '';
  let mutualAddress = '';
  const exporters: OtlpExporter[] = [];
  const exporter = async (endpointAddress: string, tls: Record<string, unknown>) => {
    const e = await startedExporter({ protocol: 'http/protobuf', endpoint: `https://${endpointAddress}`, tls });
    exporters.push(e);
    return e;
  };

  beforeAll(async () => {
    pki = makeTestPki();
    const serverTls = { cert: pki.read(pki.serverCertFile), key: pki.read(pki.serverKeyFile) };
    test = new TestServer(createHttpsServer(serverTls));
    mutual = new TestServer(createHttpsServer({ ...serverTls, ca: pki.read(pki.caFile), requestCert: true, rejectUnauthorized: true }));
    address = await test.listen();
    mutualAddress = await mutual.listen();
  });
  afterEach(async () => {
    await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  });
  afterAll(async () => {
    await test?.close();
    await mutual?.close();
    pki?.remove();
  });

  it('verifies the server with ca_file', async () => {
    const e = await exporter(address, { ca_file: pki.caFile });
    await e.send(payloadOf(sampleSpans(2)), 2, 'b');
    expect(decodeTraceRequest(TestServer.payload(test.received.at(-1)!)).spans).toHaveLength(2);
  });

  it('refuses a server its CA did not sign (retryable: the certificate may be fixed), unless told to skip verification', async () => {
    const untrusted = await sendError(await exporter(address, { ca_file: pki.otherCaFile }));
    expect(untrusted.retryable).toBe(true);
    expect(untrusted.message).toMatch(/certificate/i);
    const systemRoots = await sendError(await exporter(address, {}));
    expect(systemRoots.message).toMatch(/certificate/i);
    await (await exporter(address, { insecure_skip_verify: true })).send(payloadOf(sampleSpans(1)), 1, 'b');
  });

  it('presents the client certificate for mutual TLS', async () => {
    const e = await exporter(mutualAddress, { ca_file: pki.caFile, cert_file: pki.clientCertFile, key_file: pki.clientKeyFile });
    await e.send(payloadOf(sampleSpans(1)), 1, 'b');
    expect(mutual.received.at(-1)!.clientCertCn).toBe('client');
    const without = await sendError(await exporter(mutualAddress, { ca_file: pki.caFile }));
    expect(without.retryable).toBe(true);
  });
});
