import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ingestCredential } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { checkOtlpJson, NotOtlpJsonError, splitRequest } from './otlp-json.js';

const USAGE = `Usage: flowtrace trace import [options] FILE

Sends an OTLP/JSON file (as \`flowtrace trace export\` writes it) to a collector's OTLP/HTTP
receiver, so it goes through the normal pipeline: validation, redaction, stitching, sampling.

Options:
  --otlp-http URL           the OTLP/HTTP receiver (default http://127.0.0.1:4318)
  --ingest-token-file FILE  read a token of scope ingest from FILE (default: env
                            FLOWTRACE_INGEST_TOKEN; needed when auth.ingest.required is on)
  -h, --help                show this help
`;

/** Largest file read; the receiver's default request limit is 16 MiB, and files are sent in parts. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** Spans per request, so that a large trace stays under the receiver's request-size limit. */
const SPANS_PER_REQUEST = 500;
const SEND_TIMEOUT_MS = 30_000;

export const traceImportCommand: Command = {
  path: ['trace', 'import'],
  summary: 'send an OTLP/JSON file through a collector\'s OTLP/HTTP receiver',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      'otlp-http': { type: 'string' },
      'ingest-token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected one file');
    const url = otlpHttpUrl(values['otlp-http'] ?? 'http://127.0.0.1:4318');
    const token = ingestCredential(values['ingest-token-file'], io.env);
    const file = resolve(io.cwd, positionals[0]!);
    let text: string;
    try {
      if (statSync(file).size > MAX_FILE_BYTES) throw new UsageError(`${positionals[0]}: larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read ${positionals[0]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let checked: ReturnType<typeof checkOtlpJson>;
    try {
      checked = checkOtlpJson(text);
    } catch (err) {
      if (!(err instanceof NotOtlpJsonError)) throw err;
      io.stderr.write(`flowtrace trace import: ${positionals[0]}: ${err.message}\n`);
      return 2;
    }
    let rejected = 0;
    const messages: string[] = [];
    for (const part of splitRequest(checked.request, SPANS_PER_REQUEST)) {
      const outcome = await send(url, JSON.stringify(part), token);
      if ('error' in outcome) {
        io.stderr.write(`flowtrace trace import: ${outcome.error}\n`);
        return 1;
      }
      rejected += outcome.rejectedSpans;
      if (outcome.errorMessage) messages.push(outcome.errorMessage);
    }
    io.stdout.write(`${checked.spans - rejected} of ${checked.spans} spans accepted by ${url}\n`);
    if (rejected > 0) {
      io.stderr.write(`flowtrace trace import: ${rejected} spans refused: ${messages.join('; ')}\n`);
      return 1;
    }
    return 0;
  },
};

async function send(url: string, body: string, token: string | undefined): Promise<{ rejectedSpans: number; errorMessage: string } | { error: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { error: `cannot reach the OTLP/HTTP receiver at ${url} (${cause}); --otlp-http URL` };
  }
  const text = await response.text();
  let answer: { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string }; message?: string } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // A proxy's HTML page, say: reported by status below.
  }
  if (!response.ok) {
    const hint = response.status === 401 || response.status === 403 ? ' (a token of scope ingest: FLOWTRACE_INGEST_TOKEN or --ingest-token-file)' : '';
    return { error: `${url} answered ${response.status}: ${answer.message ?? text.slice(0, 200)}${hint}` };
  }
  return { rejectedSpans: Number(answer.partialSuccess?.rejectedSpans ?? 0), errorMessage: answer.partialSuccess?.errorMessage ?? '' };
}

function otlpHttpUrl(text: string): string {
  if (!/^https?:\/\/[^\s/]+/.test(text)) throw new UsageError(`--otlp-http: expected an http:// or https:// URL, got '${text}'`);
  const base = text.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

