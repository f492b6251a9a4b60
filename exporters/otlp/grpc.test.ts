/**
 * The otlp exporter over OTLP/gRPC against a local grpc-js server on 127.0.0.1:0 that records
 * each call (grpc-js has already decompressed the message) and answers what the test chose.
 */
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { once } from 'node:events';
import { createServer as createHttp2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { encodeExportTraceResponse } from '../../collector/src/receivers/otlp/response.js';
import { encodeRpcStatus } from '../../collector/src/receivers/rpc-status.js';
import { hasOpenssl, makeTestPki, type TestPki } from './certs.testing.js';
import type { OtlpExporter } from './exporter.js';
import { captureLogs, payloadOf, sampleSpans, sendError, startedExporter } from './exporter.testing.js';
import { traceService } from '../../test/helpers/grpc.js';

interface Received {
  body: Buffer;
  metadata: Record<string, unknown>;
}

type Answer = { error: { code: number; details: string; metadata?: Metadata } } | { response: Uint8Array } | 'never';

class TestGrpcServer {
  received: Received[] = [];
  answer: Answer = { response: new Uint8Array(0) };
  private readonly server = new Server();
  address = '';

  constructor() {
    this.server.addService(traceService, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        this.received.push({ body: call.request, metadata: call.metadata.getMap() });
        const answer = this.answer;
        if (answer === 'never') return;
        if ('error' in answer) callback(answer.error);
        else callback(null, Buffer.from(answer.response));
      },
    });
  }

  async listen(credentials = ServerCredentials.createInsecure()): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  close(): void {
    this.server.forceShutdown();
  }
}

function statusDetails(code: number, message: string, retryAfterSeconds?: number): Metadata {
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', encodeRpcStatus(code, message, retryAfterSeconds));
  return metadata;
}

describe('otlp exporter, grpc', () => {
  const test = new TestGrpcServer();
  const exporters: OtlpExporter[] = [];
  const exporter = async (config: Record<string, unknown> = {}, logger?: ReturnType<typeof captureLogs>['logger']) => {
    const e = await startedExporter({ protocol: 'grpc', endpoint: `http://${test.address}`, ...config }, logger);
    exporters.push(e);
    return e;
  };

  beforeAll(async () => {
    await test.listen();
  });
  afterEach(async () => {
    test.received = [];
    test.answer = { response: new Uint8Array(0) };
    await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  });
  afterAll(() => test.close());

  it('calls TraceService/Export with the configured headers as metadata', async () => {
    const spans = sampleSpans(3);
    const e = await exporter({ headers: { 'X-Api-Key': 'secret', authorization: 'Bearer t0k3n' } });
    await e.send(payloadOf(spans), 3, 'b1');
    expect(test.received).toHaveLength(1);
    const [r] = test.received;
    expect(r.metadata).toMatchObject({ 'x-api-key': 'secret', authorization: 'Bearer t0k3n' });
    expect(String(r.metadata['user-agent'])).toMatch(/^FlowTrace-OTLP-Exporter grpc-node-js/);
    expect(decodeTraceRequest(r.body).spans).toStrictEqual(spans);
  });

  it('sends concatenated records as one call', async () => {
    const first = sampleSpans(2, 'aa');
    const second = sampleSpans(1, 'bb');
    const e = await exporter({ compression: 'none' });
    await e.send(payloadOf(first, second), 3, 'b2');
    expect(decodeTraceRequest(test.received[0].body).spans).toStrictEqual([...first, ...second]);
  });

  it('compresses the message with gzip on the wire, or not with compression: none (seen by a raw HTTP/2 server)', async () => {
    const wire: Array<{ headers: IncomingHttpHeaders; frame: Buffer }> = [];
    const h2 = createHttp2Server();
    h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        wire.push({ headers, frame: Buffer.concat(chunks) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0])); // an empty ExportTraceServiceResponse
      });
    });
    h2.listen(0, '127.0.0.1');
    await once(h2, 'listening');
    const endpoint = `http://127.0.0.1:${(h2.address() as AddressInfo).port}`;
    try {
      const spans = sampleSpans(20);
      for (const compression of ['gzip', 'none']) await (await exporter({ endpoint, compression })).send(payloadOf(spans), 20, 'b');
      const [gzipped, plain] = wire;
      expect(gzipped.headers).toMatchObject({ ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', 'grpc-encoding': 'gzip' });
      expect(gzipped.frame[0]).toBe(1); // the message's compressed flag
      expect(decodeTraceRequest(gunzipSync(gzipped.frame.subarray(5))).spans).toStrictEqual(spans);
      expect(plain.headers['grpc-encoding']).toBeUndefined();
      expect(plain.frame[0]).toBe(0);
      expect(decodeTraceRequest(plain.frame.subarray(5)).spans).toStrictEqual(spans);
    } finally {
      h2.close();
    }
  });

  it('logs a partial success as a warning and does not fail', async () => {
    const logs = captureLogs();
    test.answer = { response: encodeExportTraceResponse(1, 'span 1: bad') };
    const e = await exporter({}, logs.logger);
    await e.send(payloadOf(sampleSpans(2)), 2, 'batch-9');
    expect(logs.records.filter((r) => r.level === 40)).toMatchObject([{ exporter: 'otlp/test', batchId: 'batch-9', rejectedSpans: 1, reason: 'span 1: bad' }]);
  });

  it('retries the codes the OTLP spec calls retryable, with the RetryInfo delay', async () => {
    const e = await exporter();
    for (const code of [status.CANCELLED, status.DEADLINE_EXCEEDED, status.ABORTED, status.OUT_OF_RANGE, status.UNAVAILABLE, status.DATA_LOSS]) {
      test.answer = { error: { code, details: 'try later' } };
      const err = await sendError(e);
      expect(err, status[code]).toMatchObject({ retryable: true, message: `gRPC ${status[code]}: try later` });
      expect(err.retryAfterMs).toBeUndefined();
    }
    test.answer = { error: { code: status.UNAVAILABLE, details: 'restarting', metadata: statusDetails(status.UNAVAILABLE, 'restarting', 4) } };
    expect(await sendError(e)).toMatchObject({ retryable: true, retryAfterMs: 4000 });
  });

  it('retries RESOURCE_EXHAUSTED only when the server says when (RetryInfo)', async () => {
    const e = await exporter();
    test.answer = { error: { code: status.RESOURCE_EXHAUSTED, details: 'queue full', metadata: statusDetails(status.RESOURCE_EXHAUSTED, 'queue full', 3) } };
    expect(await sendError(e)).toMatchObject({ retryable: true, retryAfterMs: 3000, message: 'gRPC RESOURCE_EXHAUSTED: queue full' });
    test.answer = { error: { code: status.RESOURCE_EXHAUSTED, details: 'message too large' } };
    const tooLarge = await sendError(e);
    expect(tooLarge).toMatchObject({ retryable: false });
    expect(tooLarge.retryAfterMs).toBeUndefined();
  });

  it('gives up on every other code', async () => {
    const e = await exporter();
    for (const code of [
      status.UNKNOWN,
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.ALREADY_EXISTS,
      status.PERMISSION_DENIED,
      status.FAILED_PRECONDITION,
      status.UNIMPLEMENTED,
      status.INTERNAL,
      status.UNAUTHENTICATED,
    ]) {
      test.answer = { error: { code, details: 'refused' } };
      const err = await sendError(e);
      expect(err, status[code]).toMatchObject({ retryable: false, message: `gRPC ${status[code]}: refused` });
    }
  });

  it('retries when the backend is unreachable or does not answer before the deadline', async () => {
    const unreachable = await exporter({ endpoint: 'http://127.0.0.1:1' });
    expect(await sendError(unreachable)).toMatchObject({ retryable: true, message: expect.stringMatching(/^gRPC UNAVAILABLE/) });

    test.answer = 'never';
    const slow = await exporter({ timeout_ms: 200 });
    expect(await sendError(slow)).toMatchObject({ retryable: true, message: expect.stringMatching(/^gRPC DEADLINE_EXCEEDED/) });
  });
});

