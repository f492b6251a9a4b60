import { statfs } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import '../auth/request-principal.js';
import { unrestricted } from '../auth/principal.js';
import { SENDER_CLOCK_WINDOW_MINUTES, type SenderClock, type SenderClocks } from '../receivers/sender-clocks.js';
import type { CollectorMetrics } from '../telemetry.js';
import { describeMatch, type RetentionRule } from '../storage/retention/policy.js';
import { authErrors } from './route-schemas.js';

export interface StatusRouteDeps {
  metrics: CollectorMetrics;
  /** `storage.data_dir`: queues, journal and (embedded) ClickHouse live there. */
  dataDir: string;
  retentionDays: number;
  /** `storage.retention_rules`, in order (the first match decides). */
  retentionRules: readonly RetentionRule[];
  /** `storage.max_disk_gb`; null: no budget. */
  maxDiskGb: number | null;
  dropsRetentionDays: number;
  senders: SenderClocks;
  isReady(): boolean;
  /** `role` (roles/roles.ts): what this process runs. */
  role?: string;
}

export interface QueueStatus {
  exporter: string;
  records: number;
  spans: number;
  /** Segment files on disk, and what `max_bytes` allows. */
  diskBytes: number;
  capacityBytes: number;
  /** Since the collector started. */
  deadLetteredSpans: number;
  droppedSpans: number;
}

export interface RetentionRuleStatus {
  name: string;
  /** The match in words: `service=payments, status=error, method spans`. */
  match: string;
  days: number;
}

export interface CollectorStatus {
  ready: boolean;
  /** Absent from collectors older than the roles. */
  role?: string;
  storage: {
    /** Free and total bytes of the file system holding the data directory (null when it cannot be read). */
    dataDirFreeBytes: number | null;
    dataDirTotalBytes: number | null;
    /** The default: spans no rule matches. */
    retentionDays: number;
    /** Retention rules in order; the first a span matches decides (empty: the default for all). */
    retentionRules?: RetentionRuleStatus[];
    /** `storage.max_disk_gb`; null: no disk budget. (Both optional: doctor may ask an older collector.) */
    maxDiskGb?: number | null;
    dropsRetentionDays: number;
  };
  queues: QueueStatus[];
  /** The clock skew of senders seen over the last minutes (see receivers/sender-clocks.ts). */
  senders: { windowMinutes: number; clocks: SenderClock[] };
}

/** Senders listed at most. */
const MAX_SENDERS = 100;

const bytes = (description: string) => ({ type: ['integer', 'null'], description }) as const;
const statusSchema = {
  summary: 'Collector status: readiness, storage, export queues and sender clocks',
  response: {
    200: {
      type: 'object',
      properties: {
        ready: { type: 'boolean' },
        role: { type: 'string', description: 'what this collector runs: all, ingest, process or query (README "Scaling out")' },
        storage: {
          type: 'object',
          properties: {
            dataDirFreeBytes: bytes('free bytes of the file system holding the data directory; null when it cannot be read'),
            dataDirTotalBytes: bytes('its size; null when it cannot be read'),
            retentionDays: { type: 'number', description: 'the default retention: spans no rule matches' },
            retentionRules: {
              type: 'array',
              description: 'storage.retention_rules in order; the first a span matches decides',
              items: { type: 'object', properties: { name: { type: 'string' }, match: { type: 'string' }, days: { type: 'number' } } },
            },
            maxDiskGb: { type: ['number', 'null'], description: 'storage.max_disk_gb; null when there is no disk budget' },
            dropsRetentionDays: { type: 'number' },
          },
        },
        queues: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              exporter: { type: 'string' },
              records: { type: 'number' },
              spans: { type: 'number' },
              diskBytes: { type: 'number', description: 'segment files on disk' },
              capacityBytes: { type: 'number', description: 'what max_bytes allows' },
              deadLetteredSpans: { type: 'number', description: 'since the collector started' },
              droppedSpans: { type: 'number', description: 'since the collector started' },
            },
          },
        },
        senders: {
          type: 'object',
          properties: {
            windowMinutes: { type: 'integer' },
            clocks: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  service: { type: 'string' },
                  aheadMs: { type: 'number', description: 'how far its newest span ends after the collector received it (clock ahead); 0 when never' },
                  behindMs: { type: 'number', description: 'how long after its newest span ended it arrived (clock behind, or export delay)' },
                },
              },
            },
          },
        },
      },
    },
    ...authErrors,
  },
} as const;

/** `GET /api/status`: what `flowtrace doctor` checks besides sending a trace. */
export function registerStatusRoutes(app: FastifyInstance, deps: StatusRouteDeps): void {
  app.get('/api/status', { schema: statusSchema }, async (req): Promise<CollectorStatus> => {
    const rules = req.principal.rules;
    // Sender names are data: a principal restricted by service sees only its own services.
    const visible = (c: SenderClock) => unrestricted(rules) || (!rules.environments?.length && (rules.services ?? []).includes(c.service));
    return {
      ready: deps.isReady(),
      role: deps.role ?? 'all',
      storage: {
        ...(await diskSpace(deps.dataDir)),
        retentionDays: deps.retentionDays,
        retentionRules: deps.retentionRules.map((r) => ({ name: r.name, match: describeMatch(r.match), days: r.days })),
        maxDiskGb: deps.maxDiskGb,
        dropsRetentionDays: deps.dropsRetentionDays,
      },
      queues: await queues(deps.metrics),
      senders: { windowMinutes: SENDER_CLOCK_WINDOW_MINUTES, clocks: deps.senders.report().filter(visible).slice(0, MAX_SENDERS) },
    };
  });
}

async function diskSpace(dir: string): Promise<{ dataDirFreeBytes: number | null; dataDirTotalBytes: number | null }> {
  try {
    const fs = await statfs(dir);
    return { dataDirFreeBytes: fs.bavail * fs.bsize, dataDirTotalBytes: fs.blocks * fs.bsize };
  } catch {
    return { dataDirFreeBytes: null, dataDirTotalBytes: null };
  }
}

/** Read from the queues' own gauges and counters, so the answer and /metrics always agree. */
async function queues(metrics: CollectorMetrics): Promise<QueueStatus[]> {
  const byExporter = new Map<string, QueueStatus>();
  const of = (exporter: string) => {
    let q = byExporter.get(exporter);
    if (!q) byExporter.set(exporter, (q = { exporter, records: 0, spans: 0, diskBytes: 0, capacityBytes: 0, deadLetteredSpans: 0, droppedSpans: 0 }));
    return q;
  };
  const read = async (metric: { get(): Promise<{ values: Array<{ labels: Partial<Record<string, string | number>>; value: number }> }> }, field: Exclude<keyof QueueStatus, 'exporter'>) => {
    for (const v of (await metric.get()).values) {
      const exporter = v.labels.exporter;
      if (typeof exporter === 'string') of(exporter)[field] += v.value;
    }
  };
  await read(metrics.queueCapacityBytes, 'capacityBytes');
  await read(metrics.queueRecords, 'records');
  await read(metrics.queueSpans, 'spans');
  await read(metrics.queueDiskBytes, 'diskBytes');
  await read(metrics.spansDeadLettered, 'deadLetteredSpans');
  await read(metrics.spansDropped, 'droppedSpans');
  return [...byExporter.values()];
}
