import { isAbsolute, resolve } from 'node:path';
import type { Span } from '../../collector/src/model/span.js';
import { ExporterConfigError, type Exporter, type ExporterContext } from '../exporter.js';
import type { FileExporterConfig } from './config.js';
import { encodeJsonLines } from './otlp-json.js';
import { RotatingFile, UnsafeDirectoryError } from './rotating-file.js';

export const OTLP_JSON_LINES_ENCODING = 'otlp-json-lines';
const MIB = 1024 * 1024;
/** How often a quiet file is checked for age. */
const AGE_CHECK_MS = 10_000;

/**
 * Writes spans to JSON Lines files (README.md here): one OTLP/JSON request per line, each
 * holding one span with its resource and scope. Records are whole lines, so the durable queue's
 * concatenated records are one payload, appended as they are. Delivery is at least once: a
 * payload written just before a crash, and not yet acknowledged to the queue, is written again
 * after the restart.
 */
export class FileExporter implements Exporter {
  readonly encoding = OTLP_JSON_LINES_ENCODING;
  private file: RotatingFile | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Appends and rotations one at a time: a timer's rotation never cuts into a write. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly config: FileExporterConfig,
    private readonly context: ExporterContext,
    private readonly now?: () => number,
  ) {}

  encode(spans: Span[]): Uint8Array {
    return Buffer.from(encodeJsonLines(spans), 'utf8');
  }

  async start(): Promise<void> {
    if (this.file) return;
    const directory = resolve(this.config.directory);
    const file = new RotatingFile({
      directory,
      prefix: this.config.prefix,
      maxBytes: this.config.max_file_mib * MIB,
      maxAgeMs: this.config.max_file_age_seconds * 1000,
      compress: this.config.compress,
      maxClosedFiles: this.config.max_closed_files,
      maxClosedAgeMs: this.config.max_closed_age_hours * 3_600_000,
      onRetentionError: (err, path) => this.context.logger.warn({ err: String(err), exporter: this.name, path }, 'file exporter: retention could not delete a closed file'),
      now: this.now,
    });
    try {
      await file.open();
    } catch (err) {
      const problem = err instanceof UnsafeDirectoryError ? err.message : `cannot use ${directory}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      throw new ExporterConfigError(`exporters.${this.name}.directory`, problem);
    }
    this.file = file;
    this.timer = setInterval(() => void this.serially(() => file.rotateIfOld()).catch((err: unknown) => this.context.logger.error({ err: String(err), exporter: this.name }, 'file exporter: rotation failed')), Math.min(AGE_CHECK_MS, this.config.max_file_age_seconds * 1000));
    this.timer.unref();
    this.context.logger.info({ exporter: this.name, directory: isAbsolute(this.config.directory) ? this.config.directory : directory }, 'file exporter started');
  }

  async send(payload: Buffer): Promise<void> {
    const file = this.file;
    if (!file) throw new Error(`exporter ${this.name} is not started`);
    await this.serially(() => file.append(payload));
  }

  /** Closes (and compresses) the open file. */
  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    const file = this.file;
    this.file = undefined;
    if (file) await this.serially(() => file.rotate());
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.turn.then(work);
    this.turn = run.catch(() => undefined);
    return run;
  }
}
