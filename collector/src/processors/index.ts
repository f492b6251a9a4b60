import type { Config } from '../config/schema.js';
import type { Consumer } from '../pipeline/stage.js';
import type { StageJournal } from '../pipeline/journal/stage-journal.js';
import { filterProcessorFactory } from './filter/factory.js';
import { TraceFilter } from './filter/trace-filter.js';
import type { Processor, ProcessorContext } from './processor.js';
import { redactProcessorFactory } from './redact/factory.js';
import { sampleProcessorFactory } from './sample/factory.js';
import { stitchProcessorFactory } from './stitch/factory.js';

/**
 * Whether a processor of the chain holds spans after they are acknowledged (until their trace
 * is complete): stitch, tail sampling, the filter's conditional tracing and method sampling.
 * Those need the write-ahead journal in front of them.
 */
export function chainHoldsSpans(config: Config): boolean {
  const { processors } = config;
  return config.pipeline.processors.some((type) => {
    switch (type) {
      case 'filter':
        return new TraceFilter(processors.filter).needsTraces;
      case 'redact':
        return false;
      case 'stitch':
        return processors.stitch.enabled;
      case 'sample':
        return processors.sample.tail.enabled;
    }
  });
}

/**
 * Builds the processor chain of `pipeline.processors`, last first, each with the next stage
 * as its consumer; returns them in pipeline order (the first receives from the receivers).
 * `journalFor(index, type)` gives each processor its view of the journal when it runs.
 * `tap`, when given, is put in front of the processor at `tap.at` (the live tail's, after
 * redaction: query/tail/tail-tap.ts); at `types.length` in front of `tail`; at 0 the caller
 * wraps the chain's entry itself.
 */
export function buildProcessors(
  config: Config,
  tail: Consumer,
  context: ProcessorContext,
  journalFor?: (index: number) => StageJournal,
  tap?: { at: number; wrap(next: Consumer): Consumer },
): Processor[] {
  const chain: Processor[] = [];
  const types = config.pipeline.processors;
  let next = tap && tap.at === types.length && tap.at > 0 ? tap.wrap(tail) : tail;
  for (let index = types.length - 1; index >= 0; index--) {
    const type = types[index];
    const child = { ...context, logger: context.logger.child({ component: `processor.${type}` }), journal: journalFor?.(index) };
    let processor: Processor;
    switch (type) {
      case 'filter':
        processor = filterProcessorFactory.create(config.processors.filter, next, child);
        break;
      case 'redact':
        processor = redactProcessorFactory.create(config.processors.redact, next, child);
        break;
      case 'stitch':
        processor = stitchProcessorFactory.create(config.processors.stitch, next, child);
        break;
      case 'sample':
        processor = sampleProcessorFactory.create(config.processors.sample, next, child);
        break;
    }
    chain.unshift(processor);
    next = tap && tap.at === index && index > 0 ? tap.wrap(processor) : processor;
  }
  return chain;
}
