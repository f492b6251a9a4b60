export { jaegerConfigSchema, toOtlpConfig, JAEGER_DEFAULT_ENDPOINTS, type JaegerExporterConfig } from './config.js';
export { jaegerExporterFactory } from './factory.js';
