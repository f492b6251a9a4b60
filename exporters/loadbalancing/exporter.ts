import { Counter, Gauge, Registry } from 'prom-client';
import type { Span } from '../../collector/src/model/span.js';
import { AgedMap } from '../../collector/src/processors/aged-map.js';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { ExportError, ExporterConfigError, type Exporter, type ExporterContext, type ExporterQueue } from '../exporter.js';
import { encodeTraceRequest } from '../otlp/encoder.js';
import { OTLP_PROTO_ENCODING, OtlpExporter } from '../otlp/exporter.js';
import { backendOtlpConfig, type LoadBalancingConfig } from './config.js';
import { HashRing } from './ring.js';
import { DnsResolver } from './resolver-dns.js';
import { StaticResolver, type BackendResolver } from './resolver-static.js';

/** How often removed backends are checked for an empty queue (then closed). */
const SWEEP_INTERVAL_MS = 1_000;
/** A backend whose queue could not be opened (a disk error) is tried again after this long. */
const REOPEN_RETRY_MS = 10_000;

interface Backend {
  readonly endpoint: string;
  readonly queue: ExporterQueue;
  /** In the ring (false once the resolver no longer lists it; its queue stays until drained). */
  active: boolean;
  /** Appends under way: the queue is not closed under them. */
  appending: number;
}

interface Route {
  backend: string;
  /** When a span of the trace was last routed, ms. */
  at: number;
}

export interface LoadBalancerMetrics {
  spansRouted: Counter<'exporter' | 'backend'>;
  backends: Gauge<'exporter'>;
  membershipChanges: Counter<'exporter'>;
  resolverErrors: Counter<'exporter'>;
}

/** The metrics, registered once per registry (several loadbalancing exporters share them by label). */
function metricsOn(registry: Registry): LoadBalancerMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    spansRouted: get('flowtrace_loadbalancer_spans_routed_total', () => new Counter({ name: 'flowtrace_loadbalancer_spans_routed_total', help: 'Spans written to a backend\'s queue by the loadbalancing exporter', labelNames: ['exporter', 'backend'], registers: [registry] })),
    backends: get('flowtrace_loadbalancer_backends', () => new Gauge({ name: 'flowtrace_loadbalancer_backends', help: 'Backends in the loadbalancing exporter\'s ring', labelNames: ['exporter'], registers: [registry] })),
    membershipChanges: get('flowtrace_loadbalancer_membership_changes_total', () => new Counter({ name: 'flowtrace_loadbalancer_membership_changes_total', help: 'Times the set of backends changed (the first set found counts once)', labelNames: ['exporter'], registers: [registry] })),
    resolverErrors: get('flowtrace_loadbalancer_resolver_errors_total', () => new Counter({ name: 'flowtrace_loadbalancer_resolver_errors_total', help: 'Failed lookups of the loadbalancing exporter\'s resolver', labelNames: ['exporter'], registers: [registry] })),
  };
}

/**
 * Routes spans by trace ID over a consistent-hash ring of backend collectors, so that every
 * span of a trace reaches the same backend (which can then sample and stitch whole traces).
 *
 * It sits behind the pipeline's durable queue like any exporter; `send` decodes the payload,
 * groups spans by backend and appends each group to that backend's own durable queue, all or
 * nothing, before resolving: the outer queue's acknowledgement then means every span is on
 * disk in some backend's queue. A backend that is down only fills its own queue; when one is
 * full, `send` fails (retryable) and the outer queue holds the rest back.
 */
export class LoadBalancingExporter implements Exporter {
  readonly encoding = OTLP_PROTO_ENCODING;
  readonly registry: Registry;
  private readonly metrics: LoadBalancerMetrics;
  private readonly resolver: BackendResolver;
  private readonly backends = new Map<string, Backend>();
  /** Queues of removed backends being closed: one that comes back waits, since a directory has one owner. */
  private readonly closing = new Map<string, Promise<void>>();
  private ring = new HashRing([]);
  /**
   * Trace → backend of the traces routed in the last handover_seconds, least recently routed
   * first. An AgedMap, not a Map iterated from the front: that steps over every deleted slot
   * (over 100 µs a trace once full, measured).
   */
  private readonly recent = new AgedMap<Route>();
  private changedAt = Number.NEGATIVE_INFINITY;
  private membership: Promise<void> = Promise.resolve();
  /** The resolver's last set, and when to try again to open those left out (0: none left out). */
  private wanted: string[] = [];
  private reopenAt = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private starting = false;
  private readonly handoverMs: number;
  private readonly labels: { exporter: string };

