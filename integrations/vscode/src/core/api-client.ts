/**
 * The collector's query API as the extension uses it: status (to check a connection), the
 * per-function statistics of one file (CodeLens), a trace's skeleton (waterfall) and one span
 * (jump to source). Plain module: no editor API, tested against a real collector.
 *
 * The token travels only in the `authorization` header: never in a URL, a message or an error
 * (errors name the collector's origin and the route, and the collector's own `error` text).
 * Redirects are refused, so the header is never replayed to another origin. Every answer is
 * read up to a byte limit.
 */
import type { SkeletonJson } from '../../../../dashboard/src/trace/model/skeleton.js';

/** A trace's skeleton is ≈ 52 bytes a span; the collector answers up to 200,000 spans. */
export const MAX_SKELETON_BYTES = 32 * 1024 * 1024;
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 15_000;

export class CollectorError extends Error {
  override name = 'CollectorError';
  constructor(
    message: string,
    /** HTTP status; undefined when the collector could not be reached. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The collector URL from the settings: http or https, no user or password in it (a token
 * belongs in the secret storage), no query or fragment; a trailing slash dropped.
 */
export function parseCollectorUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new CollectorError(`collector URL: expected http://HOST:PORT, got ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CollectorError(`collector URL: expected http:// or https://, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new CollectorError('collector URL: no credentials in the URL; the token is asked for by "FlowTrace: Connect to a Collector"');
  if (url.search !== '' || url.hash !== '') throw new CollectorError('collector URL: no query or fragment');
  // The token travels in every request's header: in clear only to this machine.
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new CollectorError(
      `collector URL: http:// only to this machine (127.0.0.1, ::1, localhost), the token would cross the network in clear; use https://, or forward the port to 127.0.0.1 (kubectl port-forward, ssh -L)`,
    );
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** 127.0.0.0/8, ::1 and localhost, as URL.hostname writes them. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** 32 hex digits, as the API takes them (a 16-digit ID is zero-padded, as the collector does). */
export function parseTraceId(text: string): string {
  const id = text.trim().toLowerCase();
  if (/^[0-9a-f]{32}$/.test(id)) return id;
  if (/^[0-9a-f]{16}$/.test(id)) return id.padStart(32, '0');
  throw new CollectorError('trace ID: expected 32 hex digits');
}

export function isSpanId(text: string): boolean {
  return /^[0-9a-f]{16}$/.test(text);
}

export interface CollectorStatus {
  ready: boolean;
  role?: string;
}

export interface MethodStats {
  service: string;
  function: string;
  namespace: string;
  line: number;
  filePath: string;
  calls: number;
  errors: number;
  p50Nano: string;
  p99Nano: string;
  lastSeenUnixNano: string;
  /** The trace of the slowest call: what clicking the lens opens. */
  slowestTraceId: string;
}

export interface CodeMethodsAnswer {
  path: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  methodCount: number;
  methods: MethodStats[];
}

export interface SpanDetailsAnswer {
  span: {
    traceId: string;
    spanId: string;
    name: string;
    serviceName: string;
    attributes: Record<string, unknown>;
    status: { code: string; message: string };
  };
}

export interface CodeMethodsQuery {
  /** Workspace-relative or absolute, as path-mapping.ts `requestPathFor` gives it. */
  path: string;
  service?: string;
  lookback?: string;
  limit?: number;
}

export interface ClientOptions {
  baseUrl: string;
  token?: string;
  timeoutMs?: number;
}

export class FlowTraceClient {
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    this.base = parseCollectorUrl(options.baseUrl);
    this.token = options.token === '' ? undefined : options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** `http://host:port` (no path): what messages name. */
  get origin(): string {
    return this.base.origin;
  }

  status(): Promise<CollectorStatus> {
    return this.get<CollectorStatus>('/api/status', {}, MAX_ANSWER_BYTES);
  }

  codeMethods(query: CodeMethodsQuery): Promise<CodeMethodsAnswer> {
    const params: Record<string, string> = { path: query.path };
    if (query.service) params.service = query.service;
    if (query.lookback) params.lookback = query.lookback;
    if (query.limit !== undefined) params.limit = String(query.limit);
    return this.get<CodeMethodsAnswer>('/api/code/methods', params, MAX_ANSWER_BYTES);
  }

  skeleton(traceId: string): Promise<SkeletonJson> {
    return this.get<SkeletonJson>(`/api/traces/${parseTraceId(traceId)}/skeleton`, {}, MAX_SKELETON_BYTES);
  }

  span(traceId: string, spanId: string): Promise<SpanDetailsAnswer> {
    if (!isSpanId(spanId)) throw new CollectorError('span ID: expected 16 hex digits');
    return this.get<SpanDetailsAnswer>(`/api/traces/${parseTraceId(traceId)}/spans/${spanId}`, {}, MAX_ANSWER_BYTES);
  }

  private async get<T>(route: string, params: Record<string, string>, maxBytes: number): Promise<T> {
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${route}`;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const where = `${this.base.origin}${route}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new CollectorError(`cannot reach the collector at ${where}: ${causeOf(err)}`);
    }
    const body = await readLimited(res, maxBytes, where);
    if (!res.ok) throw new CollectorError(refusal(res.status, where, body), res.status);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new CollectorError(`the collector at ${where} answered something that is not JSON`, res.status);
    }
  }
}

/** What a refusal means, with what to do; the collector's own message when it sent one. */
function refusal(status: number, where: string, body: string): string {
  const said = errorText(body);
  if (status === 401) return `the collector at ${where} refused the credentials (401): run "FlowTrace: Connect to a Collector" with a token that has the read scope`;
  if (status === 403) return `the collector at ${where} refused this token (403): it needs the read scope${said ? ` (${said})` : ''}`;
  if (status === 404 && said.startsWith('no route')) return `the collector at ${where} has no such route (404): it is older than this extension`;
  return `the collector at ${where} answered ${status}${said ? `: ${said}` : ''}`;
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error.slice(0, 500) : '';
  } catch {
    return '';
  }
}

function causeOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause && typeof cause.code === 'string') return cause.code;
    if (cause && typeof cause.message === 'string') return cause.message;
    return err.message;
  }
  return String(err);
}

/** The body as text, refused past `maxBytes` (so a wrong URL cannot fill the editor's memory). */
async function readLimited(res: Response, maxBytes: number, where: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new CollectorError(`the collector at ${where} answered ${declared} bytes, more than the ${maxBytes} this extension reads`, res.status);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new CollectorError(`the collector at ${where} answered more than the ${maxBytes} bytes this extension reads`, res.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