describe.skipIf(!hasOpenssl())('otlp exporter, grpc over TLS (certificates made with openssl)', () => {
  let pki: TestPki;
  const test = new TestGrpcServer();
  const mutual = new TestGrpcServer();
  const exporters: OtlpExporter[] = [];
  const exporter = async (server: TestGrpcServer, tls: Record<string, unknown>, host = '127.0.0.1') => {
    const e = await startedExporter({ protocol: 'grpc', endpoint: `https://${server.address.replace('127.0.0.1', host)}`, tls });
    exporters.push(e);
    return e;
  };

  beforeAll(async () => {
    pki = makeTestPki();
    const keyPair = [{ cert_chain: pki.read(pki.serverCertFile), private_key: pki.read(pki.serverKeyFile) }];
    await test.listen(ServerCredentials.createSsl(null, keyPair, false));
    await mutual.listen(ServerCredentials.createSsl(pki.read(pki.caFile), keyPair, true));
  });
  afterEach(async () => {
    await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  });
  afterAll(() => {
    test.close();
    mutual.close();
    pki?.remove();
  });

  it('verifies the server with ca_file (by IP and by host name)', async () => {
    await (await exporter(test, { ca_file: pki.caFile })).send(payloadOf(sampleSpans(2)), 2, 'b');
    await (await exporter(test, { ca_file: pki.caFile }, 'localhost')).send(payloadOf(sampleSpans(1)), 1, 'b');
    expect(test.received.map((r) => decodeTraceRequest(r.body).spans.length)).toEqual([2, 1]);
  });

  it('refuses a server its CA did not sign (retryable), unless told to skip verification', async () => {
    expect(await sendError(await exporter(test, { ca_file: pki.otherCaFile }))).toMatchObject({ retryable: true, message: expect.stringMatching(/^gRPC UNAVAILABLE/) });
    await (await exporter(test, { insecure_skip_verify: true })).send(payloadOf(sampleSpans(1)), 1, 'b');
  });

  it('presents the client certificate for mutual TLS', async () => {
    await (await exporter(mutual, { ca_file: pki.caFile, cert_file: pki.clientCertFile, key_file: pki.clientKeyFile })).send(payloadOf(sampleSpans(1)), 1, 'b');
    expect(mutual.received).toHaveLength(1);
    expect(await sendError(await exporter(mutual, { ca_file: pki.caFile }))).toMatchObject({ retryable: true });
  });
});
