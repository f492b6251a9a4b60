import type { ExporterContext } from '../exporter.js';
import { loadBalancingConfigSchema, type LoadBalancingConfig } from './config.js';
import { LoadBalancingExporter } from './exporter.js';

/** `exporters: loadbalancing` / `loadbalancing/<name>` in the config. */
export const loadBalancingExporterFactory = {
  type: 'loadbalancing',
  configSchema: loadBalancingConfigSchema,
  create: (name: string, config: LoadBalancingConfig, context: ExporterContext): LoadBalancingExporter => new LoadBalancingExporter(name, config, context),
} as const;
