import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { hostPortOf } from './config.js';
import type { BackendResolver } from './resolver-static.js';

export interface DnsResolverOptions {
  hostname: string;
  port: number;
  intervalMs: number;
  timeoutMs: number;
  /** `host[:port]` of the DNS server; the system's when absent. */
  server?: string;
  logger: Logger;
  /** Called for every lookup that failed (not for an empty answer). */
  onError?: () => void;
}

/** Codes meaning "the name has no such records", which is an answer, not a failure. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

type Lookup = { addresses: string[] } | { empty: true } | { error: string };

/**
 * `resolver.dns`: the A and AAAA records of a name (a headless Service: one per ready pod),
 * asked again every interval. A failed lookup keeps the last set (a DNS hiccup must not empty
 * the ring), and so does an empty answer (pods restarting all at once would otherwise leave no
 * backend): both are logged once until the answer changes.
 */
export class DnsResolver implements BackendResolver {
  private readonly resolver: Resolver;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private current = '';
  /** The last problem logged, so that one that persists is logged once. */
  private lastProblem = '';
  private onChange: ((endpoints: string[]) => Promise<void>) | undefined;
  private stopped = false;

  constructor(private readonly options: DnsResolverOptions) {
    // One try per lookup: the next interval is the retry.
    this.resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.server !== undefined) this.resolver.setServers([options.server]);
  }

  async start(onChange: (endpoints: string[]) => Promise<void>): Promise<void> {
    this.onChange = onChange;
    await this.resolveOnce();
    if (this.stopped) return;
    this.timer = setInterval(() => {
      // A lookup still running (a slow server) is not doubled.
      this.running ??= this.resolveOnce()
        .catch((err: unknown) => this.options.logger.error({ hostname: this.options.hostname, err: err instanceof Error ? err.message : String(err) }, 'loadbalancing: applying a DNS answer failed'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.resolver.cancel();
    await this.running;
  }

  /** One lookup of A and AAAA; calls onChange when the set differs from the last one. */
  async resolveOnce(): Promise<void> {
    const { hostname, port, logger } = this.options;
    const found = isIP(hostname) !== 0 ? { addresses: [hostname] } : combine(await Promise.all([this.lookup(() => this.resolver.resolve4(hostname)), this.lookup(() => this.resolver.resolve6(hostname))]));
    if (this.stopped) return;
    if ('error' in found) {
      this.options.onError?.();
      this.report(`lookup failed: ${found.error}`, () =>
        logger.warn({ hostname, error: found.error, keeping: this.current === '' ? 0 : this.current.split(',').length }, 'loadbalancing: DNS lookup failed; keeping the last known backends'),
      );
      return;
    }
    if ('empty' in found) {
      this.report('empty', () =>
        logger.warn({ hostname, keeping: this.current === '' ? 0 : this.current.split(',').length }, 'loadbalancing: DNS answer has no addresses; keeping the last known backends'),
      );
      return;
    }
    this.lastProblem = '';
    const endpoints = [...new Set(found.addresses.map((a) => hostPortOf(a, port)))].sort();
    const key = endpoints.join(',');
    if (key === this.current) return;
    this.current = key;
    logger.info({ hostname, backends: endpoints }, 'loadbalancing: DNS answer changed');
    await this.onChange?.(endpoints);
  }

  private report(problem: string, log: () => void): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    log();
  }

  private async lookup(query: () => Promise<string[]>): Promise<Lookup> {
    try {
      const addresses = await query();
      return addresses.length > 0 ? { addresses } : { empty: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NO_RECORDS.has(code)) return { empty: true };
      return { error: code !== '' ? code : err instanceof Error ? err.message : String(err) };
    }
  }
}

/**
 * A and AAAA together: addresses of either family are the answer; an error in one family
 * with no addresses in the other is a failure (it cannot be told from an empty answer).
 */
function combine(results: Lookup[]): Lookup {
  const addresses = results.flatMap((r) => ('addresses' in r ? r.addresses : []));
  if (addresses.length > 0) return { addresses };
  const error = results.find((r): r is { error: string } => 'error' in r);
  return error ?? { empty: true };
}
