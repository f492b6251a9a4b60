import { trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AgentConfig } from '../../src/config.js';
import { createPipeline, type Pipeline } from '../../src/pipeline.js';

export function testConfig(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    serviceName: 'agent-test',
    serviceVersion: undefined,
    protocol: 'grpc',
    endpoint: 'http://127.0.0.1:1',
    sampler: 'parentbased_always_on',
    samplerRatio: 1,
    resourceAttributes: {},
    include: [],
    exclude: [],
    captureArgs: true,
    captureReturn: true,
    maxValueBytes: 64,
    logCorrelation: 'auto',
    logsExporter: 'none',
    logsProtocol: 'grpc',
    logsEndpoint: 'http://127.0.0.1:1',
    projectRoot: process.cwd(),
    configFile: undefined,
    ...over,
  };
}

/** A full pipeline (globals included) that exports into memory. */
export function memoryPipeline(over: Partial<AgentConfig> = {}): { pipeline: Pipeline; spans(): Promise<ReadableSpan[]>; reset(): void } {
  const exporter = new InMemorySpanExporter();
  const pipeline = createPipeline(testConfig(over), { exporter });
  return {
    pipeline,
    async spans() {
      await pipeline.flush();
      return exporter.getFinishedSpans();
    },
    reset() {
      exporter.reset();
    },
  };
}

/** Runs `fn` inside a sampled SDK span (the way a request handler runs inside its HTTP span). */
export function inSpan<T>(pipeline: Pipeline, name: string, fn: (span: Span) => T): T {
  return pipeline.provider.getTracer('test').startActiveSpan(name, (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}

export function byName(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

export function one(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = byName(spans, name);
  if (found.length !== 1) throw new Error(`expected one span ${name}, got ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
  return found[0];
}

export { trace };
