import { isIP } from 'node:net';
import { z } from 'zod';
import { queueConfigSchema } from '../../collector/src/pipeline/persistent-queue/config.js';
import { otlpFields, type OtlpExporterConfig } from '../otlp/config.js';

/**
 * The `loadbalancing` exporter's settings (`exporters: loadbalancing[/<name>]: …`), after the
 * OpenTelemetry Collector's loadbalancing exporter in this project's snake_case: spans are routed
 * by trace ID over a consistent-hash ring of backend collectors (ring.ts), each reached through an
 * OTLP exporter built from `protocol.otlp` with the backend's address as its endpoint.
 */

export const ROUTING_KEYS = ['traceID'] as const;
/** The Collector's other keys, named in the error so that a config copied from it gets a clear answer. */
const UNSUPPORTED_ROUTING_KEYS = ['service', 'resource', 'metric', 'streamID', 'attributes'];

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');
const port = z.number().int('expected a whole number').min(1, 'must be 1–65535').max(65535, 'must be 1–65535');

/** A DNS name (RFC 1123 labels) or an IPv4 address; IPv6 literals come in brackets in `host:port`. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * `host:port` in the one spelling every collector computes the same ring from: host lower-cased,
 * a trailing dot dropped, IPv6 in brackets, port without leading zeros. Undefined when unreadable.
 */
export function canonicalHostPort(text: string): string | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const portNumber = Number(match[3]);
  if (portNumber < 1 || portNumber > 65535) return undefined;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? `[${match[1].toLowerCase()}]:${portNumber}` : undefined;
  const host = match[2]!;
  if (!HOSTNAME.test(host)) return undefined;
  return `${host.toLowerCase().replace(/\.$/, '')}:${portNumber}`;
}

/** The endpoint of an address found by the DNS resolver: IPv6 goes in brackets. */
export function hostPortOf(address: string, portNumber: number): string {
  return isIP(address) === 6 ? `[${address.toLowerCase()}]:${portNumber}` : `${address.toLowerCase()}:${portNumber}`;
}

const staticSchema = z
  .object({
    /** The backends' OTLP receivers as `host:port` (`[v6]:port`). */
    hostnames: z
      .array(z.string(), { error: (issue) => (issue.input === undefined ? 'required: the backends as host:port, e.g. [10.0.0.5:4317, 10.0.0.6:4317]' : 'expected a list of host:port') })
      .min(1, 'list at least one backend (host:port)')
      .superRefine((hostnames, ctx) => {
        const seen = new Map<string, number>();
        hostnames.forEach((text, index) => {
          const canonical = canonicalHostPort(text);
          if (canonical === undefined) {
            ctx.addIssue({ code: 'custom', path: [index], message: `expected host:port (port 1–65535), e.g. 10.0.0.5:4317 or [fd00::5]:4317; got ${JSON.stringify(text)}` });
            return;
          }
          const first = seen.get(canonical);
          if (first !== undefined) ctx.addIssue({ code: 'custom', path: [index], message: `${canonical} is listed twice (also at index ${first})` });
          else seen.set(canonical, index);
        });
      }),
  })
  .strict();

/** `host:port` or `host` of a DNS server (port 53 when none); an IP address, as `setServers` wants. */
const dnsServerSchema = z.string().refine((text) => dnsServerProblem(text) === '', { error: (issue) => dnsServerProblem(String(issue.input)) });

function dnsServerProblem(text: string): string {
  const example = 'e.g. 10.96.0.10:53, 10.96.0.10 or [fd00::a]:53';
  if (isIP(text) !== 0) return '';
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return `expected the DNS server's IP address, optionally with :port (${example}); got ${JSON.stringify(text)}`;
  const address = match[1] ?? match[2]!;
  if (isIP(address) === 0) return `expected an IP address, not a name (${example}); got ${JSON.stringify(text)}`;
  const p = Number(match[3]);
  if (p < 1 || p > 65535) return 'the port must be 1–65535';
  return '';
}

