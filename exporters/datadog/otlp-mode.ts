import type { z } from 'zod';
import type { Exporter, ExporterContext } from '../exporter.js';
import { resolveEndpoint, type DatadogConfig } from './config.js';

/**
 * `mode: otlp`: an agent with OTLP ingest enabled (otlp_config.receiver) takes plain OTLP
 * and maps the spans itself, so this mode is the OTLP exporter under the Datadog name.
 */

/** What this mode needs of the OTLP exporter's factory (exporters/otlp, `otlpExporterFactory`). */
export interface OtlpExporterFactoryLike<C> {
  readonly configSchema: z.ZodType<C>;
  create(name: string, config: C, context: ExporterContext): Exporter;
}

/** The agent's OTLP receiver ports (otlp_config.receiver.protocols): gRPC 4317, HTTP 4318. */
const AGENT_OTLP_GRPC = 'http://localhost:4317';

/**
 * The OTLP exporter for `config`: the `otlp:` settings, validated by the OTLP exporter's own
 * schema, with `endpoint` set to the agent's and `protocol` defaulting to `http/protobuf`
 * (the OTLP exporter's own default is grpc; the agent's default endpoint here is its HTTP
 * port). With `protocol: grpc` and no endpoint, the agent's gRPC port.
 */
export function createOtlpModeExporter<C>(otlp: OtlpExporterFactoryLike<C> | undefined, name: string, config: DatadogConfig, context: ExporterContext): Exporter {
  if (!otlp) throw new Error(`exporters.${name}: mode otlp needs the OTLP exporter (exporters/otlp), which is not connected to the datadog exporter`);
  const settings = { protocol: 'http/protobuf', ...config.otlp };
  const endpoint = config.endpoint === '' && settings.protocol === 'grpc' ? AGENT_OTLP_GRPC : resolveEndpoint(config);
  const parsed = otlp.configSchema.safeParse({ ...settings, endpoint });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `exporters.${name}.otlp${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
    throw new Error(problems.join('\n'));
  }
  return otlp.create(name, parsed.data, context);
}
