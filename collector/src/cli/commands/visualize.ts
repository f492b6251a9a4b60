import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError, apiCredential, apiUrl, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { getTrace, TRACE_COMMAND_OPTIONS, traceIdArgument } from './analysis-answers.js';
import { renderTraceHtml } from './visualize-html.js';

const USAGE = `Usage: flowtrace visualize [options] TRACE_ID --out trace.html

Writes one trace as a self-contained HTML page (no external resources; open it offline or
attach it to a ticket): a waterfall with service colours, a shared time axis and collapsible
subtrees, and a flame graph of self time by method. Clock skew is adjusted.

Options:
${CONNECTION_HELP}
  --out FILE           the HTML file to write (required)
  -h, --help           show this help
`;

export const visualizeCommand: Command = {
  path: ['visualize'],
  summary: 'write one trace as a self-contained HTML waterfall and flame graph',
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
    if (values.out === undefined || values.out === '') throw new UsageError('--out: the HTML file to write is required');
    const token = apiCredential(values['token-file'], io.env);
    let html: string;
    try {
      const trace = await getTrace(apiUrl(values.api, io.env), traceId, token, true);
      html = renderTraceHtml(trace.traceId, trace.spans);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace visualize: ${err.message}\n`);
      return 1;
    }
    const file = resolve(io.cwd, values.out);
    try {
      writeFileSync(file, html);
    } catch (err) {
      io.stderr.write(`flowtrace visualize: cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return 1;
    }
    io.stderr.write(`wrote ${values.out} (${html.length} bytes)\n`);
    return 0;
  },
};
