import { constants, unlinkSync } from 'node:fs';
import { link, lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { apiCredential, apiUrl, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command, type CommandIO } from '../command.js';

const USAGE = `Usage: flowtrace export --format FORMAT --out FILE [options]

Exports spans (every column of the span table, oldest first) from a running collector into
FILE, streamed as the collector sends them. Needs a token with the sql scope; a token limited
to some services exports only those.

The spans go to FILE.partial first; FILE appears only once the whole export arrived. An
interrupted export (connection lost, collector stopped, Ctrl-C) leaves no FILE: run the same
command again to start it over (a FILE.partial a killed run left behind is replaced).
On a terminal, a progress bar shows rows and bytes.

Options:
${CONNECTION_HELP}
  --format FORMAT      jsonl (one JSON object per span), json, csv or parquet
  --where SQL          a SQL condition on the span columns, e.g. "ServiceName = 'orders'"
                       (checked like 'flowtrace query': allowed functions only)
  --since DURATION     only spans of the last DURATION, e.g. 30m, 1h, 24h
  --out FILE           where to write (refused if it exists, unless --force)
  --force              overwrite FILE
  -h, --help           show this help

Exit status: 0 written, 1 failed or interrupted (no FILE), 2 a bad option (a bad --format, an
existing FILE without --force).
`;

export const EXPORT_FORMATS = ['jsonl', 'json', 'csv', 'parquet'] as const;

/** The collector's row count, sent when the request asks for it (query/export-routes.ts). */
const ROWS_HEADER = 'x-flowtrace-rows';
/** Where the export is written until it is complete. */
export const PARTIAL_SUFFIX = '.partial';
/**
 * Always a new file, owner-only: whatever was at that name (a killed run's file, or a link or
 * hard link someone planted there) is removed first, and O_EXCL refuses one that reappears, so
 * the export never writes through a name into another file.
 */
const PARTIAL_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const REDRAW_MS = 200;
const BAR_WIDTH = 24;

/** Rows so far, for the formats that have one line per row (csv also has its header line). */
function lineRows(format: string, newlines: number): number | undefined {
  if (format === 'jsonl') return newlines;
  if (format === 'csv') return Math.max(0, newlines - 1);
  return undefined;
}

/** `1,234` */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `512 B`, `4.2 MiB` */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The progress line: a bar when the total is known and rows can be counted as they arrive
 * (jsonl, csv), else the rows and bytes so far.
 */
export function progressLine(p: { rows?: number; total?: number; bytes: number; elapsedMs: number }): string {
  const rate = p.elapsedMs > 0 ? `  ${formatBytes(Math.round((p.bytes * 1000) / p.elapsedMs))}/s` : '';
  const size = `${formatBytes(p.bytes)}${rate}`;
  if (p.rows !== undefined && p.total !== undefined && p.total > 0) {
    const share = Math.min(1, p.rows / p.total);
    const filled = Math.round(share * BAR_WIDTH);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${count(p.rows)}/${count(p.total)} rows  ${size}`;
  }
  const rows = p.rows !== undefined ? `${count(p.rows)} rows  ` : p.total !== undefined ? `${count(p.total)} rows  ` : '';
  return `${rows}${size}`;
}

/** The `"rows": N` ClickHouse's JSON format ends with, from the last bytes of the document. */
function jsonRows(tail: string): number | undefined {
  const m = /"rows":\s*(\d+)/.exec(tail);
  return m ? Number(m[1]) : undefined;
}

export const exportCommand: Command = {
  path: ['export'],
  summary: 'export spans to a jsonl, json, csv or parquet file',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      format: { type: 'string' },
      where: { type: 'string' },
      since: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const format = values.format;
    if (format === undefined) throw new UsageError(`--format is required (${EXPORT_FORMATS.join(', ')})`);
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: unknown format '${format}': expected one of ${EXPORT_FORMATS.join(', ')}`);
    if (values.out === undefined || values.out === '') throw new UsageError('--out FILE is required');
    const out = resolve(io.cwd, values.out);
    const force = values.force === true;
    // Before asking the collector for anything: an existing file is a usage mistake (exit 2).
    if (!force && (await exists(out))) throw new UsageError(`--out: ${values.out} exists (use --force to overwrite it)`);
    const token = apiCredential(values['token-file'], io.env);
    const base = apiUrl(values.api, io.env);
    const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
    const fail = (message: string) => {
      if (tty) io.stderr.write('\n');
      io.stderr.write(`flowtrace export: ${message}\n`);
      return 1;
    };

    let response: Response;
    try {
      response = await fetch(`${base}/api/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({
          format,
          ...(values.where !== undefined ? { where: values.where } : {}),
          ...(values.since !== undefined ? { since: values.since } : {}),
          // The row count costs the collector one count() more: only asked for when a bar shows it.
          ...(tty ? { count: true } : {}),
        }),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      return fail(`cannot reach the collector at ${base} (${cause}); is \`flowtrace serve\` running? (--api URL or FLOWTRACE_API_URL)`);
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: print as is
      }
      const hint = response.status === 401 ? ' (set FLOWTRACE_TOKEN or --token-file)' : '';
      return fail(`${response.status}: ${message}${hint}`);
    }
    const header = response.headers.get(ROWS_HEADER);
    const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
    return download(response.body, { out, shown: values.out, format, force, total, tty, io, fail });
  },
};

