import type { Exporter, ExporterContext } from '../exporter.js';
import { openTransport, type OtlpTransportConfig } from './exporter.js';
import { parsePartialSuccess } from './response.js';
import type { Transport } from './transport.js';

/** The encoding name of OTLP logs records in a queue (made by encodeLogsRequest). */
export const OTLP_LOGS_ENCODING = 'otlp-logs-proto';

/**
 * Sends log records to an OTLP backend (`signals: [logs]` on an otlp exporter): POST …/v1/logs or
 * `LogsService/Export`, over the same transports, TLS, headers, compression and retry
 * classification as spans. Records are ExportLogsServiceRequests, which concatenate, so a batch of
 * them is one request as it is. Behind its own durable queue (`<data_dir>/queues/logs/<name>`).
 */
export class OtlpLogsExporter implements Exporter {
  readonly encoding = OTLP_LOGS_ENCODING;
  private transport: Transport | undefined;

  constructor(
    /** `logs/<exporter name>`: labels the queue's metrics apart from the exporter's span queue. */
    readonly name: string,
    /** The exporter's name as configured (`otlp/elastic`), for messages naming its keys. */
    private readonly configName: string,
    private readonly config: OtlpTransportConfig,
    private readonly context: ExporterContext,
  ) {}

  /** Never called: log queues are appended encoded records (collector/src/logs/log-queues.ts). */
  encode(): Uint8Array {
    throw new Error(`${this.name} forwards encoded log records, not spans`);
  }

  async start(): Promise<void> {
    if (this.transport === undefined) this.transport = await openTransport(this.configName, this.config, this.context, 'logs');
  }

  async send(payload: Buffer, records: number, batchId: string): Promise<void> {
    if (this.transport === undefined) throw new Error(`exporter ${this.name} is not started`);
    if (payload.length === 0) return;
    const response = await this.transport.send(payload);
    // ExportLogsServiceResponse has the trace response's layout (rejected_log_records = 1, error_message = 2).
    const partial = parsePartialSuccess(response);
    // Rejected records are the backend's verdict on their content: retrying would not change it.
    if (partial !== undefined && (partial.rejectedSpans > 0 || partial.errorMessage !== '')) {
      this.context.logger.warn({ exporter: this.name, batchId, records, rejectedLogRecords: partial.rejectedSpans, reason: partial.errorMessage }, 'backend accepted the logs batch only partly');
    }
  }

  async shutdown(): Promise<void> {
    this.transport?.close();
    this.transport = undefined;
  }
}
