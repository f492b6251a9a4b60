export { fileConfigSchema, type FileExporterConfig } from './config.js';
export { encodeJsonLines } from './otlp-json.js';
export { FileExporter, OTLP_JSON_LINES_ENCODING } from './exporter.js';
export { fileExporterFactory } from './factory.js';
