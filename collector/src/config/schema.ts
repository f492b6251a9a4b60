import { z } from 'zod';
import { EXPORTER_FACTORIES, EXPORTER_TYPES, type ExporterSettings, type ExporterType } from '../../../exporters/registry.js';
import { queueConfigSchema, type QueueConfig } from '../pipeline/persistent-queue/config.js';
import { journalConfigSchema } from '../pipeline/journal/config.js';
import { dedupeConfigSchema } from '../pipeline/dedupe/config.js';
import { ROLES } from '../roles/role-names.js';
import { filterConfigSchema } from '../processors/filter/config.js';
import { redactConfigSchema } from '../processors/redact/config.js';
import { sampleConfigSchema } from '../processors/sample/config.js';
import { stitchConfigSchema } from '../processors/stitch/config.js';
import { authConfigSchema } from '../auth/config.js';
import { redConfigSchema } from '../metrics/red/config.js';
import { alertsConfigSchema } from '../alerts/config.js';
import { userSqlConfigSchema } from '../query/sql/config.js';
import { tailConfigSchema } from '../query/tail/config.js';
import { DEFAULT_MAX_IN_FLIGHT_MIB } from '../receivers/in-flight-budget.js';
import { quotaConfigSchema } from '../receivers/quota-config.js';
import { kafkaReceiverConfigSchema } from '../receivers/kafka/config.js';
import { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, MIN_MAX_ATTRIBUTE_VALUE_BYTES } from '../receivers/otlp/value-limit.js';
import { hotAttributesSchema } from '../storage/hot-attributes/config.js';
import { connectionLimitsSchema, corsConfigSchema, tlsConfigSchema } from '../server/config.js';
import { embeddedEngineConfigSchema } from '../../../exporters/clickhouse/engine.js';
import { retentionRulesSchema } from '../storage/retention/config.js';
import { diskCheckIntervalSchema, maxDiskGbSchema } from '../storage/disk-budget/config.js';
import { encryptionConfigSchema } from '../storage/encryption/config.js';

const EXPORTER_KEY = /^([a-z]+)(?:\/([A-Za-z0-9_.-]+))?$/;

/** `exporters:`: each entry validated by its type's own schema, plus a `queue:` block. */
const exportersSchema = z
  .record(z.string(), z.unknown())
  .default({})
  .transform((entries, ctx) => {
    const out: Array<ExporterSettings & { queue: QueueConfig }> = [];
    for (const [key, value] of Object.entries(entries)) {
      const type = EXPORTER_KEY.exec(key)?.[1];
      if (type === undefined || !(EXPORTER_TYPES as string[]).includes(type)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `unknown exporter type ${JSON.stringify(type ?? key)}; expected one of ${EXPORTER_TYPES.join(', ')} (optionally as <type>/<name>)` });
        continue;
      }
      if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'expected a mapping of the exporter\'s settings (or nothing, for the defaults)' });
        continue;
      }
      const { queue, ...settings } = (value ?? {}) as Record<string, unknown>;
      const parsedQueue = queueConfigSchema.safeParse(queue ?? {});
      const parsed = EXPORTER_FACTORIES[type as ExporterType].configSchema.safeParse(settings);
      for (const [result, prefix] of [[parsedQueue, [key, 'queue']], [parsed, [key]]] as const) {
        if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: [...prefix, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
      }
      if (parsedQueue.success && parsed.success) out.push({ type: type as ExporterType, name: key, config: parsed.data, queue: parsedQueue.data });
    }
    return out;
  });

/** The processors, in their default order (DESIGN.md: filter, redact, stitch, sample). */
export const PROCESSOR_TYPES = ['filter', 'redact', 'stitch', 'sample'] as const;

/** `host:port`, port 0–65535 (0 picks a free port). */
const endpoint = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 0.0.0.0:4317')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535');

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');
const url = z.string().refine((s) => s === '' || /^https?:\/\/[^\s/]+/.test(s), 'expected an http:// or https:// URL');
/** An http(s) URL that must be given. */
const requiredUrl = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `required: ${what}` : 'expected a URL (a string)') })
    .refine((s) => /^https?:\/\/[^\s/]+/.test(s), `expected an http:// or https:// URL: ${what}`)
    // user:password@ would be printed with the URL in errors and logs (and fetch refuses it): the token goes in `token`.
    .refine((s) => !/^https?:\/\/[^\s/]*@/.test(s), 'credentials in the URL are not sent: give an ingest token in storage.owner.token');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse identifier (letters, digits, _)');

