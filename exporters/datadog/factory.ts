import type { Exporter, ExporterContext } from '../exporter.js';
import { otlpExporterFactory } from '../otlp/index.js';
import { datadogConfigSchema, type DatadogConfig } from './config.js';
import { DatadogTraceIntakeExporter } from './exporter.js';
import { createOtlpModeExporter, type OtlpExporterFactoryLike } from './otlp-mode.js';

/**
 * The datadog exporter's factory. `otlp` is the OTLP exporter's factory, which `mode: otlp`
 * delegates to (a parameter so that tests can stand in for it); without it that mode fails
 * at creation with a message saying so.
 */
export function createDatadogExporterFactory<C>(otlp?: OtlpExporterFactoryLike<C>) {
  return {
    /** The key under `exporters:` in the config file. */
    type: 'datadog' as const,
    configSchema: datadogConfigSchema,
    create(name: string, config: DatadogConfig, context: ExporterContext): Exporter {
      return config.mode === 'otlp' ? createOtlpModeExporter(otlp, name, config, context) : new DatadogTraceIntakeExporter(name, config, context);
    },
  };
}

export const datadogExporterFactory = createDatadogExporterFactory(otlpExporterFactory);
