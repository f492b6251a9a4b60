import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeLogsRequest } from '../../../exporters/otlp/logs-encoder.js';
import type { LogRecord } from '../model/log-record.js';
import { RecordedDrops } from '../pipeline/drops.testing.js';
import { QueueFullError } from '../pipeline/stage.js';
import { OtlpHttpReceiver } from '../receivers/otlp-http/receiver.js';
import { Capture, RecordingIngest } from '../receivers/receiver.testing.js';
import { CollectorMetrics } from '../telemetry.js';
import { LogIngest } from './log-ingest.js';
import { LogMetrics } from './log-metrics.js';
import { LogQueues, type LogTarget } from './log-queues.js';

const receivers: OtlpHttpReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.shutdown()));
});

const resource = { attributes: { 'service.name': 'svc' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'svc' };
const scope = { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const record = (body: string): LogRecord => ({ resource, scope, timeUnixNano: BigInt(Date.now()) * 1_000_000n, observedTimeUnixNano: 0n, severityNumber: 9, severityText: '', body, attributes: {}, droppedAttributesCount: 0, flags: 0, traceId: '', spanId: '', eventName: '' });

/** A queue stand-in that keeps what it is given, or is full. */
function memoryTarget(full = false): LogTarget & { records: Uint8Array[] } {
  const records: Uint8Array[] = [];
  return {
    records,
    encode: encodeLogsRequest,
    queue: {
      name: 'memory',
      depth: { records: 0, spans: 0, bytes: 0 },
      hasRoomFor: () => !full,
      fullError: () => new QueueFullError('log queue full; retry later', 3),
      append: async (bytes: Uint8Array) => {
        records.push(bytes);
      },
      start: async () => {},
      shutdown: async () => {},
    } as unknown as LogTarget['queue'],
  };
}

async function http(logs: LogIngest) {
  const receiver = new OtlpHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20 }, new RecordingIngest(new Capture(), new CollectorMetrics()), pino({ level: 'silent' }), { logs });
  await receiver.start();
  receivers.push(receiver);
  return `http://${receiver.address}/v1/logs`;
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };

describe('LogIngest behind the OTLP/HTTP receiver', () => {
  it('answers 501 naming what to configure when this collector neither stores nor forwards logs', async () => {
    const logs = new LogIngest(new LogMetrics(new Registry()), { unavailable: 'this ingest collector neither stores logs nor forwards them: give an otlp exporter `signals: [traces, logs]`' });
    const res = await fetch(await http(logs), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(501);
    expect(await res.json()).toMatchObject({ code: 12, message: expect.stringContaining('signals: [traces, logs]') });
  });

  it('queues accepted records, answers ExportLogsServiceResponse, and refuses with 429 when a queue is full (in the drop ledger)', async () => {
    const target = memoryTarget();
    const drops = new RecordedDrops();
    const url = await http(new LogIngest(new LogMetrics(new Registry()), { queues: new LogQueues([target]), drops }));
    const ok = await fetch(url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(encodeLogsRequest([record('one'), record('two')])) });
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBe(0); // nothing refused: an empty response
    expect(target.records).toHaveLength(1);

    const fullUrl = await http(new LogIngest(new LogMetrics(new Registry()), { queues: new LogQueues([memoryTarget(true)]), drops }));
    const full = await fetch(fullUrl, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(encodeLogsRequest([record('three')])) });
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBe('3');
    expect(drops.dropped['logs/receiver/refused']).toBe(1);
  });

  it('takes the compressions and JSON the traces path takes (gzip here), and answers partial success in JSON', async () => {
    const target = memoryTarget();
    const url = await http(new LogIngest(new LogMetrics(new Registry()), { queues: new LogQueues([target]) }));
    const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '1', body: { stringValue: 'ok' } }, { spanId: 'b7ad6b7169203331' }] }] }] };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: new Uint8Array(gzipSync(JSON.stringify(body))) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ partialSuccess: { rejectedLogRecords: '1', errorMessage: "log record 1 of scope '': span_id without a trace_id" } });
    expect(target.records).toHaveLength(1);
  });

  it('refuses with 413 a request whose rows would pass max_in_flight_mib (each row repeats its resource)', async () => {
    const target = memoryTarget();
    const url = await http(new LogIngest(new LogMetrics(new Registry()), { queues: new LogQueues([target]), maxRowBytes: 64 * 1024 }));
    const big = { ...resource, attributes: { ...resource.attributes, blob: 'x'.repeat(4096) } };
    const records = Array.from({ length: 40 }, () => ({ ...record('r'), resource: big }));
    const res = await fetch(url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(encodeLogsRequest(records)) });
    expect(res.status).toBe(413);
    // The Status message names log records, not spans.
    const status = Buffer.from(await res.arrayBuffer()).toString('latin1');
    expect(status).toContain("every log record repeats its resource's and scope's attributes");
    expect(status).toContain('send fewer log records per request');
    expect(status).not.toContain('span');
    expect(target.records).toHaveLength(0);
  });

  it('refuses a malformed protobuf body with 400', async () => {
    const url = await http(new LogIngest(new LogMetrics(new Registry()), { queues: new LogQueues([memoryTarget()]) }));
    const res = await fetch(url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array([0x0a, 0x05, 0x01]) });
    expect(res.status).toBe(400);
  });
});
