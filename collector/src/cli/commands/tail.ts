import { apiCredential, apiUrl, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { visible } from '../format.js';
import { readEvents } from '../../query/tail/sse.js';
import type { TailSpan } from '../../query/tail/tail-line.js';
import { paintFor, type Paint } from './terminal.js';

const USAGE = `Usage: flowtrace tail [options]

Streams spans live as the collector accepts them (after redaction, before sampling: spans that
sampling later drops are shown too), one line each, until interrupted (from /api/tail).

Options:
${CONNECTION_HELP}
  --service NAME       only this service
  --operation NAME     only spans with this name
  --min-duration D     only spans at least this long (250ms, 1.5s, 2m)
  --errors-only        only spans with status ERROR
  --json               print each span as its JSON line
  -h, --help           show this help
`;

export const tailCommand: Command = {
  path: ['tail'],
  summary: 'stream spans live as the collector accepts them',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      service: { type: 'string' },
      operation: { type: 'string' },
      'min-duration': { type: 'string' },
      'errors-only': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const minDuration = values['min-duration'];
    if (minDuration !== undefined && !/^(?:\d{1,20}(?:\.\d{1,9})?(?:ns|us|µs|ms|s|m|h))+$/.test(minDuration)) {
      throw new UsageError(`--min-duration: expected a duration such as 250ms, 1.5s or 2m, got '${minDuration}'`);
    }
    const query = new URLSearchParams();
    if (values.service !== undefined) query.set('service', values.service);
    if (values.operation !== undefined) query.set('operation', values.operation);
    if (minDuration !== undefined) query.set('minDuration', minDuration);
    if (values['errors-only']) query.set('errorsOnly', 'true');
    const base = apiUrl(values.api, io.env);
    const token = apiCredential(values['token-file'], io.env);

    let response: Response;
    try {
      response = await fetch(`${base}/api/tail?${query}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      io.stderr.write(`flowtrace tail: cannot reach the collector at ${base} (${cause}); is \`flowtrace serve\` running? (--api URL or FLOWTRACE_API_URL)\n`);
      return 1;
    }
    if (!response.ok || response.body === null) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: print as it is
      }
      const hint = response.status === 401 ? ' (set FLOWTRACE_TOKEN or --token-file)' : '';
      io.stderr.write(`flowtrace tail: ${response.status}: ${message}${hint}\n`);
      return 1;
    }
    const paint = paintFor(io);
    const services = new Map<string, number>();
    for await (const event of readEvents(response.body)) {
      if (event.event === 'span') io.stdout.write(values.json ? `${event.data}\n` : formatSpan(JSON.parse(event.data) as TailSpan, paint, services) + '\n');
      else if (event.event === 'dropped') {
        const { dropped, total } = JSON.parse(event.data) as { dropped: number; total: number };
        io.stderr.write(paint.yellow(`… ${dropped} spans not shown: this terminal fell behind (${total} in all)`) + '\n');
      }
    }
    io.stderr.write('flowtrace tail: the collector ended the stream\n');
    return 0;
  },
};

/** `12:00:01.123  shop  Server  GET /cart  12.3ms  ERROR message  trace/span`, service colours stable per run. */
export function formatSpan(span: TailSpan, paint: Paint, services: Map<string, number>): string {
  let colour = services.get(span.service);
  if (colour === undefined) services.set(span.service, (colour = services.size));
  const start = new Date(Number(BigInt(span.startTimeUnixNano) / 1_000_000n)).toISOString().slice(11, 23);
  const error = span.status.code === 'Error';
  const status = error ? paint.red(`ERROR${span.status.message ? ` ${visible(span.status.message.split('\n')[0]!.slice(0, 80))}` : ''}`) : '';
  // Names come from whoever sends spans: control characters shown, never sent to the terminal as commands.
  const name = visible(span.name);
  return [paint.dim(start), paint.pick(colour, visible(span.service)), visible(span.kind), error ? paint.bold(name) : name, formatDuration(BigInt(span.durationNano)), status, paint.dim(`${span.traceId}/${span.spanId}`)]
    .filter((part) => part !== '')
    .join('  ');
}

/** Nanoseconds as `850µs`, `12.3ms`, `4.20s`. */
export function formatDuration(ns: bigint): string {
  if (ns < 1_000_000n) return `${Number(ns) / 1000}µs`;
  if (ns < 1_000_000_000n) return `${(Number(ns) / 1e6).toFixed(1)}ms`;
  return `${(Number(ns) / 1e9).toFixed(2)}s`;
}
