import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatTraceTree } from '../format.js';
import type { SpanView } from '../../query/span-view.js';

const USAGE = `Usage: flowtrace traces get [options] TRACE_ID

Prints one trace as an indented tree of spans with their durations.

Options:
${CONNECTION_HELP}
  --json               print the spans as JSON instead
  -h, --help           show this help
`;

export const tracesGetCommand: Command = {
  path: ['traces', 'get'],
  summary: 'print one trace as a tree',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected one trace ID');
    const token = apiCredential(values['token-file'], io.env);
    try {
      const trace = await callApi<{ traceId: string; spans: SpanView[] }>(apiUrl(values.api, io.env), `/api/traces/${encodeURIComponent(positionals[0]!)}`, { token });
      io.stdout.write(values.json ? JSON.stringify(trace, null, 2) + '\n' : formatTraceTree(trace.traceId, trace.spans));
      return 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace traces get: ${err.message}\n`);
      return 1;
    }
  },
};
