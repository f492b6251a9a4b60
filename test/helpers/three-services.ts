import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Secrets the processing test plants; none may reach storage in clear. */
export const SECRETS = {
  email: 'alice.smith@example.com',
  card: '4111 1111 1111 1111',
  cardPlain: '4111111111111111',
  bearer: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA',
  password: 'hunter2-correct-horse',
} as const;

export interface Request {
  correlationId: string;
  failed: boolean;
  /** Trace IDs of the two halves: before and after the proxy that drops `traceparent`. */
  frontTraceId: string;
  backTraceId: string;
}

/**
 * Three services, each with its own OpenTelemetry SDK exporting OTLP/gRPC to the collector:
 * gateway → orders → (a proxy that forwards `x-request-id` but drops `traceparent`) → payments.
 * Every request carries a correlation ID; failing requests fail in payments and the error
 * propagates back as error statuses. Secrets are planted in attributes, method arguments and
 * exception messages.
 */
export class ThreeServices {
  private readonly providers: BasicTracerProvider[] = [];
  private readonly gateway: Tracer;
  private readonly orders: Tracer;
  private readonly payments: Tracer;

  constructor(grpcEndpoint: string) {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const make = (service: string) => {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: grpcEndpoint }), { scheduledDelayMillis: 50 })],
      });
      this.providers.push(provider);
      return provider.getTracer(`${service}-app`);
    };
    this.gateway = make('gateway');
    this.orders = make('orders');
    this.payments = make('payments');
  }

  request(index: number, failed: boolean): Request {
    const correlationId = `req-${index.toString().padStart(4, '0')}`;
    const tag = { 'flowtrace.correlation_id': correlationId };
    const at = (ms: number) => new Date(Date.now() - 10_000 + ms);
    // gateway: the edge
    const edge = this.gateway.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: at(0), attributes: { ...tag, 'http.route': '/checkout', 'user.email': SECRETS.email } });
    const gctx = trace.setSpan(context.active(), edge);
    const call = this.gateway.startSpan('POST /orders', { kind: SpanKind.CLIENT, startTime: at(1), attributes: { ...tag, 'http.request.header.authorization': SECRETS.bearer } }, gctx);
    // orders: continues the trace (traceparent propagated)
    const octx = this.carry(trace.setSpan(gctx, call));
    const server = this.orders.startSpan('POST /orders', { kind: SpanKind.SERVER, startTime: at(2), attributes: { ...tag, 'http.route': '/orders' } }, octx);
    const sctx = trace.setSpan(octx, server);
    const method = this.orders.startSpan('OrderService.create', { kind: SpanKind.INTERNAL, startTime: at(3), attributes: { ...tag, 'flowtrace.args.0': `{"email":"${SECRETS.email}","card":"${SECRETS.card}"}`, password: SECRETS.password } }, sctx);
    const mctx = trace.setSpan(sctx, method);
    const pay = this.orders.startSpan('POST /pay', { kind: SpanKind.CLIENT, startTime: at(4), attributes: { ...tag } }, mctx);
    // payments: behind a proxy that dropped traceparent — a new trace, same correlation ID
    const back = this.payments.startSpan('POST /pay', { kind: SpanKind.SERVER, startTime: at(5), root: true, attributes: { ...tag, 'http.route': '/pay', 'payment.card': SECRETS.card } });
    const charge = this.payments.startSpan('PaymentService.charge', { kind: SpanKind.INTERNAL, startTime: at(6), attributes: { ...tag, 'flowtrace.args.0': `"${SECRETS.cardPlain}"` } }, trace.setSpan(context.active(), back));
    if (failed) {
      charge.recordException(new Error(`card ${SECRETS.cardPlain} declined for ${SECRETS.email}`));
      for (const s of [charge, back, pay, method, server, call, edge]) s.setStatus({ code: SpanStatusCode.ERROR, message: `payment failed for ${SECRETS.email}` });
    }
    charge.end(at(10));
    back.end(at(12));
    pay.end(at(13));
    method.end(at(14));
    server.end(at(15));
    call.end(at(16));
    edge.end(at(17));
    return { correlationId, failed, frontTraceId: edge.spanContext().traceId, backTraceId: back.spanContext().traceId };
  }

  /** What crosses the wire: W3C context through a carrier, as HTTP headers would carry it. */
  private carry(ctx: Context): Context {
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
    return propagation.extract(context.active(), carrier, { get: (c, k) => c[k], keys: (c) => Object.keys(c) });
  }

  async flush(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.shutdown()));
  }
}
