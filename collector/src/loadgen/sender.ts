/**
 * Sends generated requests to a collector's OTLP receiver from several concurrent clients
 * until a time or span count is reached, and counts what the collector accepted. OTLP/HTTP
 * (protobuf, keep-alive node:http/https rather than fetch: the generator usually shares the
 * machine with the collector) or OTLP/gRPC (grpc-js unary calls with the body passed through).
 * A refusal for load (HTTP 429/503, gRPC RESOURCE_EXHAUSTED/UNAVAILABLE) is counted and retried
 * after a pause, as exporters do; any other refusal stops the run with its reason.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Client, credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { LoadGenerator } from './generator.js';

export interface OtlpEndpoint {
  protocol: 'http' | 'grpc';
  /** `http(s)://host:port` for HTTP; `host:port` for gRPC. */
  address: string;
  tls: boolean;
}

/** Parses `http(s)://host[:port][/]` (OTLP/HTTP) or `grpc(s)://host[:port]` (OTLP/gRPC). */
export function parseEndpoint(text: string): OtlpEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`expected a URL such as http://127.0.0.1:4318 or grpc://127.0.0.1:4317, got ${JSON.stringify(text)}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!['http', 'https', 'grpc', 'grpcs'].includes(scheme)) {
    throw new Error(`${JSON.stringify(text)}: the scheme must be http, https (OTLP/HTTP) or grpc, grpcs (OTLP/gRPC)`);
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`${JSON.stringify(text)}: give only scheme, host and port (the OTLP path /v1/traces is added for HTTP)`);
  }
  switch (scheme) {
    case 'http':
    case 'https':
      return { protocol: 'http', address: `${scheme}://${url.host}`, tls: scheme === 'https' };
    default:
      return { protocol: 'grpc', address: url.port ? url.host : `${url.host}:4317`, tls: scheme === 'grpcs' };
  }
}

export interface LoadOptions {
  endpoint: OtlpEndpoint;
  clients: number;
  /** Stop after this long, or once this many spans were accepted (the last requests finish their traces). */
  stop: { seconds: number } | { spans: number };
  /** Sent as `authorization: Bearer …` when the receiver requires an ingest token. */
  token?: string;
  /** One generator per client: a request's bytes belong to its client until sent. */
  generators: LoadGenerator[];
  /** Called about once a second with the counts so far. */
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  acceptedSpans: number;
  refusedSpans: number;
  seconds: number;
}

export interface LoadResult extends LoadProgress {
  requests: number;
  acceptedTraces: number;
  /** Spans the receiver took but reported as rejected (OTLP partial success). */
  rejectedSpans: number;
  /** Time spent making request bytes, summed over clients. */
  generatorMs: number;
  generatedSpans: number;
  /** Export call latencies in milliseconds, sorted. */
  latenciesMs: number[];
}

/** Why a run stopped early: the collector refused a request for a reason other than load. */
export class LoadError extends Error {
  override name = 'LoadError';
}

type Outcome = { kind: 'accepted'; rejected: number } | { kind: 'busy' } | { kind: 'failed'; reason: string };

type Sender = { send(body: Buffer): Promise<Outcome>; close(): void };

const BUSY_PAUSE_MS = 100;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const deadline = 'seconds' in options.stop ? started + options.stop.seconds * 1000 : Infinity;
  const spanTarget = 'spans' in options.stop ? options.stop.spans : Infinity;
  const result: LoadResult = { acceptedSpans: 0, refusedSpans: 0, seconds: 0, requests: 0, acceptedTraces: 0, rejectedSpans: 0, generatorMs: 0, generatedSpans: 0, latenciesMs: [] };
  // Spans claimed by requests in flight: a client sends only while claimed + accepted < target.
  let claimed = 0;
  let failure: string | undefined;
  const progress = options.onProgress && setInterval(() => options.onProgress!({ ...result, seconds: (performance.now() - started) / 1000 }), 1000);

  const client = async (generator: LoadGenerator) => {
    const sender = options.endpoint.protocol === 'http' ? httpSender(options.endpoint, options.token) : grpcSender(options.endpoint, options.token);
    try {
      while (failure === undefined && performance.now() < deadline && result.acceptedSpans + claimed < spanTarget) {
        const t0 = performance.now();
        const request = generator.next();
        const t1 = performance.now();
        result.generatorMs += t1 - t0;
        result.generatedSpans += request.spans;
        claimed += request.spans;
        const outcome = await sender.send(request.bytes).catch((err: Error): Outcome => ({ kind: 'failed', reason: err.message }));
        claimed -= request.spans;
        result.latenciesMs.push(performance.now() - t1);
        result.requests++;
        if (outcome.kind === 'accepted') {
          result.acceptedSpans += request.spans - outcome.rejected;
          result.rejectedSpans += outcome.rejected;
          result.acceptedTraces += request.traces;
        } else if (outcome.kind === 'busy') {
          result.refusedSpans += request.spans;
          await new Promise((r) => setTimeout(r, BUSY_PAUSE_MS));
        } else failure ??= outcome.reason;
      }
    } finally {
      sender.close();
    }
  };
  try {
    await Promise.all(options.generators.slice(0, options.clients).map(client));
  } finally {
    if (progress) clearInterval(progress);
  }
  result.seconds = (performance.now() - started) / 1000;
  result.latenciesMs.sort((a, b) => a - b);
  if (failure !== undefined) throw new LoadError(failure);
  return result;
}

