import { datadogExporterFactory } from './datadog/index.js';
import type { Exporter, ExporterContext } from './exporter.js';
import { fileExporterFactory } from './file/index.js';
import { jaegerExporterFactory } from './jaeger/index.js';
import { kafkaExporterFactory } from './kafka/index.js';
import { loadBalancingExporterFactory } from './loadbalancing/index.js';
import { otlpExporterFactory } from './otlp/index.js';

/**
 * The forwarding exporters, by the type named in the config (`exporters.<type>[/<name>]`).
 * ClickHouse is not here: it is the collector's own storage, always on, set under `storage:`.
 */
export const EXPORTER_FACTORIES = {
  otlp: otlpExporterFactory,
  jaeger: jaegerExporterFactory,
  datadog: datadogExporterFactory,
  file: fileExporterFactory,
  loadbalancing: loadBalancingExporterFactory,
  kafka: kafkaExporterFactory,
} as const;

export type ExporterType = keyof typeof EXPORTER_FACTORIES;
export const EXPORTER_TYPES = Object.keys(EXPORTER_FACTORIES) as ExporterType[];

/** An exporter's settings after validation by its own factory's schema. */
export interface ExporterSettings {
  type: ExporterType;
  /** The key as written: `jaeger`, `otlp/honeycomb`. */
  name: string;
  config: unknown;
}

/** Creates the exporter a validated entry describes. */
export function createExporter(settings: ExporterSettings, context: ExporterContext): Exporter {
  const factory = EXPORTER_FACTORIES[settings.type] as { create(name: string, config: unknown, context: ExporterContext): Exporter };
  return factory.create(settings.name, settings.config, context);
}
