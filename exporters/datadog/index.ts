export { datadogConfigSchema, resolveEndpoint, DEFAULT_ENDPOINTS, DEFAULT_MAX_REQUEST_BYTES, DATADOG_MODES, type DatadogConfig, type DatadogMode } from './config.js';
export { createDatadogExporterFactory, datadogExporterFactory } from './factory.js';
export { DatadogTraceIntakeExporter, DATADOG_V04_ENCODING } from './exporter.js';
export { toDatadogSpan, topLevelFlags, DEFAULT_SERVICE, type DatadogSpan, type SpanRef } from './mapping.js';
export { createOtlpModeExporter, type OtlpExporterFactoryLike } from './otlp-mode.js';
