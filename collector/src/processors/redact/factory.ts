import type { ProcessorFactory } from '../processor.js';
import type { RedactConfig } from './config.js';
import { RedactProcessor } from './redact.js';

export const redactProcessorFactory: ProcessorFactory<RedactConfig> = {
  type: 'redact',
  create: (config, next, context) => new RedactProcessor(config, next, context),
};
