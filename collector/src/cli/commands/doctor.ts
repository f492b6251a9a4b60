import { randomBytes } from 'node:crypto';
import { encodeTraceRequest } from '../../../../exporters/otlp/encoder.js';
import { parsePartialSuccess } from '../../../../exporters/otlp/response.js';
import type { Transport } from '../../../../exporters/otlp/transport.js';
import { SpanKind, type Span } from '../../model/span.js';
import type { DropsAnswer } from '../../query/drops-routes.js';
import type { CollectorStatus } from '../../query/status-routes.js';
import { ApiError, apiCredential, apiUrl, ingestCredential, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command, type CommandIO } from '../command.js';
import { assessClocks, assessDisk, assessDrops, assessQueues, assessRetention, type CheckResult } from './doctor-assess.js';

const USAGE = `Usage: flowtrace doctor [options]

Checks a running collector end to end: health and readiness, a synthetic trace sent over
OTLP/HTTP and OTLP/gRPC and read back through the API, exporter queues and dead letters,
spans dropped in the last hour, disk space, retention and the clock skew of recent senders.
Prints each check as OK, WARN or FAIL; exits 1 when any check FAILs (0 otherwise), so it
can run in CI.

The synthetic spans are stored like any other: service.name "${'flowtrace-doctor'}", resource
attribute flowtrace.synthetic=true (filter them out with that attribute).

Options:
${CONNECTION_HELP}
  --otlp-http URL      the OTLP/HTTP receiver (default http://127.0.0.1:4318)
  --otlp-grpc ADDR     the OTLP/gRPC receiver, HOST:PORT (default 127.0.0.1:4317; https://HOST:PORT for TLS)
  --ingest-token-file FILE
                       token for the receivers, scope ingest (default: env FLOWTRACE_INGEST_TOKEN,
                       else the API token)
  --wait DURATION      how long to wait for the synthetic traces to be stored (default 30s)
  -h, --help           show this help
`;

export const DOCTOR_SERVICE = 'flowtrace-doctor';
export const SYNTHETIC_ATTRIBUTE = 'flowtrace.synthetic';
const SEND_TIMEOUT_MS = 10_000;
const POLL_EVERY_MS = 500;

interface Options {
  api: string;
  otlpHttp: string;
  otlpGrpc: { target: string; tls: boolean };
  token?: string;
  ingestToken?: string;
  waitMs: number;
}

export const doctorCommand: Command = {
  path: ['doctor'],
  summary: 'check a running collector end to end and say what is wrong',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      'ingest-token-file': { type: 'string' },
      'otlp-http': { type: 'string' },
      'otlp-grpc': { type: 'string' },
      wait: { type: 'string', default: '30s' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const token = apiCredential(values['token-file'], io.env);
    const ingestToken =
      ingestCredential(values['ingest-token-file'], io.env) ?? token;
    const options: Options = {
      api: apiUrl(values.api, io.env),
      otlpHttp: httpUrl(values['otlp-http'] ?? 'http://127.0.0.1:4318'),
      otlpGrpc: grpcTarget(values['otlp-grpc'] ?? '127.0.0.1:4317'),
      token,
      ingestToken,
      waitMs: waitMs(values.wait),
    };
    return doctor(options, io);
  },
};

