/**
 * Request compression with the real OpenTelemetry Collector (test/peers/otelcol, v0.140.0): its
 * `otlp` (gRPC) and `otlphttp` exporters, set to each `compression` they offer, send to FlowTrace,
 * and every span must be stored. What the Collector cannot send on a transport is a test too
 * (the Collector refuses that config), so that a Collector that learns it shows up here.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, getJson, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { cleanupPeers, ensurePeer, PEER_HOOK_TIMEOUT_MS, startOtelcol } from './helpers/peers.js';
import { protobufRequest, sdkSpans } from './helpers/spans.js';

const SPANS = 40;
let flowtrace: RunningCollector;

beforeAll(async () => {
  await ensurePeer('otelcol');
  flowtrace = await startCollector();
}, PEER_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await cleanupPeers();
  await cleanup();
});

function exporterYaml(transport: 'grpc' | 'http', compression: string): { name: string; yaml: string } {
  if (transport === 'grpc') {
    const endpoint = flowtrace.grpcEndpoint.replace('http://', '');
    return { name: 'otlp', yaml: `  otlp:\n    endpoint: ${endpoint}\n    tls:\n      insecure: true\n    compression: ${compression}\n` };
  }
  return { name: 'otlphttp', yaml: `  otlphttp:\n    endpoint: ${flowtrace.httpEndpoint}\n    compression: ${compression}\n` };
}

async function sendThroughCollector(transport: 'grpc' | 'http', compression: string): Promise<void> {
  const { name, yaml } = exporterYaml(transport, compression);
  const otelcol = await startOtelcol(name, yaml);
  try {
    const { traceId, spans } = await sdkSpans(SPANS, `compression-${transport}-${compression}`);
    const res = await fetch(`${otelcol.otlpHttpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(protobufRequest(spans)),
    });
    expect(res.status).toBe(200);
    const stored = await waitFor(
      async () => {
        const t = await getJson<{ spans: unknown[] }>(`${flowtrace.apiUrl}/api/traces/${traceId}`);
        return t && t.spans.length === SPANS ? t : undefined;
      },
      `all ${SPANS} spans stored (otelcol log:\n${readFileSync(otelcol.logFile, 'utf8').slice(-3000)})`,
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\notelcol log:\n${readFileSync(otelcol.logFile, 'utf8').slice(-3000)}`);
    });
    expect(stored.spans).toHaveLength(SPANS);
  } finally {
    await otelcol.stop();
  }
}

// Concurrent: each case has its own Collector, port and trace; most of a case is waiting for the
// spans to be stored, so ten one after another took ~80 s.
describe.concurrent('the OpenTelemetry Collector sends compressed OTLP to FlowTrace, and every span is stored', () => {
  // configgrpc offers gzip, snappy (framed, go-grpc-compression) and zstd.
  it.each(['gzip', 'zstd', 'snappy'])('otlp (gRPC) exporter, compression: %s', (c) => sendThroughCollector('grpc', c), 120_000);

  // confighttp sends its `compression` as the Content-Encoding; `snappy` is the block format
  // (confighttp.framedSnappy, on by default), `x-snappy-framed` the framing format.
  it.each(['gzip', 'zstd', 'snappy', 'x-snappy-framed', 'zlib', 'deflate', 'lz4'])(
    'otlphttp exporter, compression: %s',
    (c) => sendThroughCollector('http', c),
    120_000,
  );

  it.each(['zlib', 'deflate', 'lz4'])(
    'otlp (gRPC) exporter cannot send %s: the Collector refuses that config (unsupported compression type)',
    async (compression) => {
      const { name, yaml } = exporterYaml('grpc', compression);
      const otelcol = await startOtelcol(name, yaml, { waitReady: false });
      const code = await otelcol.exited;
      expect(code).not.toBe(0);
      expect(readFileSync(otelcol.logFile, 'utf8')).toContain(`unsupported compression type "${compression}"`);
    },
    120_000,
  );
});
