import { randomBytes } from 'node:crypto';
import { LoadGenerator } from '../../loadgen/generator.js';
import { LoadError, parseEndpoint, runLoad, type LoadProgress, type LoadResult } from '../../loadgen/sender.js';
import { countStored, waitForStored, type StoredWait } from '../../loadgen/stored.js';
import { parseDuration, QueryParamError } from '../../query/params.js';
import { ApiError, apiCredential, apiUrl, ingestCredential, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';

const USAGE = `Usage: flowtrace bench [options]

Drives OTLP load against a collector and prints the spans per second it accepted and stored.
The traces look like FlowTrace's agents' (collector/src/loadgen/README.md): several services,
server, client and method spans with code.* attributes and captured arguments, repeated
database calls (N+1), some errors, correlation IDs. Every resource carries
flowtrace.bench.run=<run ID>, which is how the stored spans of this run are counted.

Options:
  --endpoint URL          the OTLP receiver: http(s)://host:4318 (OTLP/HTTP, protobuf) or
                          grpc(s)://host:4317 (OTLP/gRPC) (default http://127.0.0.1:4318)
  --seconds N             send for N seconds (default 10)
  --spans N               or: send until N spans were accepted (whole requests, so a few more)
  --clients N             concurrent clients, 1–64 (default 4)
  --spans-per-request N   spans per export request, 1–10000 (default 512, whole traces)
  --services N            distinct service names, 1–1000 (default 5)
  --spread DURATION       backdate traces uniformly over the last DURATION (e.g. 24h, at most
                          31 days) so that the stored data covers a window (default: now)
  --ingest-token-file F   read the ingest token from F (default: env FLOWTRACE_INGEST_TOKEN);
                          needed when the receiver requires authentication; never printed
${CONNECTION_HELP}
                          (the API token must be allowed to run SQL: the stored count is a
                          SELECT count() through /api/sql; without it only accepted is printed)
  --no-stored             do not wait for and count the stored spans
  --wait SECONDS          give up waiting for stored spans after SECONDS without progress
                          (default 60)
  --json                  print the figures as JSON
  -h, --help              show this help
`;

const MAX_SPREAD_NS = 31n * 86_400_000_000_000n;

/** A whole number in [min, max] or a UsageError naming the flag. */
export function intFlag(name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,12}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got '${text}'`);
  }
  return Number(text);
}

export function spreadFlag(text: string): bigint {
  let ns: bigint;
  try {
    ns = parseDuration('--spread', text);
  } catch (err) {
    if (err instanceof QueryParamError) throw new UsageError(`${err.message} (units h, m, s, ms; e.g. 24h or 90m)`);
    throw err;
  }
  if (ns > MAX_SPREAD_NS) throw new UsageError(`--spread: at most 744h (31 days), got '${text}'`);
  return ns;
}


const int = (n: number) => Math.round(n).toLocaleString('en-US');

export interface BenchFigures {
  runId: string;
  endpoint: string;
  clients: number;
  services: number;
  spansPerRequest: number;
  spreadSeconds: number;
  acceptedSpans: number;
  acceptedTraces: number;
  refusedSpans: number;
  rejectedSpans: number;
  requests: number;
  sendSeconds: number;
  acceptedSpansPerSecond: number;
  exportLatencyMs: { p50: number; p99: number };
  /** Spans per second one core of the generator can make (its own time, measured). */
  generatorSpansPerSecond: number;
  stored?: { spans: number; seconds: number; spansPerSecond: number; complete: boolean };
  storedNotMeasured?: string;
}

export const benchCommand: Command = {
  path: ['bench'],
  summary: 'send OTLP load to a collector; print accepted and stored spans/s',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      endpoint: { type: 'string', default: 'http://127.0.0.1:4318' },
      seconds: { type: 'string' },
      spans: { type: 'string' },
      clients: { type: 'string', default: '4' },
      'spans-per-request': { type: 'string', default: '512' },
      services: { type: 'string', default: '5' },
      spread: { type: 'string' },
      'ingest-token-file': { type: 'string' },
      api: { type: 'string' },
      'token-file': { type: 'string' },
      'no-stored': { type: 'boolean' },
      wait: { type: 'string', default: '60' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.seconds !== undefined && values.spans !== undefined) throw new UsageError('give --seconds or --spans, not both');
    let endpoint;
    try {
      endpoint = parseEndpoint(values.endpoint);
    } catch (err) {
      throw new UsageError(`--endpoint: ${(err as Error).message}`);
    }
    const stop: { spans: number } | { seconds: number } =
      values.spans !== undefined ? { spans: intFlag('spans', values.spans, 1, 1e12) } : { seconds: intFlag('seconds', values.seconds ?? '10', 1, 86_400) };
    const clients = intFlag('clients', values.clients, 1, 64);
    const spansPerRequest = intFlag('spans-per-request', values['spans-per-request'], 1, 10_000);
    const services = intFlag('services', values.services, 1, 1000);
    const spreadNs = values.spread === undefined ? 0n : spreadFlag(values.spread);
    const patienceMs = intFlag('wait', values.wait, 1, 3600) * 1000;
    const token = ingestCredential(values['ingest-token-file'], io.env);
    const apiToken = values['no-stored'] ? undefined : apiCredential(values['token-file'], io.env);
    const api = apiUrl(values.api, io.env);

    const runId = randomBytes(8).toString('hex');
    const generators = Array.from({ length: clients }, () => new LoadGenerator({ services, spansPerRequest, spreadNs, runId }));
    const say = (text: string) => {
      if (!values.json) io.stdout.write(text);
    };
    say(
      `sending to ${values.endpoint} (${endpoint.protocol === 'http' ? 'OTLP/HTTP protobuf' : 'OTLP/gRPC'}) from ${clients} client${clients === 1 ? '' : 's'}, ` +
        `${'spans' in stop ? `until ${int(stop.spans)} spans` : `for ${stop.seconds} s`}: ${services} service${services === 1 ? '' : 's'}, ` +
        `${spansPerRequest} spans per request, ${spreadNs === 0n ? 'times now' : `times spread over the last ${values.spread}`}; run ${runId}\n`,
    );
    const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
    const onProgress = tty ? (p: LoadProgress) => io.stderr.write(`\r  ${p.seconds.toFixed(0)} s: accepted ${int(p.acceptedSpans)} spans (${int(p.acceptedSpans / p.seconds)}/s)   `) : undefined;

    const started = performance.now();
    let load: LoadResult;
    try {
      load = await runLoad({ endpoint, clients, stop, token, generators, onProgress });
    } catch (err) {
      if (!(err instanceof LoadError)) throw err;
      if (tty) io.stderr.write('\n');
      io.stderr.write(`flowtrace bench: ${err.message}\n`);
      return 1;
    }
    if (tty) io.stderr.write('\n');

    const q = (p: number) => load.latenciesMs[Math.min(load.latenciesMs.length - 1, Math.floor(p * load.latenciesMs.length))] ?? 0;
    const figures: BenchFigures = {
      runId,
      endpoint: values.endpoint,
      clients,
      services,
      spansPerRequest,
      spreadSeconds: Number(spreadNs / 1_000_000_000n),
      acceptedSpans: load.acceptedSpans,
      acceptedTraces: load.acceptedTraces,
      refusedSpans: load.refusedSpans,
      rejectedSpans: load.rejectedSpans,
      requests: load.requests,
      sendSeconds: +load.seconds.toFixed(3),
      acceptedSpansPerSecond: Math.round(load.acceptedSpans / load.seconds),
      exportLatencyMs: { p50: +q(0.5).toFixed(1), p99: +q(0.99).toFixed(1) },
      generatorSpansPerSecond: Math.round(load.generatedSpans / (load.generatorMs / 1000)),
    };
    say(
      `accepted  ${int(figures.acceptedSpans)} spans (${int(figures.acceptedTraces)} traces) in ${figures.sendSeconds.toFixed(2)} s: ${int(figures.acceptedSpansPerSecond)} spans/s` +
        `; refused for load ${int(figures.refusedSpans)}, rejected ${int(figures.rejectedSpans)}\n` +
        `export latency p50 ${figures.exportLatencyMs.p50} ms, p99 ${figures.exportLatencyMs.p99} ms; ` +
        `generator ${int(figures.generatorSpansPerSecond)} spans/s per core (${((load.generatorMs / 1000 / load.seconds / clients) * 100).toFixed(1)} % of the clients' time)\n`,
    );

    if (values['no-stored']) figures.storedNotMeasured = '--no-stored';
    else {
      let wait: StoredWait | undefined;
      try {
        wait = await waitForStored(() => countStored(api, apiToken, runId), load.acceptedSpans, started, patienceMs);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        figures.storedNotMeasured = `the query API at ${api} could not count them (${err.message})${apiToken === undefined ? '; set FLOWTRACE_TOKEN or --token-file to a token that may run SQL' : ''}`;
      }
      if (wait) {
        figures.stored = { spans: wait.stored, seconds: +wait.seconds.toFixed(3), spansPerSecond: Math.round(wait.stored / wait.seconds), complete: wait.complete };
        say(`stored    ${int(wait.stored)} spans in ${wait.seconds.toFixed(2)} s from the first send: ${int(figures.stored.spansPerSecond)} spans/s (counted through ${api}/api/sql)\n`);
        if (!wait.complete) say(`          ${int(load.acceptedSpans - wait.stored)} accepted spans were not stored after ${patienceMs / 1000} s without progress (see flowtrace drops)\n`);
      } else say(`stored    not measured: ${figures.storedNotMeasured}\n`);
    }
    if (values.json) io.stdout.write(JSON.stringify(figures, null, 2) + '\n');
    return figures.stored && !figures.stored.complete ? 1 : 0;
  },
};