async function doctor(options: Options, io: CommandIO): Promise<number> {
  const results: CheckResult[] = [];
  const report = (r: CheckResult) => {
    results.push(r);
    io.stdout.write(`${r.status.padEnd(5)} ${r.check.padEnd(18)} ${r.detail}\n`);
  };
  io.stdout.write(`Checking the collector at ${options.api} (OTLP/HTTP ${options.otlpHttp}, OTLP/gRPC ${options.otlpGrpc.target})\n`);
  const api = <T>(path: string) => callApi<T>(options.api, path, { token: options.token });

  try {
    await api('/healthz');
    report({ status: 'OK', check: 'health', detail: '/healthz answered' });
  } catch (err) {
    report({ status: 'FAIL', check: 'health', detail: `${(err as Error).message}` });
    return finish(results, io);
  }
  const ready = await fetch(`${options.api}/readyz`).then((r) => r.status, () => 0);
  if (ready === 200) report({ status: 'OK', check: 'ready', detail: 'storage is migrated and the receivers listen' });
  else report({ status: 'FAIL', check: 'ready', detail: `/readyz answered ${ready}: the collector is still starting (storage migrations) or shutting down` });

  // The synthetic traces: one per transport, then read back.
  const sentAt = Date.now();
  const sent: Array<{ transport: string; traceId: string }> = [];
  for (const transport of ['http', 'grpc'] as const) {
    const traceId = randomBytes(16).toString('hex');
    const check = `send OTLP/${transport === 'http' ? 'HTTP' : 'gRPC'}`;
    const result = await sendSynthetic(transport, traceId, options);
    report({ ...result, check });
    if (result.status === 'OK') sent.push({ transport, traceId });
  }
  if (sent.length > 0) {
    io.stdout.write(`      waiting for the synthetic traces to be stored (processors such as stitch hold traces ~5 s; up to ${Math.round(options.waitMs / 1000)} s)…\n`);
    const found = await readBack(options, sent.map((s) => s.traceId));
    const tookS = ((Date.now() - sentAt) / 1000).toFixed(1);
    for (const { transport, traceId } of sent) {
      const check = `read back ${transport === 'http' ? 'HTTP' : 'gRPC'}`;
      if (found.has(traceId)) report({ status: 'OK', check, detail: `trace ${traceId} stored and readable (${tookS} s)` });
      else report({ status: 'FAIL', check, detail: `trace ${traceId} was accepted but not readable after ${Math.round(options.waitMs / 1000)} s${await whyMissing(options, sentAt)}` });
    }
  }

  // Read after the synthetic traces: the clock-skew report then includes this machine's.
  let status: CollectorStatus | undefined;
  try {
    status = await api<CollectorStatus>('/api/status');
    for (const r of assessQueues(status)) report(r);
  } catch (err) {
    report({ status: 'FAIL', check: 'status', detail: `cannot read /api/status: ${(err as Error).message}` });
  }
  try {
    report(assessDrops(await api<DropsAnswer>('/api/drops?since=1h')));
  } catch (err) {
    report({ status: 'WARN', check: 'drops (1h)', detail: `cannot read /api/drops: ${(err as Error).message}` });
  }
  if (status) {
    report(assessDisk(status));
    report(assessRetention(status));
    report(assessClocks(status));
  }
  return finish(results, io);
}

function finish(results: CheckResult[], io: CommandIO): number {
  const failed = results.filter((r) => r.status === 'FAIL').length;
  const warned = results.filter((r) => r.status === 'WARN').length;
  if (failed === 0 && warned === 0) io.stdout.write(`All ${results.length} checks OK.\n`);
  else io.stdout.write(`${failed} failed, ${warned} warnings, ${results.length - failed - warned} OK.\n`);
  return failed > 0 ? 1 : 0;
}

