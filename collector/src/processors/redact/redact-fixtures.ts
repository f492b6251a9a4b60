import { pino } from 'pino';
import { Registry } from 'prom-client';
import { SpanKind, type InstrumentationScope, type Resource, type Span } from '../../model/span.js';
import type { Consumer } from '../../pipeline/stage.js';
import { RecordedDrops } from '../../pipeline/drops.testing.js';
import type { ProcessorContext } from '../processor.js';
import { redactConfigSchema } from './config.js';
import { RedactProcessor } from './redact.js';
import { testSpan } from '../../model/span.testing.js';

/** Spans and a processor for the redact tests. */

export const HASH_KEY = 'test-key-0123456789abcdef';

export function resource(attributes: Record<string, string> = { 'service.name': 'shop' }): Resource {
  return { attributes, droppedAttributesCount: 0, schemaUrl: '', serviceName: attributes['service.name'] ?? '' };
}

export function scope(attributes: Record<string, string> = {}): InstrumentationScope {
  return { name: 'test', version: '1.0.0', attributes, droppedAttributesCount: 0, schemaUrl: '' };
}

let nextId = 1;
export function span(extra: Partial<Span> = {}): Span {
  return testSpan({
    resource: resource(),
    scope: scope(),
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: (nextId++).toString(16).padStart(16, '0'),
    flags: 1,
    name: 'OrderService.place',
    kind: SpanKind.INTERNAL,
    startTimeUnixNano: 1_732_982_400_000_000_000n,
    endTimeUnixNano: 1_732_982_400_010_000_000n,
    ...extra,
  });
}

/** A next stage that records the batches it gets. */
export class Recorder implements Consumer {
  got: Span[][] = [];
  async consume(spans: Span[]): Promise<void> {
    this.got.push(spans);
  }
  get all(): Span[] {
    return this.got.flat();
  }
}

export function setup(config: unknown = {}) {
  const registry = new Registry();
  const drops = new RecordedDrops();
  const context = { logger: pino({ level: 'silent' }), registry, drops } as unknown as ProcessorContext;
  const next = new Recorder();
  const processor = new RedactProcessor(redactConfigSchema.parse(config), next, context);
  /** Redacts one span and returns it (the same object). */
  const redact = async (s: Span): Promise<Span> => {
    await processor.consume([s]);
    return s;
  };
  return { processor, next, registry, drops, redact };
}
