import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../../receivers/otlp/proto-decoder.js';
import { setup } from './redact-fixtures.js';

/** Spans from the OpenTelemetry JS SDK, through the collector's protobuf decoder, into the default redaction. */
describe('redaction of numeric IDs sent by the OpenTelemetry SDK', () => {
  it('keeps 19-digit int IDs and ID-named string IDs as sent; masks a card under a card key', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'orders' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const span = provider.getTracer('t').startSpan('place');
    // Luhn-valid and in Visa's 19-digit range: before issue 10, each became [REDACTED:credit_card].
    // The int is exactly representable as a double, so the SDK sends exactly these digits as intValue.
    span.setAttribute('app.order_id', 4986947095633978368);
    span.setAttribute('app.external_id', '4986947095633979044');
    span.setAttribute('app.customer_id', '4111111111111111');
    span.setAttribute('payment.card', '4111 1111 1111 1111');
    span.end();
    const [decoded] = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!).spans;
    expect(decoded!.attributes['app.order_id']).toBe('4986947095633978368');
    expect(decoded!.attributeKinds?.['app.order_id']).toBe('int');

    const { redact, drops } = setup();
    const s = await redact(decoded!);
    expect(s.attributes['app.order_id']).toBe('4986947095633978368');
    expect(s.attributeKinds?.['app.order_id']).toBe('int');
    expect(s.attributes['app.external_id']).toBe('4986947095633979044');
    expect(s.attributes['app.customer_id']).toBe('4111111111111111');
    expect(s.attributes['payment.card']).toBe('[REDACTED:credit_card]');
    expect(s.attributes['flowtrace.redacted.keys']).toBe('payment.card');
    expect(drops.altered).toEqual({ 'redact/masked': 1 });
  });
});
