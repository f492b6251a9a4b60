import type { Span } from '../../collector/src/model/span.js';
import type { Exporter, ExporterContext } from '../exporter.js';
import { HTTP_LOGS_PATH, HTTP_TRACES_PATH, resolveEndpoint, type OtlpExporterConfig, type OtlpSignal } from './config.js';
import { encodeTraceRequest } from './encoder.js';
import { GrpcTransport } from './grpc-transport.js';
import { HttpTransport } from './http-transport.js';
import { parsePartialSuccess } from './response.js';
import { loadTls } from './tls.js';
import type { Transport } from './transport.js';

export const OTLP_PROTO_ENCODING = 'otlp-proto';
const USER_AGENT = 'FlowTrace-OTLP-Exporter';

/** Each signal's gRPC method and OTLP/HTTP path. */
const SIGNAL_ROUTES: Record<OtlpSignal, { grpcPath: string; httpPath: string }> = {
  traces: { grpcPath: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', httpPath: HTTP_TRACES_PATH },
  logs: { grpcPath: '/opentelemetry.proto.collector.logs.v1.LogsService/Export', httpPath: HTTP_LOGS_PATH },
};

/**
 * The connection an OTLP exporter sends one signal over: TLS files read (failing here, naming
 * the key, if one is unusable), gRPC or HTTP as configured. Shared by the span and log exporters.
 */
export async function openTransport(name: string, config: OtlpTransportConfig, context: ExporterContext, signal: OtlpSignal): Promise<Transport> {
  const route = SIGNAL_ROUTES[signal];
  const endpoint = resolveEndpoint(config, route.httpPath);
  const tls = endpoint.tls ? await loadTls(config.tls, `exporters.${name}`) : undefined;
  const common = {
    tls,
    headers: config.headers,
    gzip: config.compression === 'gzip',
    timeoutMs: config.timeout_ms,
    userAgent: USER_AGENT,
  };
  const transport =
    config.protocol === 'grpc' ? new GrpcTransport({ ...common, target: endpoint.target, path: route.grpcPath }) : new HttpTransport({ ...common, url: endpoint.target });
  context.logger.info({ exporter: name, signal, protocol: config.protocol, endpoint: endpoint.target, tls: endpoint.tls }, 'OTLP exporter started');
  return transport;
}

/** What a transport needs of an OTLP exporter's settings. */
export type OtlpTransportConfig = Omit<OtlpExporterConfig, 'signals'>;

/**
 * Sends spans to any OTLP backend (an OpenTelemetry Collector, Jaeger, Tempo, a vendor) over
 * OTLP/gRPC or OTLP/HTTP protobuf. Records are ExportTraceServiceRequests, so a payload of
 * several concatenated records is sent as it is: one request, no re-encoding.
 */
export class OtlpExporter implements Exporter {
  readonly encoding = OTLP_PROTO_ENCODING;
  private transport: Transport | undefined;

  constructor(
    readonly name: string,
    private readonly config: OtlpExporterConfig,
    private readonly context: ExporterContext,
  ) {}

  encode(spans: Span[]): Uint8Array {
    return encodeTraceRequest(spans);
  }

  /** Reads the TLS files (failing here, naming the key, if one is unusable) and sets up the connection. */
  async start(): Promise<void> {
    if (this.transport !== undefined) return;
    this.transport = await openTransport(this.name, this.config, this.context, 'traces');
  }

  async send(payload: Buffer, spanCount: number, batchId: string): Promise<void> {
    if (this.transport === undefined) throw new Error(`exporter ${this.name} is not started`);
    if (payload.length === 0) return;
    const response = await this.transport.send(payload);
    const partial = parsePartialSuccess(response);
    // Rejected spans are the backend's verdict on their content: retrying would not change it.
    if (partial !== undefined && (partial.rejectedSpans > 0 || partial.errorMessage !== '')) {
      this.context.logger.warn(
        { exporter: this.name, batchId, spanCount, rejectedSpans: partial.rejectedSpans, reason: partial.errorMessage },
        'backend accepted the batch only partly',
      );
    }
  }

  async shutdown(): Promise<void> {
    this.transport?.close();
    this.transport = undefined;
  }
}
