export type { ClickHouseConfig } from './config.js';
export { openClickHouse, GUEST_EXPORT_FORMATS, type ClickHouseClients, type GuestExportFormat } from './connection.js';
export { createClickHouseExporter } from './factory.js';
export { ClickHouseExporter } from './exporter.js';
export { SPAN_KIND_NAMES, STATUS_CODE_NAMES } from './rowbinary.js';
export { tableName, TRACE_ID_SUFFIX, FLOWTRACE_COLUMNS } from './schema.js';
