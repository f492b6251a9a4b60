import type { ExporterContext } from '../exporter.js';
import { otlpConfigSchema, type OtlpExporterConfig } from './config.js';
import { OtlpExporter } from './exporter.js';

/** `exporters: otlp` / `otlp/<name>` in the config. */
export const otlpExporterFactory = {
  type: 'otlp',
  configSchema: otlpConfigSchema,
  create: (name: string, config: OtlpExporterConfig, context: ExporterContext): OtlpExporter => new OtlpExporter(name, config, context),
} as const;
