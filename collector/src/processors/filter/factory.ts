import type { ProcessorFactory } from '../processor.js';
import type { FilterConfig } from './config.js';
import { FilterProcessor } from './filter.js';

export const filterProcessorFactory: ProcessorFactory<FilterConfig> = {
  type: 'filter',
  create: (config, next, context) => new FilterProcessor(config, next, context),
};