/** A root span and one child, marked synthetic, ending now. */
export function syntheticTrace(traceId: string, transport: string): Span[] {
  const resource = {
    attributes: { 'service.name': DOCTOR_SERVICE, [SYNTHETIC_ATTRIBUTE]: 'true', 'flowtrace.doctor.transport': transport },
    attributeKinds: { [SYNTHETIC_ATTRIBUTE]: 'bool' as const },
    droppedAttributesCount: 0,
    schemaUrl: '',
    serviceName: DOCTOR_SERVICE,
  };
  const scope = { name: 'flowtrace-doctor', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
  const endNs = BigInt(Date.now()) * 1_000_000n;
  const rootId = randomBytes(8).toString('hex');
  const span = (spanId: string, parentSpanId: string, name: string, kind: number, startNs: bigint): Span => ({
    resource,
    scope,
    traceId,
    spanId,
    parentSpanId,
    traceState: '',
    flags: 1,
    name,
    kind,
    startTimeUnixNano: startNs,
    endTimeUnixNano: endNs,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
  });
  return [
    span(rootId, '', 'doctor check', SpanKind.SERVER, endNs - 2_000_000n),
    span(randomBytes(8).toString('hex'), rootId, 'doctor step', SpanKind.INTERNAL, endNs - 1_000_000n),
  ];
}

async function sendSynthetic(transport: 'http' | 'grpc', traceId: string, options: Options): Promise<Omit<CheckResult, 'check'>> {
  const headers: Record<string, string> = options.ingestToken ? { authorization: `Bearer ${options.ingestToken}` } : {};
  const common = { headers, gzip: false, timeoutMs: SEND_TIMEOUT_MS, userAgent: 'flowtrace-doctor' };
  // Loaded here, not with the CLI: the other commands need no gRPC.
  const client: Transport =
    transport === 'http'
      ? new (await import('../../../../exporters/otlp/http-transport.js')).HttpTransport({ ...common, url: options.otlpHttp, tls: undefined })
      : new (await import('../../../../exporters/otlp/grpc-transport.js')).GrpcTransport({ ...common, target: options.otlpGrpc.target, tls: options.otlpGrpc.tls ? { rejectUnauthorized: true } : undefined });
  const where = transport === 'http' ? options.otlpHttp : options.otlpGrpc.target;
  try {
    const response = await client.send(Buffer.from(encodeTraceRequest(syntheticTrace(traceId, transport))));
    const partial = parsePartialSuccess(response);
    if (partial && partial.rejectedSpans > 0) {
      return { status: 'FAIL', detail: `${partial.rejectedSpans} of 2 spans refused by ${where}: ${partial.errorMessage}` };
    }
    return { status: 'OK', detail: `2 spans accepted by ${where}` };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { status: 'FAIL', detail: `${where} did not accept the trace: ${message}${/401|403|unauthenticated|permission/i.test(message) ? ' (a token of scope ingest is needed: FLOWTRACE_INGEST_TOKEN or --ingest-token-file)' : ''}` };
  } finally {
    client.close();
  }
}

/** Polls until every trace is readable or the wait is over; the set of those found. */
async function readBack(options: Options, traceIds: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const deadline = Date.now() + options.waitMs;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  for (;;) {
    for (const id of traceIds) {
      if (found.has(id)) continue;
      const ok = await fetch(`${options.api}/api/traces/${id}`, { headers }).then((r) => r.ok, () => false);
      if (ok) found.add(id);
    }
    if (found.size === traceIds.length || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
  }
}

/** What the drop ledger says about the doctor's own spans since they were sent. */
async function whyMissing(options: Options, sentAtMs: number): Promise<string> {
  try {
    const since = new Date(sentAtMs - 60_000).toISOString();
    const answer = await callApi<DropsAnswer>(options.api, `/api/drops?since=${encodeURIComponent(since)}&service=${DOCTOR_SERVICE}`, { token: options.token });
    const mine = answer.drops.filter((d) => d.droppedSpans > 0);
    if (mine.length > 0) return `: the drop ledger counts ${mine.map((d) => `${d.droppedSpans} ${d.reason} at ${d.stage}`).join(', ')} for ${DOCTOR_SERVICE}`;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  return '; the exporter queue may be failing to write to ClickHouse (see the queue checks and the collector log)';
}

function httpUrl(text: string): string {
  if (!/^https?:\/\/[^\s/]+/.test(text)) throw new UsageError(`--otlp-http: expected an http:// or https:// URL, got '${text}'`);
  const base = text.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

function grpcTarget(text: string): { target: string; tls: boolean } {
  const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`--otlp-grpc: expected HOST:PORT (or https://HOST:PORT for TLS), got '${text}'`);
  return { target: `${m[2]}:${m[3]}`, tls: m[1] === 'https' };
}

function waitMs(text: string): number {
  const m = /^(\d{1,4})(ms|s|m)$/.exec(text);
  if (!m) throw new UsageError(`--wait: expected a duration such as 30s or 2m, got '${text}'`);
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  if (n < 1000 || n > 600_000) throw new UsageError('--wait: expected 1s to 10m');
  return n;
}
