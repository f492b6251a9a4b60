import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatTable } from '../format.js';
import type { DropsAnswer } from '../../query/drops-routes.js';

const USAGE = `Usage: flowtrace drops [options]

Shows the drop ledger: spans FlowTrace did not store, and values it changed, by stage, reason
and service (from the collector's /api/drops).

Options:
${CONNECTION_HELP}
  --since WHEN         how far back: a duration (30m, 1h, 7d is 168h) or an ISO-8601 time (default 1h)
  --service NAME       only this service ('' rows are spans whose service was not known)
  --json               print the answer as JSON
  -h, --help           show this help
`;

/** What a reason means, for the table's last column. */
const MEANING: Record<string, string> = {
  invalid: 'refused: invalid (bad IDs, times, missing start)',
  too_old: 'refused: older than its retention (retention_rules or retention_days)',
  disk_budget: 'stored, then dropped with the oldest days (storage.max_disk_gb)',
  refused: 'refused for backpressure or a quota (client retries)',
  filtered: 'dropped by a filter or redaction rule',
  sampled_out: 'not kept by sampling',
  dead_lettered: 'rejected by an exporter\'s backend (dead-letter dir)',
  queue_dropped: 'dropped from a full or damaged exporter queue',
  unencodable: 'could not be encoded for an exporter',
  masked: 'values masked by redaction',
  truncated: 'values truncated by limits',
};

export const dropsCommand: Command = {
  path: ['drops'],
  summary: 'show spans not stored (and values changed), by stage, reason and service',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      since: { type: 'string', default: '1h' },
      service: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const since = sinceParameter(values.since);
    const token = apiCredential(values['token-file'], io.env);
    const query = new URLSearchParams({ since });
    if (values.service !== undefined) query.set('service', values.service);
    let answer: DropsAnswer;
    try {
      answer = await callApi<DropsAnswer>(apiUrl(values.api, io.env), `/api/drops?${query}`, { token });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace drops: ${err.message}\n`);
      return 1;
    }
    if (values.json) {
      io.stdout.write(JSON.stringify(answer, null, 2) + '\n');
      return 0;
    }
    const from = new Date(Number(BigInt(answer.sinceUnixNano) / 1_000_000n)).toISOString();
    if (answer.drops.length === 0) {
      io.stdout.write(`Nothing dropped or changed since ${from}.\n`);
      return 0;
    }
    const rows = answer.drops.map((d) => ({
      stage: d.stage,
      reason: d.reason,
      service: d.service === '' ? '(unknown)' : d.service,
      spans: d.droppedSpans,
      values: d.alteredValues,
      meaning: MEANING[d.reason] ?? '',
    }));
    io.stdout.write(formatTable(['stage', 'reason', 'service', 'spans', 'values', 'meaning'], rows));
    io.stdout.write(`Since ${from}: ${answer.totals.droppedSpans} spans not stored, ${answer.totals.alteredValues} values changed.\n`);
    return 0;
  },
};

/** `--since`: a duration (`d` allowed here, as whole days) or a time, checked before anything is sent. */
function sinceParameter(text: string): string {
  const days = /^(\d{1,5})d$/.exec(text);
  if (days) return `${Number(days[1]) * 24}h`;
  if (/^(?:\d{1,20}(?:\.\d{1,9})?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) return text;
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return text;
  throw new UsageError(`--since: expected a duration such as 30m, 1h or 7d, or an ISO-8601 time, got '${text}'`);
}
