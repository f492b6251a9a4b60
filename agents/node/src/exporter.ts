import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Protocol } from './config.js';

/** The OTLP exporter for the configured protocol; headers, TLS and compression come from OTEL_* as usual. */
export function createExporter(protocol: Protocol, url: string): SpanExporter {
  switch (protocol) {
    case 'grpc':
      return new GrpcExporter({ url });
    case 'http/protobuf':
      return new ProtobufExporter({ url });
    case 'http/json':
      return new JsonExporter({ url });
  }
}
