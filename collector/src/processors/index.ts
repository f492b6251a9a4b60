import type { Config } from '../config/schema.js';
import type { Consumer } from '../pipeline/stage.js';
import { filterProcessorFactory } from './filter/factory.js';
import type { Processor, ProcessorContext } from './processor.js';
import { redactProcessorFactory } from './redact/factory.js';
import { sampleProcessorFactory } from './sample/factory.js';
import { stitchProcessorFactory } from './stitch/factory.js';

/**
 * Builds the processor chain of `pipeline.processors`, last first, each with the next stage
 * as its consumer; returns them in pipeline order (the first receives from the receivers).
 */
export function buildProcessors(config: Config, tail: Consumer, context: ProcessorContext): Processor[] {
  const chain: Processor[] = [];
  let next = tail;
  for (const type of [...config.pipeline.processors].reverse()) {
    const child = { ...context, logger: context.logger.child({ component: `processor.${type}` }) };
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
    next = processor;
  }
  return chain;
}
