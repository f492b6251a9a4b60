import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { visibleStrings } from '../format.js';
import { ALL_SELF_TIMES, getTrace, type CriticalPathAnswer, type InsightsAnswer, TRACE_COMMAND_OPTIONS, traceIdArgument } from './analysis-answers.js';
import { formatAnalysis, hotspotsOf } from './analyze-format.js';
import { paintFor } from './terminal.js';

const USAGE = `Usage: flowtrace analyze [options] TRACE_ID

Analyses one trace (collector/src/analysis): its critical path, rule-based insights (N+1,
sequential calls, error origin, retries, slow method), completeness (orphans, unanswered calls,
missing parents, with the likely reason) and its hotspots (self time by method in this trace).
Colours on a terminal unless NO_COLOR is set.

Options:
${CONNECTION_HELP}
  --json               print {criticalPath, insights, hotspots} as JSON instead
  -h, --help           show this help
`;

export const analyzeCommand: Command = {
  path: ['analyze'],
  summary: 'critical path, insights, completeness and hotspots of one trace',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...TRACE_COMMAND_OPTIONS,
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const traceId = traceIdArgument(positionals);
    const token = apiCredential(values['token-file'], io.env);
    const base = apiUrl(values.api, io.env);
    try {
      const id = encodeURIComponent(traceId);
      const [path, insights, trace] = await Promise.all([
        callApi<CriticalPathAnswer>(base, `/api/traces/${id}/critical-path?limit=${ALL_SELF_TIMES}`, { token }),
        callApi<InsightsAnswer>(base, `/api/traces/${id}/insights`, { token }),
        getTrace(base, traceId, token, true),
      ]);
      if (values.json) {
        const hotspots = hotspotsOf(path.selfTimes, trace.spans).map((h) => ({ ...h, selfNano: h.selfNano.toString() }));
        io.stdout.write(JSON.stringify({ criticalPath: path, insights, hotspots }, null, 2) + '\n');
      } else io.stdout.write(formatAnalysis(visibleStrings(path), visibleStrings(insights), visibleStrings(trace.spans), paintFor(io)));
      return 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace analyze: ${err.message}\n`);
      return 1;
    }
  },
};