const dnsSchema = z
  .object({
    /** Resolved to A and AAAA records (a headless Service: one per pod). */
    hostname: z
      .string({ error: (issue) => (issue.input === undefined ? 'required: the name whose A/AAAA records are the backends, e.g. flowtrace-process.ns.svc.cluster.local' : 'expected a host name (a string)') })
      .refine((h) => HOSTNAME.test(h) || isIP(h) !== 0, 'expected a DNS name such as flowtrace-process.ns.svc.cluster.local'),
    /** The backends' OTLP port (every address gets the same). */
    port: port.default(4317),
    /** How often the name is resolved again. */
    interval_seconds: positiveInt.default(5),
    /** Per lookup; a lookup that takes longer counts as failed (the last set is kept). */
    timeout_seconds: positiveInt.default(1),
    /** `host:port` of the DNS server to ask instead of the system's (resolv.conf). */
    server: dnsServerSchema.optional(),
  })
  .strict();

/** The OTLP exporter's settings less `endpoint`, which each backend's address provides. */
const { endpoint: _endpoint, ...protocolFields } = otlpFields;

const otlpProtocolSchema = z
  .object(protocolFields)
  .strict()
  .superRefine((otlp, ctx) => {
    // As in the Collector: TLS unless tls.insecure, for both protocols (there is no URL scheme to say it).
    const files = (['ca_file', 'cert_file', 'key_file'] as const).filter((k) => otlp.tls[k] !== undefined);
    if (files.length > 0 && otlp.tls.insecure) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'insecure'], message: `tls.insecure turns TLS off, so tls.${files[0]} would be ignored` });
    }
  });

export const loadBalancingConfigSchema = z
  .object({
    routing_key: z
      .string()
      .default('traceID')
      .superRefine((key, ctx) => {
        if ((ROUTING_KEYS as readonly string[]).includes(key)) return;
        const known = UNSUPPORTED_ROUTING_KEYS.includes(key) ? ` (the Collector's ${JSON.stringify(key)} is not supported yet)` : '';
        ctx.addIssue({ code: 'custom', message: `only traceID is supported${known}; got ${JSON.stringify(key)}` });
      }),
    protocol: z
      .object({
        /** Everything of the otlp exporter but `endpoint`: protocol, tls, headers, compression, timeout_ms. */
        otlp: otlpProtocolSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    resolver: z
      .object(
        { static: staticSchema.optional(), dns: dnsSchema.optional() },
        {
          error: (issue) => {
            if (issue.code === 'unrecognized_keys') return `unknown resolver ${issue.keys.join(', ')}: expected static or dns (on Kubernetes: dns with a headless Service's name)`;
            return issue.input === undefined ? 'required: static: { hostnames: [...] } or dns: { hostname: ... }' : 'expected a mapping with static or dns';
          },
        },
      )
      .strict()
      .superRefine((resolver, ctx) => {
        const given = (['static', 'dns'] as const).filter((k) => resolver[k] !== undefined);
        if (given.length !== 1) ctx.addIssue({ code: 'custom', message: given.length === 0 ? 'set one of static or dns' : 'set only one of static and dns' });
      }),
    /**
     * After the set of backends changes, spans of a trace routed within this many seconds keep
     * going to the backend it went to (if that one still has a queue), so that a trace in flight
     * is not split. 0 turns handover off.
     */
    handover_seconds: z.number().int('expected a whole number').min(0, 'must be 0 (off) or more').default(30),
    /** Traces remembered for handover; the least recently seen are forgotten first. */
    handover_max_traces: positiveInt.default(200_000),
    /** The durable queue in front of each backend (the settings of `queue:`), under `<data_dir>/queues/<name>~<host:port>`. */
    backend_queue: queueConfigSchema.prefault({}),
  })
  .strict();

export type LoadBalancingConfig = z.output<typeof loadBalancingConfigSchema>;
export type OtlpProtocolSettings = LoadBalancingConfig['protocol']['otlp'];

/** The OTLP exporter settings of one backend. */
export function backendOtlpConfig(otlp: OtlpProtocolSettings, hostPort: string): OtlpExporterConfig {
  const scheme = otlp.tls.insecure ? 'http' : 'https';
  // Routing is by trace ID: the backends get traces only.
  return { ...otlp, endpoint: `${scheme}://${hostPort}`, signals: ['traces'] };
}
