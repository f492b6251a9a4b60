import { deflateSync, gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { compressFrameSync } from 'lz4-napi';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { compressSync as snappyCompress } from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeLogRows } from '../../../exporters/clickhouse/logs-rowbinary.js';
import { encodeLogsRequest } from '../../../exporters/otlp/logs-encoder.js';
import { createIngestAuthenticator } from '../auth/ingest-auth.js';
import type { CredentialVerifier, Principal } from '../auth/principal.js';
import { RecordedDrops } from '../pipeline/drops.testing.js';
import { QueueFullError } from '../pipeline/stage.js';
import { redactConfigSchema } from '../processors/redact/config.js';
import { OtlpGrpcReceiver } from '../receivers/otlp-grpc/receiver.js';
import { OtlpHttpReceiver } from '../receivers/otlp-http/receiver.js';
import { decodeLogsJsonBody } from '../receivers/otlp/logs-json-decoder.js';
import { decodeLogsRequest } from '../receivers/otlp/logs-proto-decoder.js';
import { IngestQuotas } from '../receivers/quota.js';
import { quotaConfigSchema } from '../receivers/quota-config.js';
import { Capture, RecordingIngest } from '../receivers/receiver.testing.js';
import { CollectorMetrics } from '../telemetry.js';
import { LogIngest, type LogIngestOptions } from './log-ingest.js';
import { LogMetrics } from './log-metrics.js';
import { LogQueues, type LogTarget } from './log-queues.js';
import { LogRedaction } from './log-redaction.js';

const INGEST_TOKEN = 'ft_ingest_0123456789abcdef';
const READ_TOKEN = 'ft_read_fedcba9876543210';
const tokens: CredentialVerifier = {
  kind: 'token',
  async verify(bearer: string): Promise<Principal | undefined> {
    if (bearer === INGEST_TOKEN) return { id: 'token:i', kind: 'token', name: 'agent', scopes: new Set(['ingest']), rules: {} };
    if (bearer === READ_TOKEN) return { id: 'token:r', kind: 'token', name: 'dashboard', scopes: new Set(['read']), rules: {} };
    return undefined;
  },
};

/** A log queue that keeps the bytes it is given: exactly what a PersistentQueue would write to disk. */
function keepingTarget(encode: LogTarget['encode'] = encodeLogsRequest): LogTarget & { appended: Buffer[] } {
  const appended: Buffer[] = [];
  return {
    appended,
    encode,
    queue: {
      name: 'keeping',
      depth: { records: 0, spans: 0, bytes: 0 },
      hasRoomFor: () => true,
      fullError: () => new QueueFullError('full', 1),
      append: async (bytes: Uint8Array) => {
        appended.push(Buffer.from(bytes));
      },
      start: async () => {},
      shutdown: async () => {},
    } as unknown as LogTarget['queue'],
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function logIngest(targets: LogTarget[], extra: Partial<LogIngestOptions> = {}): LogIngest {
  return new LogIngest(new LogMetrics(new Registry()), { queues: new LogQueues(targets), ...extra });
}

async function httpReceiver(logs: LogIngest, maxBodyBytes = 1 << 20): Promise<string> {
  const receiver = new OtlpHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes }, new RecordingIngest(new Capture(), new CollectorMetrics()), pino({ level: 'silent' }), {
    logs,
    auth: createIngestAuthenticator([tokens], true),
  });
  await receiver.start();
  closers.push(() => receiver.shutdown());
  return `http://${receiver.address}/v1/logs`;
}

async function grpcReceiver(logs: LogIngest): Promise<string> {
  const receiver = new OtlpGrpcReceiver({ endpoint: '127.0.0.1:0', maxMessageBytes: 1 << 20 }, new RecordingIngest(new Capture(), new CollectorMetrics()), pino({ level: 'silent' }), {
    logs,
    auth: createIngestAuthenticator([tokens], true),
  });
  await receiver.start();
  closers.push(() => receiver.shutdown(1000));
  return receiver.address;
}

function grpcLogsExport(address: string, body: Buffer, authorization?: string): Promise<{ error?: ServiceError; response?: Buffer }> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      (error, response) => {
        client.close();
        resolve(error ? { error } : { response: response! });
      },
    );
  });
}

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
function jsonLogs(records: object[], resourceAttributes: object[] = [{ key: 'service.name', value: { stringValue: 'svc' } }], scopeAttributes: object[] = []): string {
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: resourceAttributes }, scopeLogs: [{ scope: { name: 's', attributes: scopeAttributes }, logRecords: records }] }] });
}
const ONE_RECORD = jsonLogs([{ timeUnixNano: String(NOW_NS), body: { stringValue: 'hello' } }]);
const JSON_TYPE = { 'content-type': 'application/json' };

