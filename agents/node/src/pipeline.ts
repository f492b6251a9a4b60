import { hostname } from 'node:os';
import { context, propagation, trace, type Attributes } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator, type InstrumentationScope } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { AgentConfig, SamplerName } from './config.js';
import { FlowTraceContextManager } from './context-manager.js';
import { CorrelationPropagator, CorrelationSpanProcessor } from './correlation.js';
import { createExporter } from './exporter.js';
import type { SpanSink } from './method-span.js';
import { MethodTracer } from './method-tracer.js';
import { AGENT_NAME, AGENT_VERSION } from './version.js';

export function createSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

export function createResource(config: AgentConfig): Resource {
  const attrs: Attributes = {
    'host.name': hostname(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'telemetry.distro.name': 'flowtrace',
    'telemetry.distro.version': AGENT_VERSION,
    ...config.resourceAttributes,
    'service.name': config.serviceName,
  };
  if (config.serviceVersion !== undefined && attrs['service.version'] === undefined) attrs['service.version'] = config.serviceVersion;
  return defaultResource().merge(resourceFromAttributes(attrs));
}

/**
 * The batch processor, counting what it was handed since the last flush (so
 * that exit handling knows whether there is anything to send), and the target
 * method spans end into directly.
 */
export class ExportingProcessor implements SpanProcessor, SpanSink {
  pending = 0;
  private readonly batch: BatchSpanProcessor;

  constructor(
    exporter: SpanExporter,
    readonly resource: Resource,
    readonly scope: InstrumentationScope,
  ) {
    this.batch = new BatchSpanProcessor(exporter);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.pending++;
    this.batch.onEnd(span);
  }

  forceFlush(): Promise<void> {
    this.pending = 0;
    return this.batch.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.batch.shutdown();
  }
}

export interface Pipeline {
  readonly provider: BasicTracerProvider;
  readonly contextManager: FlowTraceContextManager;
  readonly processor: ExportingProcessor;
  readonly methods: MethodTracer;
  readonly resource: Resource;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface PipelineOptions {
  /** Replaces the OTLP exporter (tests, benchmarks). */
  exporter?: SpanExporter;
  /** Install the API globals (tracer provider, context manager, propagators). Default true. */
  registerGlobals?: boolean;
}

/** The tracer provider, context manager, propagators and exporter, wired as one. */
export function createPipeline(config: AgentConfig, opts: PipelineOptions = {}): Pipeline {
  const resource = createResource(config);
  const scope: InstrumentationScope = { name: AGENT_NAME, version: AGENT_VERSION };
  const exporter = opts.exporter ?? createExporter(config.protocol, config.endpoint);
  const processor = new ExportingProcessor(exporter, resource, scope);
  const provider = new BasicTracerProvider({
    resource,
    sampler: createSampler(config.sampler, config.samplerRatio),
    spanProcessors: [new CorrelationSpanProcessor(), processor],
  });
  const contextManager = new FlowTraceContextManager();
  contextManager.enable();
  if (opts.registerGlobals !== false) {
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new CorrelationPropagator()],
      }),
    );
  }
  const methods = new MethodTracer({
    storage: contextManager.storage,
    sink: processor,
    sdkTracer: provider.getTracer(AGENT_NAME, AGENT_VERSION),
    // These samplers keep a sampled parent's decision, so calls inside a sampled trace need not ask.
    followsParent: config.sampler.startsWith('parentbased_') || config.sampler === 'always_on',
    captureArgs: config.captureArgs,
    captureReturn: config.captureReturn,
    maxValueBytes: config.maxValueBytes,
  });
  return {
    provider,
    contextManager,
    processor,
    methods,
    resource,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

