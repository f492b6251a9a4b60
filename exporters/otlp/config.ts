import { z } from 'zod';
import { checkClientCertPair, clientTlsFields } from '../client-tls.js';

/**
 * The `otlp` exporter's settings (`exporters: otlp/<name>: …`), after the OpenTelemetry
 * Collector's otlp / otlphttp exporters and the OTLP exporter spec, in this project's
 * snake_case. Validation here is everything that can be checked without touching the disk
 * or the network; TLS files are read when the exporter starts.
 */

export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Port used when a gRPC endpoint names none: OTLP/gRPC's 4317 in plain text, 443 over TLS (as every gRPC client does). */
export const GRPC_DEFAULT_PORT = 4317;
export const GRPC_TLS_DEFAULT_PORT = 443;
/** OTLP/HTTP's signal path, appended to an endpoint that does not end with it. */
export const HTTP_TRACES_PATH = '/v1/traces';
export const HTTP_LOGS_PATH = '/v1/logs';

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

/** Names are RFC 9110 tokens; values must not break the header block. */
const headersSchema = z
  .record(z.string(), z.string().refine((v) => !/[\r\n\0]/.test(v), 'a header value must not contain line breaks or NUL'))
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: JSON.stringify(name) + " is not an HTTP header name (letters, digits and -_.!#$%&'*+^`|~ only)" });
      }
    }
  });

const ENDPOINT_EXAMPLE = 'http://localhost:4317 (https:// for TLS)';

export const endpointSchema = z
  .string({ error: (issue) => (issue.input === undefined ? `required: the backend's URL, e.g. ${ENDPOINT_EXAMPLE}` : 'expected a URL (a string)') })
  .superRefine((text, ctx) => {
    const problem = endpointProblem(text);
    if (problem !== '') ctx.addIssue({ code: 'custom', message: problem });
  });

function endpointProblem(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an http:// or https:// URL such as ${ENDPOINT_EXAMPLE}, got ${JSON.stringify(text)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `expected an http:// or https:// URL such as ${ENDPOINT_EXAMPLE}, got ${JSON.stringify(text)}`;
  }
  if (url.hostname === '') return `the URL names no host: ${JSON.stringify(text)}`;
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not sent: put them in headers (e.g. authorization)';
  if (url.search !== '' || url.hash !== '') return 'the URL must not have a query or fragment';
  return '';
}

const tlsSchema = z
  .object({
    /** gRPC only: plain text even to an https:// endpoint (as the Collector's `tls.insecure`). */
    insecure: z.boolean().default(false),
    ...clientTlsFields,
  })
  .strict()
  .superRefine(checkClientCertPair);

/** Fields shared with presets (jaeger), which only change defaults. */
export const otlpFields = {
  /** `grpc` (TraceService/Export) or `http/protobuf` (POST …/v1/traces). */
  protocol: z.enum(OTLP_PROTOCOLS).default('grpc'),
  /**
   * `http(s)://host[:port][/path]`. https means TLS. gRPC: no path; port 4317 when none is
   * given (443 for https). HTTP: `/v1/traces` is appended unless the path already ends with it.
   */
  endpoint: endpointSchema,
  /** Sent with every request (gRPC metadata, lower-cased), e.g. an API key. */
  headers: headersSchema.default({}),
  tls: tlsSchema.prefault({}),
  compression: z.enum(['gzip', 'none']).default('gzip'),
  /** Per request: an export that takes longer is abandoned and retried. */
  timeout_ms: positiveInt.default(10_000),
};

/** Cross-field rules, shared with presets. */
export function checkOtlpConfig(config: { protocol: OtlpProtocol; endpoint: string; tls: z.infer<typeof tlsSchema> }, ctx: z.RefinementCtx): void {
  if (endpointProblem(config.endpoint) !== '') return; // the endpoint's own check reports it
  const url = new URL(config.endpoint);
  if (config.protocol === 'grpc' && url.pathname !== '/' && url.pathname !== '') {
    ctx.addIssue({ code: 'custom', path: ['endpoint'], message: `a gRPC endpoint has no path (got ${url.pathname}): write scheme://host:port` });
  }
  const files = (['ca_file', 'cert_file', 'key_file'] as const).filter((k) => config.tls[k] !== undefined);
  if (files.length > 0 && config.tls.insecure) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'insecure'], message: `tls.insecure turns TLS off, so tls.${files[0]} would be ignored` });
  } else if (files.length > 0 && url.protocol === 'http:') {
    ctx.addIssue({ code: 'custom', path: ['tls', files[0]], message: 'the endpoint is http:// (plain text): use https:// for TLS' });
  }
  if (config.tls.insecure && config.protocol === 'http/protobuf') {
    ctx.addIssue({ code: 'custom', path: ['tls', 'insecure'], message: 'tls.insecure is for gRPC; for plain-text OTLP/HTTP use an http:// endpoint' });
  }
}

/** The signals an OTLP exporter can forward. */
export const OTLP_SIGNALS = ['traces', 'logs'] as const;
export type OtlpSignal = (typeof OTLP_SIGNALS)[number];

/**
 * `signals`: what this exporter forwards, each behind its own durable queue; `[traces]` when
 * absent. With `logs`, log records go to `…/v1/logs` (HTTP) or `LogsService/Export` (gRPC).
 */
export const signalsSchema = z
  .array(z.enum(OTLP_SIGNALS, { error: 'expected traces or logs' }))
  .min(1, 'list at least one signal: traces, logs')
  .refine((list) => new Set(list).size === list.length, 'each signal once')
  .default(['traces']);

export const otlpConfigSchema = z
  .object({ ...otlpFields, signals: signalsSchema })
  .strict()
  .superRefine(checkOtlpConfig);

export type OtlpExporterConfig = z.output<typeof otlpConfigSchema>;

/** Where and how requests go, derived from `protocol`, `endpoint` and `tls.insecure`. */
export interface ResolvedEndpoint {
  /** gRPC: `host:port` for grpc-js; HTTP: the full URL to POST to. */
  target: string;
  /** Whether the connection uses TLS. */
  tls: boolean;
}

export function resolveEndpoint(config: Pick<OtlpExporterConfig, 'protocol' | 'endpoint' | 'tls'>, signalPath = HTTP_TRACES_PATH): ResolvedEndpoint {
  const url = new URL(config.endpoint);
  const https = url.protocol === 'https:';
  if (config.protocol === 'grpc') {
    const port = url.port !== '' ? url.port : String(https ? GRPC_TLS_DEFAULT_PORT : GRPC_DEFAULT_PORT);
    return { target: `${url.hostname}:${port}`, tls: https && !config.tls.insecure };
  }
  if (signalPath === HTTP_TRACES_PATH) {
    const path = url.pathname.endsWith(HTTP_TRACES_PATH) ? url.pathname : url.pathname.replace(/\/+$/, '') + HTTP_TRACES_PATH;
    return { target: `${url.origin}${path}`, tls: https };
  }
  // Another signal: an endpoint written with the traces path (…/v1/traces) is the base for it too.
  const base = url.pathname.endsWith(HTTP_TRACES_PATH) ? url.pathname.slice(0, -HTTP_TRACES_PATH.length) : url.pathname.replace(/\/+$/, '');
  return { target: `${url.origin}${base.endsWith(signalPath) ? base : base + signalPath}`, tls: https };
}
