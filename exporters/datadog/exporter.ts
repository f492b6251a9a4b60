import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Span } from '../../collector/src/model/span.js';
import { ExportError, type Exporter, type ExporterContext } from '../exporter.js';
import { resolveEndpoint, type DatadogConfig } from './config.js';
import { networkError, responseError } from './http.js';
import { buildRequests, encodeRecord, readRecords, RecordFormatError, type IntakeRequest } from './records.js';

/** The record format of records.ts; shared by every Datadog exporter in trace-intake mode. */
export const DATADOG_V04_ENCODING = 'datadog-v0.4';

/** Batches sent in part, at most: beyond it the oldest is forgotten (and resent in full if retried). */
const MAX_PARTIAL_BATCHES = 1000;

/**
 * Sends spans to the Datadog Agent's trace intake: `PUT /v0.4/traces`, msgpack, the way
 * Datadog's own tracers talk to a local agent (no API key needed there).
 */
export class DatadogTraceIntakeExporter implements Exporter {
  readonly encoding = DATADOG_V04_ENCODING;
  private readonly url: string;
  private readonly headers: Record<string, string>;
  /**
   * batchId → requests of it already accepted. A batch larger than `max_request_bytes` goes
   * out as several requests; when a later one fails, the retry skips those the agent took,
   * which it would otherwise store twice. In memory only: after a restart a batch is resent whole.
   */
  private readonly delivered = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly config: DatadogConfig,
    private readonly context: ExporterContext,
  ) {
    this.url = `${resolveEndpoint(config)}/v0.4/traces`;
    this.headers = {
      ...config.headers,
      'Content-Type': 'application/msgpack',
      // The process that builds the payload, as every Datadog tracer reports itself.
      'Datadog-Meta-Lang': 'nodejs',
      'Datadog-Meta-Lang-Version': process.version,
      'Datadog-Meta-Lang-Interpreter': 'v8',
      'Datadog-Meta-Tracer-Version': `flowtrace-${flowtraceVersion()}`,
      // Spans carry _top_level already (records.ts), by the agent's own rule.
      'Datadog-Client-Computed-Top-Level': 'yes',
      // Without it the agent answers 200 also when it drops a payload for being overloaded.
      'Datadog-Send-Real-Http-Status': 'true',
    };
    if (config.api_key) this.headers['DD-API-KEY'] = config.api_key;
    if (config.container_id) this.headers['Datadog-Container-ID'] = config.container_id;
  }

  encode(spans: Span[]): Uint8Array {
    return encodeRecord(spans);
  }

  async send(payload: Buffer, _spanCount: number, batchId: string): Promise<void> {
    let requests: IntakeRequest[];
    try {
      requests = buildRequests(readRecords(payload), this.config.max_request_bytes);
    } catch (err) {
      if (err instanceof RecordFormatError) throw new ExportError(`${this.name}: unreadable record: ${err.message}`, false);
      throw err;
    }
    const done = this.delivered.get(batchId) ?? 0;
    for (let i = done; i < requests.length; i++) {
      try {
        await this.put(requests[i]);
      } catch (err) {
        this.remember(batchId, i, err);
        throw err;
      }
    }
    this.delivered.delete(batchId);
  }

  private remember(batchId: string, delivered: number, err: unknown): void {
    if (err instanceof ExportError && !err.retryable) {
      this.delivered.delete(batchId);
      return;
    }
    if (delivered === 0) return;
    this.delivered.delete(batchId); // re-insert: the newest goes last
    this.delivered.set(batchId, delivered);
    if (this.delivered.size > MAX_PARTIAL_BATCHES) this.delivered.delete(this.delivered.keys().next().value!);
    this.context.logger.debug({ exporter: this.name, batchId, delivered }, 'datadog: batch sent in part, the retry resumes after the accepted requests');
  }

  private async put(request: IntakeRequest): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'PUT',
        headers: { ...this.headers, 'X-Datadog-Trace-Count': String(request.traceCount) },
        body: request.body,
        signal: AbortSignal.timeout(this.config.timeout_ms),
      });
    } catch (err) {
      throw networkError(`${this.name}: PUT ${this.url}`, err);
    }
    // Read the body either way: it frees the connection for reuse, and explains a failure.
    const body = await res.text().catch(() => '');
    if (!res.ok) throw responseError(`${this.name}: PUT ${this.url}`, res.status, res.headers.get('retry-after'), body);
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

let version: string | undefined;

/** FlowTrace's version from its package.json (exporters/datadog/ in the sources, dist/exporters/datadog/ built). */
function flowtraceVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  for (let dir = import.meta.dirname, i = 0; i < 4; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'flowtrace' && typeof pkg.version === 'string') return (version = pkg.version);
    } catch {
      // not here: one level up
    }
  }
  return version;
}
