import type { ProcessorFactory } from '../processor.js';
import type { SampleConfig } from './config.js';
import { SampleProcessor } from './sample.js';

export { sampleConfigSchema, type SampleConfig } from './config.js';

export const sampleProcessorFactory: ProcessorFactory<SampleConfig> = {
  type: 'sample',
  create: (config, next, context) => new SampleProcessor(config, next, context),
};
