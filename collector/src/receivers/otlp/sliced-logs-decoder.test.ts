import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { encodeLogsRequest } from '../../../../exporters/otlp/logs-encoder.js';
import { LogIngest } from '../../logs/log-ingest.js';
import { LogMetrics } from '../../logs/log-metrics.js';
import type { LogRecord } from '../../model/log-record.js';
import type { InstrumentationScope, Resource } from '../../model/span.js';
import { OtlpDecodeError } from './errors.js';
import { decodeLogsRequest } from './logs-proto-decoder.js';
import { decodeLogsRequestInSlices, SLICE_BYTES } from './sliced-decoder.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;

/** Three services, two scopes each, 40 records per scope; `bodyBytes` sets the request's size. */
function records(bodyBytes = 40, invalidEvery = 0): LogRecord[] {
  const out: LogRecord[] = [];
  for (let s = 0; s < 3; s++) {
    const resource: Resource = { attributes: { 'service.name': `service-${s}`, 'host.name': `host-${s}` }, droppedAttributesCount: 0, schemaUrl: 'https://opentelemetry.io/schemas/1.21.0', serviceName: `service-${s}` };
    for (let c = 0; c < 2; c++) {
      const scope: InstrumentationScope = { name: `scope-${c}`, version: '1.0', attributes: { 'scope.attr': String(c) }, droppedAttributesCount: 0, schemaUrl: '' };
      for (let i = 0; i < 40; i++) {
        const n = out.length;
        out.push({
          resource,
          scope,
          timeUnixNano: NOW_NS + BigInt(n),
          observedTimeUnixNano: NOW_NS,
          severityNumber: invalidEvery > 0 && n % invalidEvery === 0 ? 300 : 9 + (n % 12),
          severityText: 'INFO',
          body: `record ${n} `.padEnd(bodyBytes, 'x'),
          attributes: { 'http.route': `/r/${n}` },
          droppedAttributesCount: 0,
          flags: 1,
          traceId: n % 2 === 0 ? n.toString(16).padStart(32, 'a') : '',
          spanId: n % 2 === 0 ? n.toString(16).padStart(16, 'b') : '',
          eventName: '',
        });
      }
    }
  }
  return out;
}

const request = (bodyBytes?: number, invalidEvery?: number) => Buffer.from(encodeLogsRequest(records(bodyBytes, invalidEvery)));

describe('decodeLogsRequestInSlices', () => {
  it('decodes to exactly what the one-pass decoder gives, whatever the slice size', async () => {
    const bytes = request();
    const whole = decodeLogsRequest(bytes);
    expect(whole.records).toHaveLength(240);
    expect(whole.rejectedRecords).toBe(0);
    // 100 bytes: smaller than one record, so requests, resources and scopes are all cut.
    for (const sliceBytes of [100, 1000, 5000, bytes.length]) {
      expect(await decodeLogsRequestInSlices(bytes, sliceBytes)).toEqual(whole);
    }
  });

  it('refuses the same records with partial success as the one-pass decoder', async () => {
    const bytes = request(40, 7);
    const whole = decodeLogsRequest(bytes);
    expect(whole.rejectedRecords).toBe(35);
    const sliced = await decodeLogsRequestInSlices(bytes, 1000);
    expect(sliced.records).toEqual(whole.records);
    expect(sliced.rejectedRecords).toBe(whole.rejectedRecords);
    const perService = (r: typeof whole) => Object.fromEntries(['service-0', 'service-1', 'service-2'].map((s) => [s, (r.rejections ?? []).filter((x) => x.service === s).reduce((n, x) => n + x.spans, 0)]));
    expect(perService(sliced)).toEqual(perService(whole));
    expect(sliced.rejectionMessage).toContain('severity_number');
  });

  it('lets other callbacks run between slices (and not when the request is one slice)', async () => {
    const bytes = request();
    const othersRanBeforeTheEnd = async (sliceBytes: number) => {
      let ran = false;
      setImmediate(() => (ran = true));
      await decodeLogsRequestInSlices(bytes, sliceBytes);
      return ran;
    };
    expect(await othersRanBeforeTheEnd(1000)).toBe(true);
    expect(await othersRanBeforeTheEnd(bytes.length)).toBe(false);
  });

  it('reports a malformed request with the one-pass decoder\'s error and offset', async () => {
    const broken = Buffer.concat([request(), Buffer.from([0x0a, 0x7f])]);
    const expected = (() => { try { decodeLogsRequest(broken); } catch (err) { return (err as Error).message; } })();
    await expect(decodeLogsRequestInSlices(broken, 1000)).rejects.toThrow(OtlpDecodeError);
    await expect(decodeLogsRequestInSlices(broken, 1000)).rejects.toThrow(expected!);
  });

  it('is what the receivers decode with: a request over SLICE_BYTES yields to others between its slices', async () => {
    const bytes = request(4096); // 240 records of 4 KB: about 1 MB, four slices
    expect(bytes.length).toBeGreaterThan(3 * SLICE_BYTES);
    const logs = new LogIngest(new LogMetrics(new Registry()), {});
    let ran = false;
    setImmediate(() => (ran = true));
    const decoded = await logs.decodeProtobuf(bytes);
    expect(ran).toBe(true);
    expect(decoded).toEqual(decodeLogsRequest(bytes));
  });
});
