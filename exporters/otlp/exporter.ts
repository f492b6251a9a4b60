import type { Span } from '../../collector/src/model/span.js';
import type { Exporter, ExporterContext } from '../exporter.js';
import { resolveEndpoint, type OtlpExporterConfig } from './config.js';
import { encodeTraceRequest } from './encoder.js';
import { GrpcTransport } from './grpc-transport.js';
import { HttpTransport } from './http-transport.js';
import { parsePartialSuccess } from './response.js';
import { loadTls } from './tls.js';
import type { Transport } from './transport.js';

export const OTLP_PROTO_ENCODING = 'otlp-proto';
const USER_AGENT = 'FlowTrace-OTLP-Exporter';

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
    const endpoint = resolveEndpoint(this.config);
    const tls = endpoint.tls ? await loadTls(this.config.tls, `exporters.${this.name}`) : undefined;
    const common = {
      tls,
      headers: this.config.headers,
      gzip: this.config.compression === 'gzip',
      timeoutMs: this.config.timeout_ms,
      userAgent: USER_AGENT,
    };
    this.transport =
      this.config.protocol === 'grpc' ? new GrpcTransport({ ...common, target: endpoint.target }) : new HttpTransport({ ...common, url: endpoint.target });
    this.context.logger.info({ exporter: this.name, protocol: this.config.protocol, endpoint: endpoint.target, tls: endpoint.tls }, 'OTLP exporter started');
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