interface DownloadOptions {
  /** The absolute path, and the path as the user gave it (for messages). */
  out: string;
  shown: string;
  format: string;
  force: boolean;
  total: number | undefined;
  tty: boolean;
  io: CommandIO;
  fail: (message: string) => number;
}

/**
 * Streams the body into `<out>.partial`, then, once the whole body arrived and is on disk,
 * gives it its name in one step (never replacing a file without --force). Whatever stops it
 * before (the connection closed mid-stream, a write error, SIGINT/SIGTERM) removes the partial
 * file: a file named `out` is always a complete export.
 */
async function download(body: ReadableStream<Uint8Array>, o: DownloadOptions): Promise<number> {
  const partial = `${o.out}${PARTIAL_SUFFIX}`;
  let file: FileHandle;
  try {
    await unlink(partial).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    file = await open(partial, PARTIAL_FLAGS, 0o600);
  } catch (err) {
    await body.cancel();
    return o.fail(`cannot write ${o.shown}${PARTIAL_SUFFIX}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // Interrupted from the keyboard or by a service manager: no partial file left behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    try {
      unlinkSync(partial);
    } catch {
      // already gone
    }
    o.io.stderr.write(`${o.tty ? '\n' : ''}flowtrace export: interrupted (${signal}); ${o.shown} not written\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = Date.now();
  let bytes = 0;
  let newlines = 0;
  let lastDraw = 0;
  let tail = '';
  const line = (): string => progressLine({ rows: lineRows(o.format, newlines), total: o.total, bytes, elapsedMs: Date.now() - started });
  try {
    for await (const chunk of body) {
      await writeAll(file, chunk);
      bytes += chunk.length;
      if (o.format === 'jsonl' || o.format === 'csv') for (const b of chunk) if (b === 10) newlines++;
      if (o.format === 'json') tail = (tail + Buffer.from(chunk.subarray(-256)).toString('latin1')).slice(-256);
      const now = Date.now();
      if (o.tty && now - lastDraw >= REDRAW_MS) {
        lastDraw = now;
        o.io.stderr.write(`\r\x1b[K${line()}`);
      }
    }
    await file.sync();
    await file.close();
    await publish(partial, o.out, o.force);
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    if (err instanceof FileExistsError) throw new UsageError(`--out: ${o.shown} exists (use --force to overwrite it)`);
    const cause = (err as { cause?: Error }).cause?.message;
    return o.fail(`export interrupted after ${formatBytes(bytes)} (${(err as Error).message}${cause ? `: ${cause}` : ''}); ${o.shown} not written — run the same command again to restart it`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const rows = lineRows(o.format, newlines) ?? (o.format === 'json' ? jsonRows(tail) : undefined);
  const summary = `${rows !== undefined ? `${count(rows)} rows, ` : ''}${formatBytes(bytes)}`;
  if (o.tty) o.io.stderr.write(`\r\x1b[K${line()}\n`);
  o.io.stderr.write(`flowtrace export: wrote ${summary} to ${o.shown}\n`);
  return 0;
}

class FileExistsError extends Error {}

/** Gives the complete partial file its name: with --force by rename, else by link, which never replaces a file. */
async function publish(partial: string, out: string, force: boolean): Promise<void> {
  if (force) return rename(partial, out);
  try {
    await link(partial, out);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new FileExistsError();
    // A file system without hard links: rename, having checked (the file may appear in between, but only then).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (await exists(out)) throw new FileExistsError();
    return rename(partial, out);
  }
  await unlink(partial);
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += (await file.write(bytes, written)).bytesWritten;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
