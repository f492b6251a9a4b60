import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import type { UserSqlResult } from '../../query/sql/user-sql.js';
import { getTrace, TRACE_COMMAND_OPTIONS, traceIdArgument } from './analysis-answers.js';
import { toOtlpJson, type KindsBySpan } from './otlp-json.js';

const USAGE = `Usage: flowtrace trace export [options] TRACE_ID > trace.json

Writes one whole trace as OTLP/JSON (an ExportTraceServiceRequest: hex IDs, times and ints as
strings, typed attributes, events, links, resource and scope), ready for
\`flowtrace trace import\` or any OTLP/HTTP receiver. Attribute types come from the stored kinds
through the SQL API (scope sql); without it a whole number is written as an int.

Options:
${CONNECTION_HELP}
  --out FILE           write to FILE instead of stdout
  -h, --help           show this help
`;

export const traceExportCommand: Command = {
  path: ['trace', 'export'],
  summary: 'write one trace as OTLP/JSON',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...TRACE_COMMAND_OPTIONS,
      out: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const traceId = traceIdArgument(positionals);
    const token = apiCredential(values['token-file'], io.env);
    const base = apiUrl(values.api, io.env);
    try {
      const trace = await getTrace(base, traceId, token);
      const kinds = await storedKinds(base, trace.traceId, trace.spans.length, token, (warning) => io.stderr.write(`flowtrace trace export: ${warning}\n`));
      const text = JSON.stringify(toOtlpJson(trace.spans, kinds)) + '\n';
      if (values.out === undefined) {
        io.stdout.write(text);
        return 0;
      }
      try {
        writeFileSync(resolve(io.cwd, values.out), text);
      } catch (err) {
        io.stderr.write(`flowtrace trace export: cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
        return 1;
      }
      return 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace trace export: ${err.message}\n`);
      return 1;
    }
  },
};

/**
 * The stored attribute kinds of the trace's spans, read through POST /api/sql (the caller's
 * read rules apply there as well). The trace ID is the API's own normalised answer (32 hex
 * digits), checked again before it is placed in the statement. Undefined, with a warning,
 * when the SQL API refuses (no `sql` scope) or cuts the answer.
 */
async function storedKinds(base: string, traceId: string, spans: number, token: string | undefined, warn: (text: string) => void): Promise<KindsBySpan | undefined> {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return undefined;
  try {
    const result = await callApi<UserSqlResult>(base, '/api/sql', {
      method: 'POST',
      body: { query: `SELECT SpanId, AttributeKinds FROM otel_traces WHERE TraceId = '${traceId}'` },
      token,
    });
    if (result.truncated || result.rowCount < spans) {
      warn(`only ${result.rowCount} of ${spans} spans' attribute types could be read (api.sql.max_rows); whole numbers of the others are written as ints`);
    }
    return new Map(result.rows.map((r) => [String(r.SpanId), (r.AttributeKinds ?? {}) as Record<string, string>]));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    warn(`attribute types not read (${err.message}); whole numbers are written as ints`);
    return undefined;
  }
}
