import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, sql, startCollector, waitFor } from './helpers/collector.js';
import { grpcExport } from './helpers/grpc.js';
import { jsonRequest, protobufRequest, sdkSpans } from './helpers/spans.js';
import { freePort } from './helpers/peers.js';
import { inspectStore } from './helpers/store-inspect.js';

afterAll(cleanup);

function configFile(yaml: string): string {
  const file = join(newTempDir('ft-cfg-'), 'flowtrace.yaml');
  writeFileSync(file, yaml);
  return file;
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  return { status: res.status, payload, headers: res.headers };
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

describe('bad input never crashes the collector nor poisons a batch', () => {
  it('answers 400, 413, 415 and partial success, and keeps serving', async () => {
    const c = await startCollector({
      args: ['--config', configFile('receivers:\n  otlp:\n    http:\n      max_request_body_size_mib: 1\n    grpc:\n      max_recv_msg_size_mib: 1\n')],
    });
    const url = c.httpEndpoint;

    const garbage = await post(url, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), PROTOBUF);
    expect(garbage.status).toBe(400);

    const badJson = await post(url, '{"resourceSpans": [', JSON_CT);
    expect(badJson.status).toBe(400);
    expect(badJson.payload).toMatchObject({ code: 3, message: expect.stringContaining('invalid JSON') });

    const wrongShape = await post(url, '{"resourceSpans": 7}', JSON_CT);
    expect(wrongShape.status).toBe(400);
    expect((wrongShape.payload as { message: string }).message).toContain('resourceSpans');

    const text = await post(url, 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect((text.payload as { message: string }).message).toContain("unsupported Content-Type 'text/plain'");

    const brotli = await post(url, 'x', { ...JSON_CT, 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);

    const tooBig = await post(url, Buffer.alloc(2 * 1024 * 1024, 1), PROTOBUF);
    expect(tooBig.status).toBe(413);

    // 256 MiB of zeros is 256 KiB gzipped: refused once 1 MiB has been inflated, never inflated whole.
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    const bombed = await post(url, bomb, { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(bombed.status).toBe(413);
    const notGzip = await post(url, 'not gzip at all', { ...JSON_CT, 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);

    // One bad span (trace ID of the wrong length) is rejected; the others are stored.
    const { traceId, spans } = await sdkSpans(3, 'partial');
    const request = JSON.parse(jsonRequest(spans));
    request.resourceSpans[0].scopeSpans[0].spans[1].traceId = 'abcd';
    const partial = await post(url, JSON.stringify(request), JSON_CT);
    expect(partial.status).toBe(200);
    expect(partial.payload).toMatchObject({ partialSuccess: { rejectedSpans: expect.anything(), errorMessage: expect.stringContaining('trace_id') } });
    expect(Number((partial.payload as { partialSuccess: { rejectedSpans: unknown } }).partialSuccess.rejectedSpans)).toBe(1);

    const grpcGarbage = await grpcExport(c.grpcEndpoint, Buffer.from([0x0a, 0x05, 0x01]));
    expect(grpcGarbage.error?.code).toBe(status.INVALID_ARGUMENT);
    const grpcBomb = await grpcExport(c.grpcEndpoint, Buffer.alloc(4 * 1024 * 1024), { gzip: true });
    expect(grpcBomb.error?.code).toBe(status.RESOURCE_EXHAUSTED);

    // Still serving: a good request over each transport is stored.
    const good = await sdkSpans(2, 'after-abuse');
    expect((await post(url, protobufRequest(good.spans), PROTOBUF)).status).toBe(200);
    const good2 = await sdkSpans(2, 'after-abuse');
    expect((await grpcExport(c.grpcEndpoint, protobufRequest(good2.spans))).response).toBeDefined();
    const counts = await waitFor(async () => {
      const rows = await sql<{ TraceId: string; n: string }>(
        c.apiUrl,
        `SELECT TraceId, count() AS n FROM otel_traces WHERE TraceId IN ('${traceId}', '${good.traceId}', '${good2.traceId}') GROUP BY TraceId`,
      );
      return rows.length === 3 ? Object.fromEntries(rows.map((r) => [r.TraceId, Number(r.n)])) : undefined;
    }, 'stored spans');
    expect(counts).toEqual({ [traceId]: 2, [good.traceId]: 2, [good2.traceId]: 2 });
    expect(await c.stop()).toBe(0);
  });
});

describe('backpressure and graceful shutdown', () => {
  it('refuses with 429 / RESOURCE_EXHAUSTED and a retry hint when full; stores everything acknowledged after a stop', async () => {
    // A forwarding exporter whose backend is down fills its 4 MiB disk queue; storage stays healthy.
    const deadPort = await freePort(); // nothing listens there
    const config = configFile(
      [
        'pipeline:',
        '  processors: []',
        'exporters:',
        '  otlp/down:',
        `    endpoint: http://127.0.0.1:${deadPort}`,
        '    protocol: http/protobuf',
        '    queue: { max_bytes: 4194304, retry_after_seconds: 7, retry: { initial_interval_ms: 60000, max_interval_ms: 60000 } }',
        '',
      ].join('\n'),
    );
    const c = await startCollector({ args: ['--config', config] });
    const accepted: string[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    let refusedSpans: Awaited<ReturnType<typeof sdkSpans>> | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const batch = await sdkSpans(200, 'backpressure');
      const res = await post(c.httpEndpoint, protobufRequest(batch.spans), PROTOBUF);
      if (res.status === 200) accepted.push(batch.traceId);
      else [refused, refusedSpans] = [res, batch];
    }
    expect(refused?.status).toBe(429);
    expect(refused!.headers.get('retry-after')).toBe('7');
    const refusedJson = await post(c.httpEndpoint, jsonRequest(refusedSpans!.spans), JSON_CT);
    expect(refusedJson.status).toBe(429);
    expect(refusedJson.payload).toMatchObject({ code: 8, details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }] });

    const grpc = await grpcExport(c.grpcEndpoint, protobufRequest(refusedSpans!.spans));
    expect(grpc.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const details = grpc.error!.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');

    const metrics = await (await fetch(`${c.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/flowtrace_receiver_requests_refused_total\{transport="http",reason="backpressure"\} 2/);
    expect(metrics).toMatch(/flowtrace_exporter_queue_bytes\{exporter="otlp\/down"\} [1-9]/);

    // Refused everywhere or taken everywhere: storage has exactly what was acknowledged.
    expect(await c.stop()).toBe(0);
    const again = await startCollector({ dataDir: c.dataDir, args: ['--config', config] });
    const rows = await sql<{ TraceId: string; n: string }>(
      again.apiUrl,
      `SELECT TraceId, count() AS n FROM otel_traces WHERE ServiceName = 'backpressure' GROUP BY TraceId ORDER BY TraceId`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.TraceId, Number(r.n)]))).toEqual(Object.fromEntries(accepted.map((id) => [id, 200])));
    expect(await again.stop()).toBe(0);
  });
});

describe('one collector per data directory', () => {
  it('refuses a second collector on the same data directory with a clear message, and takes over a stale lock', async () => {
    const c = await startCollector();
    const second = spawnSync(process.execPath, [FLOWTRACE_BIN, 'serve', '--data', c.dataDir, '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/data directory .* is in use by another flowtrace collector \(pid \d+\)/);
    await c.kill(); // SIGKILL: the lock file stays behind, its process gone
    const again = await startCollector({ dataDir: c.dataDir });
    expect(await again.stop()).toBe(0);
  });
});

describe('retention', () => {
  it('applies the configured TTL and alters it on restart', async () => {
    // Table definitions are not readable through user SQL (system.* is refused): read the
    // stopped collector's store directly.
    const ttl = async (dataDir: string) => {
      const [rows] = await inspectStore<{ name: string; engine_full: string }>(dataDir, [
        "SELECT name, engine_full FROM system.tables WHERE database = 'default' AND name IN ('otel_traces', 'otel_traces_trace_id_ts')",
      ]);
      return Object.fromEntries(rows!.map((r) => [r.name, /TTL (.*?) SETTINGS/.exec(r.engine_full)?.[1]]));
    };
    const c = await startCollector();
    expect(await c.stop()).toBe(0);
    expect(await ttl(c.dataDir)).toEqual({
      otel_traces: 'toDateTime(Timestamp) + toIntervalDay(7)',
      otel_traces_trace_id_ts: 'toDateTime(Start) + toIntervalDay(7)',
    });
    const again = await startCollector({ dataDir: c.dataDir, args: ['--retention-days', '30'] });
    expect(await again.stop()).toBe(0);
    expect(await ttl(c.dataDir)).toEqual({
      otel_traces: 'toDateTime(Timestamp) + toIntervalDay(30)',
      otel_traces_trace_id_ts: 'toDateTime(Start) + toIntervalDay(30)',
    });
  });
});
