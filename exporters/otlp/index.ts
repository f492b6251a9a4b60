export {
  otlpConfigSchema,
  resolveEndpoint,
  OTLP_PROTOCOLS,
  GRPC_DEFAULT_PORT,
  HTTP_TRACES_PATH,
  type OtlpExporterConfig,
  type OtlpProtocol,
  type ResolvedEndpoint,
} from './config.js';
export { encodeTraceRequest } from './encoder.js';
export { OtlpExporter, OTLP_PROTO_ENCODING } from './exporter.js';
export { otlpExporterFactory } from './factory.js';
