/**
 * Transport security against the real collector (child process, embedded engine): TLS and
 * mTLS on the three ports with certificate rotation, connection limits against slow bodies
 * and thousands of idle connections, CORS preflight, and a bad certificate path at start.
 * Every test that sends data ends by checking that every span acknowledged was stored.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { credentials } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeTestPki, type TestPki } from '../../exporters/otlp/certs.testing.js';
import { cleanup, FLOWTRACE_BIN, newTempDir, sql, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { grpcExport } from '../helpers/grpc.js';
import { protobufRequest, sdkSpans } from '../helpers/spans.js';

afterAll(cleanup);

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const hostPort = (url: string) => {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
};

function exportWith(exporter: OTLPTraceExporter, spans: ReadableSpan[]): Promise<number> {
  return new Promise((resolve) => exporter.export(spans, (result) => resolve(result.code)));
}

interface HttpsAnswer {
  status?: number;
  body?: string;
  error?: Error;
}

function httpsCall(url: string, options: RequestOptions, body?: Buffer | string): Promise<HttpsAnswer> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { agent: false, ...options }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', (error) => resolve({ error }));
    req.end(body);
  });
}

async function storedCount(count: () => Promise<number>, expected: number): Promise<number> {
  return waitFor(async () => {
    const n = await count();
    return n >= expected ? n : undefined;
  }, `${expected} spans stored`);
}

describe.skipIf(!hasOpenssl())('TLS and mTLS on the OTLP and API ports', () => {
  let pki: TestPki;
  let rotated: TestPki;
  let collector: RunningCollector;
  let certFile: string;
  let keyFile: string;
  let api: string;
  let acknowledged = 0;

  beforeAll(async () => {
    pki = makeTestPki();
    rotated = makeTestPki();
    // Copies, so that the rotation test can replace them.
    const dir = newTempDir('ft-tls-');
    certFile = join(dir, 'server.crt');
    keyFile = join(dir, 'server.key');
    copyFileSync(pki.serverCertFile, certFile);
    copyFileSync(pki.serverKeyFile, keyFile);
    const tls = (clientCa = '') => `{ cert_file: ${JSON.stringify(certFile)}, key_file: ${JSON.stringify(keyFile)}, client_ca_file: ${JSON.stringify(clientCa)} }`;
    collector = await startCollector({
      config: [
        'receivers:',
        '  otlp:',
        `    grpc: { tls: ${tls()} }`,
        `    http: { tls: ${tls(pki.caFile)} }`,
        `api: { tls: ${tls()} }`,
        'pipeline: { queue: { batch: { timeout_ms: 200 } } }',
      ].join('\n'),
    });
    api = collector.apiUrl.replace('http://', 'https://');
  });
  afterAll(async () => {
    await collector?.stop();
    pki?.remove();
    rotated?.remove();
  });

  const apiTls = () => ({ ca: [pki.read(pki.caFile), rotated.read(rotated.caFile)] });
  const countOf = async (service: string) => {
    const answer = await httpsCall(`${api}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...apiTls() }, JSON.stringify({ query: `SELECT count() AS n FROM otel_traces WHERE ServiceName = '${service}'` }));
    if (answer.status !== 200) throw new Error(`SQL answered ${answer.status}: ${answer.body}`);
    return Number((JSON.parse(answer.body!) as { rows: Array<{ n: string }> }).rows[0].n);
  };

  it('serves the official OpenTelemetry gRPC exporter over TLS, with and without gzip, and stores what it acknowledged', async () => {
    const grpcUrl = collector.grpcEndpoint.replace('http://', 'https://');
    for (const compression of [CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP]) {
      const exporter = new OTLPTraceExporter({ url: grpcUrl, compression, credentials: credentials.createSsl(pki.read(pki.caFile)) });
      expect(await exportWith(exporter, (await sdkSpans(4, 'tls-grpc')).spans)).toBe(0);
      await exporter.shutdown();
      acknowledged += 4;
    }
    // Plain text to a TLS port gets nothing.
    expect((await grpcExport(collector.grpcEndpoint, protobufRequest((await sdkSpans(1, 'tls-grpc')).spans))).error).toBeDefined();
    expect(await storedCount(() => countOf('tls-grpc'), 8)).toBe(8);
  });

  it('OTLP/HTTP with a client CA refuses a client without a certificate and accepts one with it', async () => {
    const url = `${collector.httpEndpoint.replace('http://', 'https://')}/v1/traces`;
    const body = protobufRequest((await sdkSpans(3, 'tls-http')).spans);
    const anonymous = await httpsCall(url, { method: 'POST', headers: PROTOBUF, ca: pki.read(pki.caFile) }, body);
    expect(anonymous.status).toBeUndefined();
    expect(anonymous.error).toBeDefined();
    const withCert = await httpsCall(url, { method: 'POST', headers: PROTOBUF, ca: pki.read(pki.caFile), cert: pki.read(pki.clientCertFile), key: pki.read(pki.clientKeyFile) }, body);
    expect(withCert.status).toBe(200);
    expect(await storedCount(() => countOf('tls-http'), 3)).toBe(3);
  });

  it('the API answers over TLS only', async () => {
    expect((await httpsCall(`${api}/healthz`, apiTls())).status).toBe(200);
    await expect(fetch(`${collector.apiUrl}/healthz`)).rejects.toThrow();
  });

  it('picks up a rotated certificate without a restart, on every port', async () => {
    const fingerprint = (url: string, alpn?: string[]) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          { ...hostPort(url), rejectUnauthorized: false, ALPNProtocols: alpn, cert: pki.read(pki.clientCertFile), key: pki.read(pki.clientKeyFile) },
          () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.destroy();
          },
        );
        socket.on('error', reject);
      });
    const ports = [collector.apiUrl, collector.httpEndpoint, collector.grpcEndpoint];
    const before = await Promise.all(ports.map((p, i) => fingerprint(p, i === 2 ? ['h2'] : undefined)));
    expect(new Set(before).size).toBe(1);
    copyFileSync(rotated.serverCertFile, certFile);
    copyFileSync(rotated.serverKeyFile, keyFile);
    for (const [i, port] of ports.entries()) {
      await waitFor(async () => ((await fingerprint(port, i === 2 ? ['h2'] : undefined)) !== before[0] ? true : undefined), `rotated certificate on ${port}`, 20_000);
    }
    // Clients trusting the new CA connect; data still flows and is stored.
    const exporter = new OTLPTraceExporter({ url: collector.grpcEndpoint.replace('http://', 'https://'), credentials: credentials.createSsl(rotated.read(rotated.caFile)) });
    expect(await exportWith(exporter, (await sdkSpans(2, 'tls-rotated')).spans)).toBe(0);
    await exporter.shutdown();
    expect(await storedCount(() => countOf('tls-rotated'), 2)).toBe(2);
  });
});

describe('connection limits, slow bodies, idle connections and CORS', () => {
  let collector: RunningCollector;
  const CAP = 500;

  beforeAll(async () => {
    const limits = `{ max_connections: ${CAP}, headers_timeout_seconds: 3, request_timeout_seconds: 3, idle_timeout_seconds: 5 }`;
    collector = await startCollector({
      config: [
        'receivers:',
        '  otlp:',
        `    grpc: { limits: ${limits}, max_recv_msg_size_mib: 4 }`,
        `    http: { limits: ${limits}, max_request_body_size_mib: 4, cors: { allowed_origins: ["https://app.example"] } }`,
        '    max_in_flight_mib: 4',
        'pipeline: { queue: { batch: { timeout_ms: 200 } } }',
      ].join('\n'),
    });
  });
  afterAll(async () => {
    await collector?.stop();
  });

  const countOf = async (service: string) =>
    Number((await sql<{ n: string }>(collector.apiUrl, `SELECT count() AS n FROM otel_traces WHERE ServiceName = '${service}'`))[0].n);
  const post = async (service: string, count: number) => {
    const res = await fetch(`${collector.httpEndpoint}/v1/traces`, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(protobufRequest((await sdkSpans(count, service)).spans)) });
    return res.status;
  };

  it('cuts slow bodies (slowloris) on OTLP/HTTP and OTLP/gRPC while normal requests succeed and /healthz answers', async () => {
    const body = protobufRequest((await sdkSpans(5, 'slow')).spans);
    // OTLP/HTTP: the head and 10 bytes of a body announced whole, then nothing.
    const slowHttp: Socket[] = [];
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = tcpConnect(hostPort(collector.httpEndpoint));
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('close', () => answers.push(answer));
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, 10));
      slowHttp.push(socket);
    }
    // OTLP/gRPC: a call whose message never completes.
    const session = http2Connect(collector.grpcEndpoint);
    session.on('error', () => undefined);
    const slowGrpc = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' });
    slowGrpc.on('error', () => undefined);
    const grpcStatus = new Promise<string | undefined>((resolve) => {
      let status: string | undefined;
      slowGrpc.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
      slowGrpc.on('trailers', (t) => (status = String(t['grpc-status'])));
      slowGrpc.on('close', () => resolve(status));
      slowGrpc.resume();
    });
    slowGrpc.write(Buffer.concat([Buffer.from([0, 0, 0, 0x10, 0]), Buffer.alloc(10)]));

    expect(await post('slow', 5)).toBe(200);
    expect((await grpcExport(collector.grpcEndpoint, body)).response).toBeDefined();
    expect((await fetch(`${collector.apiUrl}/healthz`)).status).toBe(200);

    expect(await grpcStatus).toBe('4'); // DEADLINE_EXCEEDED
    session.close();
    await waitFor(async () => (answers.length === slowHttp.length ? true : undefined), 'every slow OTLP/HTTP request cut', 20_000);
    expect(answers.every((a) => a.startsWith('HTTP/1.1 408'))).toBe(true);
    expect(await storedCount(() => countOf('slow'), 10)).toBe(10);
  });

  it('3,000 idle connections to a port: beyond the cap refused at once and counted, the other ports serve, memory stays bounded, the port recovers', async () => {
    const rssOf = async () => {
      const text = await (await fetch(`${collector.apiUrl}/metrics`)).text();
      return Number(/^flowtrace_process_resident_memory_bytes (\S+)/m.exec(text)![1]);
    };
    const rssBefore = await rssOf();
    const sockets: Socket[] = [];
    let closedEarly = 0;
    await Promise.all(
      Array.from({ length: 3000 }, () =>
        new Promise<void>((resolve) => {
          const socket = tcpConnect(hostPort(collector.httpEndpoint));
          socket.on('error', () => undefined);
          socket.on('close', () => closedEarly++);
          socket.on('connect', () => resolve());
          socket.on('close', () => resolve());
          socket.resume();
          sockets.push(socket);
        }),
      ),
    );
    const metric = async () => {
      const text = await (await fetch(`${collector.apiUrl}/metrics`)).text();
      return Number(/^flowtrace_server_connections_refused_total\{port="otlp-http"\} (\S+)/m.exec(text)?.[1] ?? 0);
    };
    const refused = await waitFor(async () => ((await metric()) >= 3000 - CAP ? metric() : undefined), 'refused connections counted');
    expect(refused).toBeGreaterThanOrEqual(3000 - CAP);
    expect(closedEarly).toBeGreaterThanOrEqual(3000 - CAP);

    // The other ports are unaffected.
    expect((await fetch(`${collector.apiUrl}/healthz`)).status).toBe(200);
    expect((await grpcExport(collector.grpcEndpoint, protobufRequest((await sdkSpans(3, 'idle-flood')).spans))).response).toBeDefined();
    expect((await rssOf()) - rssBefore).toBeLessThan(200 * 1024 * 1024);

    // The held connections send nothing: the headers timeout frees the port.
    await waitFor(async () => ((await post('idle-flood', 2).catch(() => 0)) === 200 ? true : undefined), 'OTLP/HTTP serving again', 30_000);
    sockets.forEach((s) => s.destroy());
    expect(await storedCount(() => countOf('idle-flood'), 5)).toBe(5);
  });

  it('answers the CORS preflight for an allowed origin and gives other origins no CORS headers', async () => {
    const preflight = (origin: string) =>
      fetch(`${collector.httpEndpoint}/v1/traces`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
    const allowed = await preflight('https://app.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const res = await fetch(`${collector.httpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { ...PROTOBUF, origin: 'https://app.example' },
      body: new Uint8Array(protobufRequest((await sdkSpans(2, 'cors')).spans)),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(await storedCount(() => countOf('cors'), 2)).toBe(2);
  });

  it('holds at most max_in_flight_mib of request bytes: large partial messages on gRPC streams and HTTP bodies are refused retryably, and everything acknowledged is stored', async () => {
    const metric = async (name: string) => {
      const text = await (await fetch(`${collector.apiUrl}/metrics`)).text();
      return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const refusedBefore = await metric('flowtrace_receiver_in_flight_refused_total');
    // Messages and bodies announced at 3.5 MiB (within the 4 MiB request limits) of which 1.5 MiB
    // arrive: two fit in the 4 MiB budget.
    const PART = 1536 * 1024;
    const answers: string[] = [];
    const session = http2Connect(collector.grpcEndpoint);
    session.on('error', () => undefined);
    for (let i = 0; i < 6; i++) {
      const call = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
      call.on('error', () => undefined);
      let status = '';
      call.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
      call.on('trailers', (t) => (status = String(t['grpc-status'])));
      call.on('close', () => status && answers.push(`grpc ${status}`));
      call.resume();
      const prefix = Buffer.from([0, 0, 0x38, 0, 0]); // 3.5 MiB
      call.write(Buffer.concat([prefix, Buffer.alloc(PART - prefix.length)]));
    }
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = tcpConnect(hostPort(collector.httpEndpoint));
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (d: Buffer) => {
        if (!answer) answers.push(`http ${d.toString('latin1').slice(9, 12)}`);
        answer += d.toString('latin1');
      });
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${3.5 * 1024 * 1024}\r\n\r\n`);
      socket.write(Buffer.alloc(PART));
      sockets.push(socket);
    }
    // Nine requests, at most two held: at least seven refused, as backpressure.
    await waitFor(async () => (answers.filter((a) => a === 'grpc 8' || a === 'http 429').length >= 7 ? true : undefined), 'seven requests refused', 20_000);
    // Any other answer is the request timeout cutting a request that fitted.
    expect(answers.every((a) => ['grpc 8', 'http 429', 'grpc 4', 'http 408'].includes(a))).toBe(true);
    expect((await metric('flowtrace_receiver_in_flight_refused_total')) - refusedBefore).toBeGreaterThanOrEqual(7);
    expect(await metric('flowtrace_receiver_in_flight_bytes')).toBeLessThanOrEqual(4 * 1024 * 1024);

    // Small exports still fit beside what is held; each one acknowledged must be stored.
    let acknowledged = 0;
    if ((await grpcExport(collector.grpcEndpoint, protobufRequest((await sdkSpans(3, 'in-flight')).spans))).response) acknowledged += 3;
    if ((await post('in-flight', 2)) === 200) acknowledged += 2;
    expect(acknowledged).toBeGreaterThan(0);

    // The clients go away: every byte is released and both receivers serve again.
    session.destroy();
    sockets.forEach((s) => s.destroy());
    await waitFor(async () => ((await metric('flowtrace_receiver_in_flight_bytes')) === 0 ? true : undefined), 'in-flight bytes released', 20_000);
    expect((await grpcExport(collector.grpcEndpoint, protobufRequest((await sdkSpans(4, 'in-flight')).spans))).response).toBeDefined();
    expect(await post('in-flight', 1)).toBe(200);
    acknowledged += 5;
    expect(await storedCount(() => countOf('in-flight'), acknowledged)).toBe(acknowledged);
  });
});

describe('certificate settings at start', () => {
  it('a certificate file that cannot be read is a configuration error (exit 2) naming the setting', () => {
    const dir = newTempDir('ft-badtls-');
    const config = join(dir, 'flowtrace.yaml');
    writeFileSync(config, 'receivers:\n  otlp:\n    grpc:\n      tls: { cert_file: /nonexistent/server.crt, key_file: /nonexistent/server.key }\n');
    const run = spawnSync(
      process.execPath,
      [FLOWTRACE_BIN, 'serve', '--config', config, '--data', join(dir, 'data'), '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/configuration error: receivers\.otlp\.grpc\.tls\.cert_file: cannot read \/nonexistent\/server\.crt: ENOENT/);
  });
});