describe('logs ingest under attack', () => {
  it('POST /v1/logs: 401 without a token, 403 for a read-only token, nothing queued, no token echoed', async () => {
    const target = keepingTarget();
    const url = await httpReceiver(logIngest([target]));
    const none = await fetch(url, { method: 'POST', headers: JSON_TYPE, body: ONE_RECORD });
    expect(none.status).toBe(401);
    const readOnly = await fetch(url, { method: 'POST', headers: { ...JSON_TYPE, authorization: `Bearer ${READ_TOKEN}` }, body: ONE_RECORD });
    expect(readOnly.status).toBe(403);
    expect(await readOnly.text()).not.toContain(READ_TOKEN);
    const unknown = await fetch(url, { method: 'POST', headers: { ...JSON_TYPE, authorization: 'Bearer ft_nope_secretvalue' }, body: ONE_RECORD });
    expect(unknown.status).toBe(401);
    expect(await unknown.text()).not.toContain('secretvalue');
    expect(target.appended).toHaveLength(0);
    const ok = await fetch(url, { method: 'POST', headers: { ...JSON_TYPE, authorization: `Bearer ${INGEST_TOKEN}` }, body: ONE_RECORD });
    expect(ok.status).toBe(200);
    expect(target.appended).toHaveLength(1);
  });

  it('gRPC LogsService/Export: UNAUTHENTICATED / PERMISSION_DENIED before the message is read, nothing queued', async () => {
    const target = keepingTarget();
    const address = await grpcReceiver(logIngest([target]));
    const body = Buffer.from(decodeAndEncode(ONE_RECORD));
    expect((await grpcLogsExport(address, body)).error?.code).toBe(status.UNAUTHENTICATED);
    const readOnly = await grpcLogsExport(address, body, `Bearer ${READ_TOKEN}`);
    expect(readOnly.error?.code).toBe(status.PERMISSION_DENIED);
    expect(readOnly.error?.details).not.toContain(READ_TOKEN);
    expect(target.appended).toHaveLength(0);
    expect((await grpcLogsExport(address, body, `Bearer ${INGEST_TOKEN}`)).error).toBeUndefined();
    expect(target.appended).toHaveLength(1);
  });

  it('never echoes a large header back: an unsupported Content-Type is named cut short', async () => {
    const url = await httpReceiver(logIngest([keepingTarget()]));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': `text/${'x'.repeat(8000)}`, authorization: `Bearer ${INGEST_TOKEN}` }, body: 'x' });
    expect(res.status).toBe(415);
    const text = await res.text();
    expect(text).toContain("unsupported Content-Type 'text/xxx");
    expect(text.length).toBeLessThan(400);
  });

  it('refuses decompression bombs on every codec with 413 and queues nothing', async () => {
    const target = keepingTarget();
    const url = await httpReceiver(logIngest([target]), 64 * 1024);
    const zeros = Buffer.alloc(8 << 20);
    const zstdBomb = zstdRleFrame(64, 128 * 1024);
    const bombs: Array<[string, Buffer]> = [
      ['gzip', gzipSync(zeros)],
      ['deflate', deflateSync(zeros)],
      ['snappy', snappyCompress(zeros)],
      ['lz4', compressFrameSync(zeros)],
      ['zstd', zstdBomb],
    ];
    for (const [encoding, bomb] of bombs) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': encoding, authorization: `Bearer ${INGEST_TOKEN}` }, body: new Uint8Array(bomb) });
      expect(res.status, encoding).toBe(413);
    }
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${INGEST_TOKEN}` }, body: new Uint8Array(Buffer.alloc(200_000)) });
    expect(plain.status).toBe(413);
    expect(target.appended).toHaveLength(0);
  });

  it('answers 400 (never a crash or a stack overflow) for deeply nested bodies, truncated varints and wrong wire types', async () => {
    const url = await httpReceiver(logIngest([keepingTarget()]), 4 << 20);
    const auth = { authorization: `Bearer ${INGEST_TOKEN}` };
    // body = kvlist { "k": kvlist { "k": … } } 3 000 levels deep, in protobuf (the limit is 100).
    let value: Buffer = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue{string_value:"x"}
    for (let i = 0; i < 3_000; i++) {
      const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b]), field(2, value)]); // KeyValue{key:"k", value}
      value = field(6, field(1, kv)); // AnyValue{kvlist_value: KeyValueList{values:[kv]}}
    }
    const record = field(5, value);
    const deep = field(1, field(2, field(2, record)));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...auth }, body: new Uint8Array(deep) });
    expect(res.status).toBe(400);
    expect(Buffer.from(await res.arrayBuffer()).toString('latin1')).toMatch(/nested deeper/);
    const deepJson = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${'{"arrayValue":{"values":['.repeat(20_000)}{"stringValue":"x"}${']}}'.repeat(20_000)}}]}]}]}`;
    const json = await fetch(url, { method: 'POST', headers: { ...JSON_TYPE, ...auth }, body: deepJson });
    expect(json.status).toBe(400);
    for (const bad of [Buffer.from([0x0a, 0x80, 0x80, 0x80]), Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12, 0xff, 0xff]), Buffer.from([0x0b]), field(1, field(2, Buffer.from([0x2a, 0x10])))]) {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...auth }, body: new Uint8Array(bad) });
      expect(r.status, bad.toString('hex')).toBe(400);
    }
  });

  it('refuses records with bad IDs, severities and times by partial success, and keeps huge JSON numbers out', () => {
    const records = [
      { traceId: 'abcd', body: { stringValue: 'short trace id' } },
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b71692033', body: { stringValue: 'short span id' } },
      { severityNumber: 300 },
      { severityNumber: -1 },
      { timeUnixNano: '18446744073709551615' },
      { timeUnixNano: '99999999999999999999999' },
      { observedTimeUnixNano: '9223372036854775808' },
      { timeUnixNano: String(NOW_NS), body: { intValue: '9223372036854775807' }, attributes: [{ key: 'n', value: { doubleValue: 1e308 } }] },
    ];
    let decoded;
    try {
      decoded = decodeLogsJsonBody(Buffer.from(jsonLogs(records)));
    } catch (err) {
      // A number too large for its field refuses the request whole: a clear message, not a crash.
      expect((err as Error).name).toBe('OtlpDecodeError');
      decoded = decodeLogsJsonBody(Buffer.from(jsonLogs(records.filter((r) => r.timeUnixNano !== '99999999999999999999999'))));
    }
    expect(decoded.records).toHaveLength(1);
    expect(decoded.records[0]!.body).toBe('9223372036854775807');
    expect(decoded.rejectedRecords).toBeGreaterThanOrEqual(6);
  });

  it('keeps every body kind exactly through the queue encoding (bytes, kvlist, array, int, double, bool, empty)', () => {
    const bodies = [
      { bytesValue: Buffer.from([0, 255, 1, 254]).toString('base64') },
      { kvlistValue: { values: [{ key: 'b', value: { intValue: '9223372036854775807' } }, { key: 'a', value: { arrayValue: { values: [{ stringValue: 'x"\\y' }, { boolValue: true }] } } }] } },
      { arrayValue: { values: [{ doubleValue: 1.5 }, { kvlistValue: { values: [] } }] } },
      { intValue: '-9223372036854775808' },
      { doubleValue: -0 },
      { boolValue: false },
      { stringValue: '' },
    ];
    const first = decodeLogsJsonBody(Buffer.from(jsonLogs(bodies.map((body) => ({ timeUnixNano: String(NOW_NS), body })))));
    expect(first.rejectedRecords).toBe(0);
    const again = decodeLogsRequest(encodeLogsRequest(first.records)).records;
    expect(again.map((r) => [r.bodyKind, r.body])).toEqual(first.records.map((r) => [r.bodyKind, r.body]));
    expect(again[0]).toMatchObject({ bodyKind: 'bytes', body: 'AP8B/g==' });
  });

  it('masks denied keys inside a structured (kvlist/array) body and every attribute before anything is queued', async () => {
    const drops = new RecordedDrops();
    const metrics = new LogMetrics(new Registry());
    const redaction = new LogRedaction(redactConfigSchema.parse({}), drops, metrics);
    const otlp = keepingTarget();
    const rows = keepingTarget(encodeLogRows);
    const url = await httpReceiver(new LogIngest(metrics, { queues: new LogQueues([otlp, rows]), redaction, drops }));
    const kv = (key: string, value: object) => ({ key, value });
    const body = {
      kvlistValue: {
        values: [
          kv('msg', { stringValue: 'user logged in' }),
          kv('cookie', { stringValue: 'SID=cookiesecret4711' }),
          kv('user', { kvlistValue: { values: [kv('accessToken', { stringValue: 'nestedsecret4712' }), kv('name', { stringValue: 'bob' })] } }),
          kv('events', { arrayValue: { values: [{ kvlistValue: { values: [kv('sessionId', { intValue: '4713471347134713' })] } }] } }),
          kv('contact', { stringValue: 'mail carol@example.com' }),
        ],
      },
    };
    const request = jsonLogs(
      [{ timeUnixNano: String(NOW_NS), body, attributes: [kv('authorization', { stringValue: 'Digest attrsecret4714' }), kv('ctx', { kvlistValue: { values: [kv('password', { stringValue: 'hunter4715' }), kv('Set-Cookie', { stringValue: 'id=attrcookie4717' })] } })] }],
      [kv('service.name', { stringValue: 'svc' }), kv('api_key', { stringValue: 'ressecret4716' }), kv('deploy', { kvlistValue: { values: [kv('session', { stringValue: 'ressession4718' })] } })],
      [kv('owner', { stringValue: 'dave@example.com' })],
    );
    const res = await fetch(url, { method: 'POST', headers: { ...JSON_TYPE, authorization: `Bearer ${INGEST_TOKEN}` }, body: request });
    expect(res.status).toBe(200);
    const onDisk = Buffer.concat([...otlp.appended, ...rows.appended]).toString('latin1');
    for (const secret of ['cookiesecret4711', 'nestedsecret4712', '4713471347134713', 'carol@example.com', 'attrsecret4714', 'hunter4715', 'attrcookie4717', 'ressession4718', 'ressecret4716', 'dave@example.com']) {
      expect(onDisk, secret).not.toContain(secret);
    }
    // The body stays a kvlist, its other values as sent.
    const stored = decodeLogsRequest(otlp.appended[0]!).records[0]!;
    expect(stored.bodyKind).toBe('kvlist');
    const parsed = JSON.parse(stored.body) as Record<string, unknown>;
    expect(parsed).toMatchObject({ msg: 'user logged in', cookie: '[REDACTED:key]', user: { accessToken: '[REDACTED:key]', name: 'bob' }, events: [{ sessionId: '[REDACTED:key]' }] });
    expect(stored.attributeKinds?.ctx).toBe('kvlist');
    expect(JSON.parse(stored.attributes.ctx!)).toMatchObject({ 'Set-Cookie': '[REDACTED:key]' });
    expect(stored.attributes['flowtrace.redacted.keys']!.split(',')).toEqual(expect.arrayContaining(['body', 'ctx', 'authorization', 'resource.api_key', 'resource.deploy', 'scope.owner']));
  });

  it('refuses a sender over its quota with 429, stores none of the request, and counts it in the drop ledger', async () => {
    const target = keepingTarget();
    const drops = new RecordedDrops();
    const quotas = new IngestQuotas(quotaConfigSchema.parse({ per_token: { spans_per_second: 3 } }), new Registry());
    const url = await httpReceiver(logIngest([target], { quotas, drops }));
    const five = jsonLogs(Array.from({ length: 5 }, (_, i) => ({ timeUnixNano: String(NOW_NS), body: { stringValue: `r${i}` } })));
    const send = () => fetch(url, { method: 'POST', headers: { ...JSON_TYPE, authorization: `Bearer ${INGEST_TOKEN}` }, body: five });
    // A request larger than the burst is let in once (the bucket goes into debt); the next is over quota.
    expect((await send()).status).toBe(200);
    const res = await send();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(target.appended).toHaveLength(1);
    expect(drops.dropped['logs/receiver/refused']).toBe(5);
  });
});

function decodeAndEncode(json: string): Uint8Array {
  return encodeLogsRequest(decodeLogsJsonBody(Buffer.from(json)).records);
}

/** A length-delimited protobuf field. */
function field(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A zstd frame of `blocks` RLE blocks of `size` zero bytes (RFC 8878): tiny on the wire, large inflated. */
function zstdRleFrame(blocks: number, size: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (23 - 10) << 3])];
  for (let i = 0; i < blocks; i++) {
    const h = Buffer.alloc(3);
    h.writeUIntLE((size << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0), 0, 3);
    parts.push(h, Buffer.from([0]));
  }
  return Buffer.concat(parts);
}
