import { ApiError, apiCredential, apiUrl, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { visibleStrings } from '../format.js';
import { getTrace, TRACE_COMMAND_OPTIONS, traceIdArgument } from './analysis-answers.js';
import { formatWaterfall, MIN_WIDTH } from './waterfall-format.js';
import { paintFor, terminalWidth } from './terminal.js';

const USAGE = `Usage: flowtrace waterfall [options] TRACE_ID

Prints one trace as a waterfall: a row per span (indented by depth), its bar on the trace's
time axis scaled to the terminal's width, and its duration. Clock skew between services is
adjusted as the analysis routes do. Colours by service on a terminal unless NO_COLOR is set.

Options:
${CONNECTION_HELP}
  --width N            columns to use (default: the terminal's, else $COLUMNS, else 100)
  -h, --help           show this help
`;

export const waterfallCommand: Command = {
  path: ['waterfall'],
  summary: 'print one trace as a waterfall on the terminal',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...TRACE_COMMAND_OPTIONS,
      width: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const traceId = traceIdArgument(positionals);
    let width = terminalWidth(io);
    if (values.width !== undefined) {
      width = /^\d{1,4}$/.test(values.width) ? Number(values.width) : NaN;
      if (!(width >= MIN_WIDTH)) throw new UsageError(`--width: expected a whole number of columns, at least ${MIN_WIDTH}, got '${values.width}'`);
    }
    const token = apiCredential(values['token-file'], io.env);
    try {
      const trace = await getTrace(apiUrl(values.api, io.env), traceId, token, true);
      io.stdout.write(formatWaterfall(trace.traceId, visibleStrings(trace.spans), width, paintFor(io)));
      return 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace waterfall: ${err.message}\n`);
      return 1;
    }
  },
};
