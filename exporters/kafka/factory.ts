import type { ExporterContext } from '../exporter.js';
import { kafkaExporterConfigSchema, type KafkaExporterConfig } from './config.js';
import { KafkaExporter } from './exporter.js';

/** `exporters: kafka` / `kafka/<name>` in the config. */
export const kafkaExporterFactory = {
  type: 'kafka',
  configSchema: kafkaExporterConfigSchema,
  create: (name: string, config: KafkaExporterConfig, context: ExporterContext): KafkaExporter => new KafkaExporter(name, config, context),
} as const;
