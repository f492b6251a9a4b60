import type { ExporterContext } from '../exporter.js';
import { OtlpExporter } from '../otlp/exporter.js';
import { jaegerConfigSchema, toOtlpConfig, type JaegerExporterConfig } from './config.js';

/** `exporters: jaeger` / `jaeger/<name>` in the config: OTLP to Jaeger v2 (encoding `otlp-proto`). */
export const jaegerExporterFactory = {
  type: 'jaeger',
  configSchema: jaegerConfigSchema,
  create: (name: string, config: JaegerExporterConfig, context: ExporterContext): OtlpExporter => new OtlpExporter(name, toOtlpConfig(config), context),
} as const;
