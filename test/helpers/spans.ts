import { context, trace, SpanKind } from '@opentelemetry/api';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** `count` finished spans of one new trace, made by the official SDK. */
export async function sdkSpans(count: number, service = 'fixture-service'): Promise<{ traceId: string; spans: ReadableSpan[] }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('fixture');
  const root = tracer.startSpan('root', { kind: SpanKind.SERVER });
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 1; i < count; i++) tracer.startSpan(`child-${i}`, { attributes: { i } }, ctx).end();
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return { traceId: root.spanContext().traceId, spans };
}

export function protobufRequest(spans: ReadableSpan[]): Buffer {
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}

export function jsonRequest(spans: ReadableSpan[]): string {
  return new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
}
