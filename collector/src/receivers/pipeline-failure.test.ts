import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { grpcExport } from '../../../test/helpers/grpc.js';
import { protobufRequest, sdkSpans } from '../../../test/helpers/spans.js';
import type { Span } from '../model/span.js';
import { QueueFullError, type Consumer } from '../pipeline/stage.js';
import { CollectorMetrics } from '../telemetry.js';
import { Ingest } from './ingest.js';
import { OtlpGrpcReceiver } from './otlp-grpc/receiver.js';
import { OtlpHttpReceiver } from './otlp-http/receiver.js';

/** A pipeline that fails the way a full or a broken disk queue does. */
class FailingPipeline implements Consumer {
  constructor(private readonly error: () => Error) {}
  async consume(_spans: Span[]): Promise<void> {
    throw this.error();
  }
}

const receivers: Array<{ shutdown(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.shutdown()));
});

async function start(error: () => Error) {
  const metrics = new CollectorMetrics();
  const ingest = new Ingest(new FailingPipeline(error), metrics);
  const logger = pino({ level: 'silent' });
  const http = new OtlpHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20 }, ingest, logger);
  const grpc = new OtlpGrpcReceiver({ endpoint: '127.0.0.1:0', maxMessageBytes: 1 << 20 }, ingest, logger);
  await http.start();
  await grpc.start();
  receivers.push(http, grpc);
  return { http: `http://${http.address}`, grpc: `http://${grpc.address}`, metrics };
}

describe('receivers when the pipeline fails', () => {
  it('answer 503 / UNAVAILABLE with a retry hint for a failure other than capacity, so clients retry', async () => {
    const r = await start(() => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    const body = protobufRequest((await sdkSpans(3)).spans);
    const res = await fetch(`${r.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const grpc = await grpcExport(r.grpc, body);
    expect(grpc.error?.code).toBe(status.UNAVAILABLE);
    expect(grpc.error?.details).toMatch(/could not keep the spans: ENOSPC/);
    expect(await r.metrics.registry.getSingleMetricAsString('flowtrace_receiver_requests_refused_total')).toMatch(/reason="unavailable"\} 1/);
  });

  it('answer 429 / RESOURCE_EXHAUSTED for a full queue', async () => {
    const r = await start(() => new QueueFullError('full', 9));
    const body = protobufRequest((await sdkSpans(3)).spans);
    const res = await fetch(`${r.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
    expect([res.status, res.headers.get('retry-after')]).toEqual([429, '9']);
    expect((await grpcExport(r.grpc, body)).error?.code).toBe(status.RESOURCE_EXHAUSTED);
  });
});