  constructor(
    readonly name: string,
    private readonly config: LoadBalancingConfig,
    private readonly context: ExporterContext,
    /** Test seam. */
    private readonly now: () => number = Date.now,
  ) {
    this.registry = context.registry ?? new Registry();
    this.metrics = metricsOn(this.registry);
    this.labels = { exporter: name };
    this.metrics.backends.set(this.labels, 0);
    this.metrics.membershipChanges.inc(this.labels, 0);
    this.metrics.resolverErrors.inc(this.labels, 0);
    this.handoverMs = config.handover_seconds * 1000;
    const { static: fixed, dns } = config.resolver;
    this.resolver = fixed
      ? new StaticResolver(fixed.hostnames)
      : new DnsResolver({
          hostname: dns!.hostname,
          port: dns!.port,
          intervalMs: dns!.interval_seconds * 1000,
          timeoutMs: dns!.timeout_seconds * 1000,
          server: dns!.server,
          logger: context.logger,
          onError: () => this.metrics.resolverErrors.inc(this.labels),
        });
  }

  encode(spans: Span[]): Uint8Array {
    return encodeTraceRequest(spans);
  }

  /** Finds the backends (a static list's are all started here) and begins re-resolving. */
  async start(): Promise<void> {
    if (this.context.openQueue === undefined) {
      throw new ExporterConfigError(`exporters.${this.name}`, 'needs the pipeline\'s durable queues for its backends, which this process does not provide');
    }
    this.starting = true;
    try {
      await this.resolver.start((endpoints) => this.enqueueMembership(endpoints));
    } finally {
      this.starting = false;
    }
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async send(payload: Buffer, spanCount: number, batchId: string): Promise<void> {
    return this.sendRecords([payload], spanCount, batchId);
  }

  /** Records one by one: no concatenated copy of a whole batch. Spans are counted as decoded. */
  async sendRecords(records: readonly Buffer[], _spanCount?: number, _batchId?: string): Promise<void> {
    const spans: Span[] = [];
    for (const record of records) {
      if (record.length === 0) continue;
      try {
        for (const span of decodeTraceRequest(record).spans) spans.push(span);
      } catch (err) {
        // The outer queue holds what our own encode made: bytes that do not decode never will.
        throw new ExportError(`exporters.${this.name}: a queued record does not decode as OTLP: ${err instanceof Error ? err.message : String(err)}`, false);
      }
    }
    if (spans.length === 0) return;
    if (this.ring.size === 0) throw new ExportError(`exporters.${this.name}: no backend known yet (resolver found none)`, true);

    const byBackend = this.route(spans);
    const parts: Array<{ backend: Backend; record: Uint8Array; spans: number }> = [];
    for (const [endpoint, group] of byBackend) {
      let record: Uint8Array;
      try {
        record = encodeTraceRequest(group);
      } catch (err) {
        throw new ExportError(`exporters.${this.name}: spans decoded from the queue do not encode again: ${err instanceof Error ? err.message : String(err)}`, false);
      }
      parts.push({ backend: this.backends.get(endpoint)!, record, spans: group.length });
    }
    // All or nothing, as the pipeline's fan-out: first every queue's room, then every append.
    const full = parts.find((p) => !p.backend.queue.hasRoomFor(p.record.length));
    if (full) {
      const err = full.backend.queue.fullError();
      throw new ExportError(`exporters.${this.name}: backend ${full.backend.endpoint}: ${err.message}`, true, err.retryAfterSeconds * 1000);
    }
    for (const p of parts) p.backend.appending++;
    const results = await Promise.allSettled(parts.map((p) => p.backend.queue.append(p.record, p.spans)));
    for (const p of parts) p.backend.appending--;
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      // Retried whole: backends whose append succeeded get those spans again (as the fan-out's queues do).
      const reason = (results[failed] as PromiseRejectedResult).reason as unknown;
      const retryAfterSeconds = (reason as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      throw new ExportError(
        `exporters.${this.name}: backend ${parts[failed]!.backend.endpoint}: ${reason instanceof Error ? reason.message : String(reason)}`,
        true,
        typeof retryAfterSeconds === 'number' ? retryAfterSeconds * 1000 : undefined,
      );
    }
    for (const p of parts) this.metrics.spansRouted.inc({ exporter: this.name, backend: p.backend.endpoint }, p.spans);
  }

  /** The backend each trace goes to (exposed for tests); records the routes for handover. */
  ownerOf(traceId: string): string | undefined {
    const owner = this.ring.owner(traceId);
    if (owner === undefined || this.handoverMs === 0) return owner;
    const now = this.now();
    let chosen = owner;
    const previous = this.recent.get(traceId);
    if (previous !== undefined && previous.backend !== owner && now - this.changedAt < this.handoverMs && now - previous.at < this.handoverMs && this.backends.has(previous.backend)) {
      chosen = previous.backend; // still open (in the ring, or removed with its queue not yet closed)
    }
    this.remember(traceId, chosen, now);
    return chosen;
  }

  /** The backends in the ring, sorted. */
  get endpoints(): readonly string[] {
    return this.ring.endpoints;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.resolver.shutdown();
    await this.membership.catch(() => undefined);
    // Each backend's queue sends what it can in its time; the rest stays on disk for the next start.
    const all = [...this.backends.values()];
    this.backends.clear();
    this.ring = new HashRing([]);
    await Promise.all([...all.map((b) => b.queue.shutdown()), ...this.closing.values()]);
  }

  private route(spans: Span[]): Map<string, Span[]> {
    const byTrace = new Map<string, Span[]>();
    for (const span of spans) {
      const list = byTrace.get(span.traceId);
      if (list) list.push(span);
      else byTrace.set(span.traceId, [span]);
    }
    const byBackend = new Map<string, Span[]>();
    for (const [traceId, group] of byTrace) {
      const backend = this.ownerOf(traceId)!;
      const list = byBackend.get(backend);
      if (list) for (const s of group) list.push(s);
      else byBackend.set(backend, group);
    }
    return byBackend;
  }

  private remember(traceId: string, backend: string, now: number): void {
    // Set again, the entry is the newest: the order is the order of last use.
    this.recent.set(traceId, { backend, at: now });
    for (let oldest = this.recent.oldest(); oldest !== undefined; oldest = this.recent.oldest()) {
      if (this.recent.size <= this.config.handover_max_traces && now - oldest[1].at < this.handoverMs) break;
      this.recent.deleteOldest();
    }
  }

  /** Membership changes apply one at a time, in the order the resolver saw them. */
  private enqueueMembership(endpoints: string[]): Promise<void> {
    const next = this.membership.then(() => this.applyMembership(endpoints));
    this.membership = next.catch(() => undefined);
    return next;
  }

  private async applyMembership(endpoints: string[]): Promise<void> {
    this.wanted = endpoints;
    this.reopenAt = 0;
    if (this.ring.sameAs(endpoints)) return;
    const wanted = new Set(endpoints);
    const joined: string[] = [];
    for (const endpoint of wanted) {
      const known = this.backends.get(endpoint);
      if (known) {
        known.active = true;
        continue;
      }
      try {
        await this.openBackend(endpoint);
        joined.push(endpoint);
      } catch (err) {
        // At start (a bad TLS file, a disk error) it stops `flowtrace serve`: the user's to fix.
        if (this.starting) throw err;
        this.context.logger.error({ exporter: this.name, backend: endpoint, err: err instanceof Error ? err.message : String(err) }, 'loadbalancing: could not open a backend; left out of the ring');
        wanted.delete(endpoint);
        this.reopenAt = this.now() + REOPEN_RETRY_MS;
      }
    }
    if (this.ring.sameAs(wanted)) return; // only a retry that failed again: nothing changed
    const left: string[] = [];
    for (const backend of this.backends.values()) {
      if (backend.active && !wanted.has(backend.endpoint)) {
        backend.active = false;
        left.push(backend.endpoint);
      }
    }
    const before = this.ring.size;
    this.ring = new HashRing(wanted);
    this.changedAt = this.now();
    this.metrics.backends.set(this.labels, this.ring.size);
    this.metrics.membershipChanges.inc(this.labels);
    this.context.logger.info({ exporter: this.name, backends: this.ring.endpoints, joined, left, before, handoverSeconds: this.config.handover_seconds }, 'loadbalancing: backends changed');
  }

  private async openBackend(endpoint: string): Promise<void> {
    const name = `${this.name}/${endpoint}`;
    const logger = this.context.logger.child({ backend: endpoint });
    const exporter = new OtlpExporter(name, backendOtlpConfig(this.config.protocol.otlp, endpoint), { logger });
    await this.closing.get(endpoint);
    const queue = this.context.openQueue!(exporter, this.config.backend_queue);
    await queue.start();
    this.backends.set(endpoint, { endpoint, queue, active: true, appending: 0 });
  }

  /**
   * Closes removed backends once their queue is empty and no handover can route to them. One
   * that stays unreachable keeps its queue open (and retrying) until shutdown; what is left is
   * on disk under its own directory.
   */
  private async sweep(): Promise<void> {
    const now = this.now();
    if (this.reopenAt !== 0 && now >= this.reopenAt) {
      this.reopenAt = 0;
      void this.enqueueMembership(this.wanted).catch(() => undefined);
    }
    for (const backend of [...this.backends.values()]) {
      if (backend.active || backend.appending > 0 || backend.queue.depth.records > 0) continue;
      if (now - this.changedAt < this.handoverMs) continue;
      this.backends.delete(backend.endpoint);
      this.context.logger.info({ exporter: this.name, backend: backend.endpoint }, 'loadbalancing: removed backend drained; queue closed');
      const closed = backend.queue.shutdown().catch(() => undefined);
      this.closing.set(backend.endpoint, closed);
      await closed;
      this.closing.delete(backend.endpoint);
    }
  }
}
