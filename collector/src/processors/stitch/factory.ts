import type { ProcessorFactory } from '../processor.js';
import type { StitchConfig } from './config.js';
import { StitchProcessor } from './stitch.js';

export const stitchProcessorFactory: ProcessorFactory<StitchConfig> = {
  type: 'stitch',
  create: (config, next, context) => new StitchProcessor(config, next, context),
};
