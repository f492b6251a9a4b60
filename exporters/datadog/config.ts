import { z } from 'zod';

/**
 * The `datadog` exporter's settings (snake_case, as in the rest of the config file).
 *
 * Nothing here changes how spans are encoded: records of one encoding are shared by every
 * exporter using it (exporters/exporter.ts), so per-exporter settings may only shape the
 * requests, never the record bytes.
 */

export const DATADOG_MODES = ['trace-intake', 'otlp'] as const;
export type DatadogMode = (typeof DATADOG_MODES)[number];

/** The Datadog Agent's defaults: the APM receiver on 8126, OTLP ingest over HTTP on 4318. */
export const DEFAULT_ENDPOINTS: Record<DatadogMode, string> = {
  'trace-intake': 'http://localhost:8126',
  otlp: 'http://localhost:4318',
};

/** Well under the agent's own limit (25 MiB, apm_config max request size), which answers 413 above it. */
export const DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

const httpUrl = z.string().refine((s) => {
  if (s === '') return true;
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.search === '' && u.hash === '';
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL without query or fragment, e.g. http://localhost:8126');

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

/** Settings only the trace-intake mode reads; in otlp mode they belong under `otlp:`. */
const INTAKE_ONLY = ['api_key', 'container_id', 'headers', 'timeout_ms', 'max_request_bytes'] as const;

const INTAKE_DEFAULTS = {
  api_key: '',
  container_id: '',
  headers: {},
  timeout_ms: 10_000,
  max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
} satisfies Record<(typeof INTAKE_ONLY)[number], unknown>;

export const datadogConfigSchema = z
  .object({
    /** `trace-intake`: msgpack to the agent's `/v0.4/traces`; `otlp`: OTLP to an agent with OTLP ingest enabled. */
    mode: z.enum(DATADOG_MODES, { error: `expected one of: ${DATADOG_MODES.join(', ')}` }).default('trace-intake'),
    /** The agent's base URL; '' means the mode's default ({@link DEFAULT_ENDPOINTS}). A path prefix is kept. */
    endpoint: httpUrl.default(''),
    /** Sent as `DD-API-KEY` when set. A local agent needs none; a proxy in front of one may. */
    api_key: z.string().default(''),
    /**
     * Sent as `Datadog-Container-ID` when set. Not detected: the collector's own container is
     * not where the spans come from, and the agent would tag them with its tags.
     */
    container_id: z.string().default(''),
    /** Extra request headers. */
    headers: z.record(z.string(), z.string()).default({}),
    timeout_ms: positiveInt.default(INTAKE_DEFAULTS.timeout_ms),
    /** A batch is split into requests of at most this many bytes (a single larger span goes alone). */
    max_request_bytes: positiveInt.min(1024, 'must be at least 1024').default(DEFAULT_MAX_REQUEST_BYTES),
    /** otlp mode: the OTLP exporter's own settings, passed to it with `endpoint` filled in. */
    otlp: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode === 'trace-intake' && c.otlp !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['otlp'], message: 'only used with mode: otlp' });
    }
    if (c.otlp !== undefined && 'endpoint' in c.otlp) {
      ctx.addIssue({ code: 'custom', path: ['otlp', 'endpoint'], message: 'set the agent URL as the exporter\'s endpoint' });
    }
    if (c.mode === 'otlp') {
      for (const key of INTAKE_ONLY) {
        // Defaults are applied before this runs: compare with them to catch only what the user set.
        if (JSON.stringify(c[key]) !== JSON.stringify(INTAKE_DEFAULTS[key])) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'not used with mode: otlp (put the OTLP exporter settings under otlp:)' });
        }
      }
    }
  });

export type DatadogConfig = z.infer<typeof datadogConfigSchema>;

/** The endpoint with the mode's default filled in and no trailing slash, ready for a path to be appended. */
export function resolveEndpoint(config: Pick<DatadogConfig, 'mode' | 'endpoint'>): string {
  return (config.endpoint || DEFAULT_ENDPOINTS[config.mode]).replace(/\/+$/, '');
}
