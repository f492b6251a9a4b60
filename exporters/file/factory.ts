import type { ExporterContext } from '../exporter.js';
import { fileConfigSchema, type FileExporterConfig } from './config.js';
import { FileExporter } from './exporter.js';

/** `exporters: file` / `file/<name>` in the config. */
export const fileExporterFactory = {
  type: 'file',
  configSchema: fileConfigSchema,
  create: (name: string, config: FileExporterConfig, context: ExporterContext): FileExporter => new FileExporter(name, config, context),
} as const;