function httpSender(endpoint: OtlpEndpoint, token: string | undefined): Sender {
  const agent = endpoint.tls ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const request = endpoint.tls ? httpsRequest : httpRequest;
  const url = `${endpoint.address}/v1/traces`;
  const headers: Record<string, string> = { 'content-type': 'application/x-protobuf' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return {
    send: (body) =>
      new Promise<Outcome>((resolve, reject) => {
        const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            if (code === 200) resolve({ kind: 'accepted', rejected: rejectedSpansOf(Buffer.concat(chunks)) });
            else if (code === 429 || code === 503) resolve({ kind: 'busy' });
            else resolve({ kind: 'failed', reason: `${url} answered ${code}${explainStatus(code)}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}` });
          });
        });
        req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot send to ${url}: ${err.code ?? err.message}`)));
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function grpcSender(endpoint: OtlpEndpoint, token: string | undefined): Sender {
  const client = new Client(endpoint.address, endpoint.tls ? credentials.createSsl() : credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const method = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
  return {
    send: (body) =>
      new Promise<Outcome>((resolve) => {
        client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, body, metadata, { deadline: Date.now() + 60_000 }, (err: ServiceError | null, reply?: Buffer) => {
          if (!err) resolve({ kind: 'accepted', rejected: rejectedSpansOf(reply ?? Buffer.alloc(0)) });
          else if (err.code === grpcStatus.RESOURCE_EXHAUSTED || err.code === grpcStatus.UNAVAILABLE) resolve({ kind: 'busy' });
          else resolve({ kind: 'failed', reason: `grpc://${endpoint.address} answered ${grpcStatus[err.code]}${explainGrpc(err.code)}: ${err.details}` });
        });
      }),
    close: () => client.close(),
  };
}

function explainStatus(code: number): string {
  if (code === 401) return ' (the receiver wants an ingest token: FLOWTRACE_INGEST_TOKEN or --ingest-token-file)';
  if (code === 403) return ' (the token lacks the ingest scope)';
  if (code === 404) return ' (is this an OTLP/HTTP receiver? its port is usually 4318)';
  return '';
}

function explainGrpc(code: number): string {
  if (code === grpcStatus.UNAUTHENTICATED) return ' (the receiver wants an ingest token: FLOWTRACE_INGEST_TOKEN or --ingest-token-file)';
  if (code === grpcStatus.PERMISSION_DENIED) return ' (the token lacks the ingest scope)';
  return '';
}

/**
 * ExportTraceServiceResponse.partial_success.rejected_spans (field 1 → field 1, varint); 0 when
 * the response is empty. Only these two fields are read; anything else is skipped.
 */
export function rejectedSpansOf(bytes: Buffer): number {
  const partial = fieldOf(bytes, 1, 2);
  if (partial === undefined) return 0;
  const rejected = fieldOf(partial as Buffer, 1, 0);
  return typeof rejected === 'number' ? rejected : 0;
}

/** The last occurrence of field `field` with wire type `wireType` (0 varint, 2 bytes) in a message. */
function fieldOf(bytes: Buffer, field: number, wireType: 0 | 2): Buffer | number | undefined {
  let at = 0;
  let found: Buffer | number | undefined;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new Error('truncated varint in the OTLP response');
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const type = tag & 7;
    let value: Buffer | number;
    if (type === 0) value = varint();
    else if (type === 2) {
      const length = varint();
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (type === 1) (value = 0), (at += 8);
    else if (type === 5) (value = 0), (at += 4);
    else throw new Error(`unexpected wire type ${type} in the OTLP response`);
    if (Math.floor(tag / 8) === field && type === wireType) found = value;
  }
  return found;
}
