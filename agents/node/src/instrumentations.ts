import { FastifyOtelInstrumentation } from '@fastify/otel';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { TracerProvider } from '@opentelemetry/api';

/**
 * The official instrumentations for HTTP in and out (node:http, fetch/undici)
 * and the frameworks (Express, Fastify, NestJS). They carry traceparent,
 * tracestate and baggage through the global propagator.
 */
export function enableInstrumentations(tracerProvider: TracerProvider): () => void {
  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation(),
    new UndiciInstrumentation(),
    new ExpressInstrumentation(),
    // Fastify's own instrumentation (the OpenTelemetry one covers Fastify < 5): it
    // registers itself on every Fastify instance through diagnostics_channel.
    new FastifyOtelInstrumentation({ registerOnInitialization: true }) as unknown as Instrumentation,
    new NestInstrumentation(),
  ];
  return registerInstrumentations({ instrumentations, tracerProvider });
}