export const configSchema = z
  .object({
    /** Which parts of the collector this process runs (roles/roles.ts): all, ingest, process or query. */
    role: z.enum(ROLES, { error: () => `expected one of ${ROLES.join(', ')}` }).default('all'),
    receivers: z
      .object({
        otlp: z
          .object({
            grpc: z
              .object({
                enabled: z.boolean().default(true),
                endpoint: endpoint.default('127.0.0.1:4317'),
                /** Largest accepted message, after decompression. */
                max_recv_msg_size_mib: positiveInt.default(16),
                tls: tlsConfigSchema.prefault({}),
                limits: connectionLimitsSchema.prefault({}),
              })
              .strict()
              .prefault({}),
            http: z
              .object({
                enabled: z.boolean().default(true),
                endpoint: endpoint.default('127.0.0.1:4318'),
                /** Largest accepted body, measured after decompression. */
                max_request_body_size_mib: positiveInt.default(16),
                tls: tlsConfigSchema.prefault({}),
                limits: connectionLimitsSchema.prefault({}),
                /** Browser SDKs posting to /v1/traces from these origins (preflight answered). */
                cors: corsConfigSchema.prefault({}),
              })
              .strict()
              .prefault({}),
            quotas: quotaConfigSchema.prefault({}),
            /** Bytes of OTLP requests held at once by both receivers (received and decompressed); more are refused, retryably. */
            max_in_flight_mib: positiveInt.default(DEFAULT_MAX_IN_FLIGHT_MIB),
          })
          .strict()
          // A request larger than the whole budget could never be accepted.
          .refine((otlp) => otlp.max_in_flight_mib >= Math.max(otlp.grpc.max_recv_msg_size_mib, otlp.http.max_request_body_size_mib), {
            message: 'must be at least max_recv_msg_size_mib and max_request_body_size_mib, or no request of that size could ever be accepted',
            path: ['max_in_flight_mib'],
          })
          .prefault({}),
        /** The `process` tier's input: OTLP traces from Kafka (receivers/kafka/). */
        kafka: kafkaReceiverConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        endpoint: endpoint.default('127.0.0.1:8686'),
        tls: tlsConfigSchema.prefault({}),
        limits: connectionLimitsSchema.prefault({}),
        /** Host header values accepted besides loopback names and the bound address (DNS rebinding). */
        allowed_hosts: z.array(z.string().min(1)).default([]),
        cors: corsConfigSchema.prefault({}),
        sql: userSqlConfigSchema.prefault({}),
        /** The live tail's bounds (`/api/tail`, query/tail/). */
        tail: tailConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** Embedded ClickHouse data directory, used when no server URL is set. */
        data_dir: z.string().min(1, 'must not be empty').default('./data'),
        /** Days spans are kept: the default for spans no `retention_rules` entry matches. */
        retention_days: positiveInt.default(7),
        /**
         * Exceptions to `retention_days`, in order; the first rule a span matches decides
         * (`{ name, match: { service, status, kind, method_spans }, days }`; storage/retention/).
         */
        retention_rules: retentionRulesSchema,
        /** Bytes the storage tables together may take on disk, in GB; over it the oldest days of spans and logs are dropped (storage/disk-budget/). 0: no budget. */
        max_disk_gb: maxDiskGbSchema,
        disk_check_interval_seconds: diskCheckIntervalSchema,
        /** How long the drop ledger (`flowtrace_drops`: spans not stored, values changed) is kept. */
        drops_retention_days: positiveInt.default(30),
        /**
         * Keep the attribute-key catalog (keys and top values per service, for search autocomplete:
         * GET /api/search/keys, /api/search/values) at insert time; false drops it and its cost.
         */
        attribute_catalog: z.boolean().default(true),
        /**
         * Attribute values (span, resource, scope, event, link) longer than this many UTF-8 bytes are
         * truncated at ingest: cut at a character boundary, ending in `…`, the original length in an
         * int attribute `flowtrace.truncated.<key>`; counted in the drop ledger (receivers/otlp/value-limit.ts).
         */
        max_attribute_value_bytes: z
          .number()
          .int('expected a whole number of bytes')
          .min(MIN_MAX_ATTRIBUTE_VALUE_BYTES, `must be at least ${MIN_MAX_ATTRIBUTE_VALUE_BYTES}`)
          .max(64 * 1024 * 1024, 'must be at most 67108864 (64 MiB)')
          .default(DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES),
        /** Span attribute keys stored in their own column with a skip index (storage/hot-attributes/). */
        hot_attributes: hotAttributesSchema,
        /**
         * Where `flowtrace backup` and `POST /api/admin/backup` write backups of the embedded store
         * (each in a directory named by the request); empty: `<data_dir>/backups`. See backup/README.md.
         */
        backup_dir: z.string().default(''),
        /** The embedded engine's memory, merge and cache bounds (exporters/clickhouse/engine.ts). */
        embedded: embeddedEngineConfigSchema.prefault({}),
        /** Encryption at rest (AES-256-GCM) of queues, journal, dead letters and the embedded engine's parts (storage/encryption/). */
        encryption: encryptionConfigSchema.prefault({}),
        /**
         * Scale-out on the embedded store (one process per data directory): a `process` collector
         * keeps no spans; it sends them over OTLP/HTTP to the `query` collector that owns the store,
         * and its side rows (service graph, correlations, clock skew, RED, drops) to that
         * collector's API (roles/owner-rows.ts). Absent: this collector writes its own storage.
         */
        owner: z
          .object({
            /** The owner's OTLP/HTTP receiver, e.g. http://flowtrace-query:4318. */
            endpoint: requiredUrl("the owner's OTLP/HTTP URL, e.g. http://flowtrace-query:4318"),
            /** The owner's API, e.g. http://flowtrace-query:8686. */
            api: requiredUrl("the owner's API URL, e.g. http://flowtrace-query:8686"),
            /** An API token of the owner with the `ingest` scope; empty when its loopback rule admits this collector. */
            token: z.string().default(''),
          })
          .strict()
          .optional(),
        clickhouse: z
          .object({
            /** A ClickHouse server's HTTP URL; empty means the embedded engine. */
            url: url.default(''),
            username: z.string().default('default'),
            password: z.string().default(''),
            /** The server user that runs user SQL (a readonly user with a constrained settings profile); empty: `username`. */
            guest_username: z.string().default(''),
            guest_password: z.string().default(''),
            database: identifier.default('default'),
            traces_table: identifier.default('otel_traces'),
            /**
             * A ClickHouse cluster (a `remote_servers` name on the server) to create the tables on:
             * local Replicated tables under Distributed ones of the usual names, every migration
             * ON CLUSTER (exporters/clickhouse/README.md "Cluster mode"). Empty: a single node.
             */
            cluster: z.string().regex(/^([A-Za-z_][A-Za-z0-9_.-]*)?$/, 'expected a cluster name (letters, digits, _, ., -)').default(''),
          })
          .strict()
          .refine((clickhouse) => clickhouse.cluster === '' || clickhouse.url !== '', {
            message: 'needs a ClickHouse server (storage.clickhouse.url): the embedded engine is a single node',
            path: ['cluster'],
          })
          .prefault({}),
      })
      .strict()
      // The disk budget drops day partitions of one node's table; on a cluster that is each node's own business.
      .refine((storage) => storage.clickhouse.cluster === '' || storage.max_disk_gb === 0, {
        message: 'is not supported with storage.clickhouse.cluster: size each node\'s disk in ClickHouse (TTL, storage policies) instead',
        path: ['max_disk_gb'],
      })
      .prefault({}),
    auth: authConfigSchema.prefault({}),
    /** Each processor's settings; which run, and in which order, is `pipeline.processors`. */
    processors: z
      .object({
        filter: filterConfigSchema.prefault({}),
        redact: redactConfigSchema.prefault({}),
        stitch: stitchConfigSchema.prefault({}),
        sample: sampleConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Forwarding exporters, each `<type>` or `<type>/<name>` (several of one type): every one
     * listed runs, beside ClickHouse storage, behind its own durable queue. An `otlp` exporter's
     * `signals` (`[traces]` by default; `logs` too, or alone) says what it forwards, each signal
     * from its own queue (logs: `<data_dir>/queues/logs/<name>`; README "Logs beside traces").
     */
    exporters: exportersSchema,
    /** RED metrics per service and operation, counted before sampling (metrics/red/). */
    red: redConfigSchema.prefault({}),
    /** Alert rules on RED, anomalies and the drop ledger, delivered to webhooks (alerts/). */
    alerts: alertsConfigSchema.prefault({}),
    pipeline: z
      .object({
        /** Processors run between the receivers and the exporter queues, in this order. */
        processors: z
          .array(z.enum(PROCESSOR_TYPES))
          .refine((list) => new Set(list).size === list.length, 'a processor may appear only once')
          .default([...PROCESSOR_TYPES]),
        /**
         * The storage (ClickHouse) exporter's durable queue; forwarding exporters have their own
         * under `exporters.<name>.queue`. ClickHouse wants few, large inserts: every insert makes
         * a part that background merges rewrite (20k-span batches cost 35 µs of CPU per span in
         * all, 100k-span batches 22 µs), hence the default batch of 100,000 spans or 2 s.
         */
        queue: queueConfigSchema.prefault({}),
        /** The write-ahead journal in front of the processors that hold spans (pipeline/journal/). */
        journal: journalConfigSchema.prefault({}),
        /** The embedded-store owner's check for spans sent twice (a `process` replica replaying after a crash; pipeline/dedupe.ts). */
        dedupe: dedupeConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
