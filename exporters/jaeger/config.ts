import { z } from 'zod';
import { checkOtlpConfig, endpointSchema, otlpFields, OTLP_PROTOCOLS, type OtlpExporterConfig, type OtlpProtocol } from '../otlp/config.js';

/**
 * The `jaeger` exporter's settings. Jaeger v2 is an OpenTelemetry Collector distribution and
 * takes OTLP natively (its `otlp` receiver, gRPC on 4317, HTTP on 4318), so this is the otlp
 * exporter with Jaeger's defaults.
 */

/** Jaeger's OTLP receiver on its default ports. */
export const JAEGER_DEFAULT_ENDPOINTS: Record<OtlpProtocol, string> = {
  grpc: 'http://localhost:4317',
  'http/protobuf': 'http://localhost:4318',
};

export const jaegerConfigSchema = z
  .object({
    /** Jaeger's collector accepts both; gRPC is what its own documentation leads with. */
    protocol: z.enum(OTLP_PROTOCOLS).default('grpc'),
    /** Jaeger's OTLP receiver: http://localhost:4317 for gRPC, http://localhost:4318 for HTTP (`/v1/traces` is added). */
    endpoint: endpointSchema.optional(),
    headers: otlpFields.headers,
    tls: otlpFields.tls,
    /**
     * Jaeger accepts gzip (and answers uncompressed). Off by default: Jaeger usually runs next to
     * the collector, where compressing costs more CPU than the bytes it saves; set gzip across a WAN.
     */
    compression: z.enum(['gzip', 'none']).default('none'),
    timeout_ms: otlpFields.timeout_ms,
  })
  .strict()
  .superRefine((config, ctx) => checkOtlpConfig({ ...config, endpoint: config.endpoint ?? JAEGER_DEFAULT_ENDPOINTS[config.protocol] }, ctx));

export type JaegerExporterConfig = z.output<typeof jaegerConfigSchema>;

/** The otlp exporter settings a jaeger config stands for. */
export function toOtlpConfig(config: JaegerExporterConfig): OtlpExporterConfig {
  // Jaeger takes traces only.
  return { ...config, endpoint: config.endpoint ?? JAEGER_DEFAULT_ENDPOINTS[config.protocol], signals: ['traces'] };
}
