import { z } from 'zod';
import { DEFAULT_MAX_CLIENTS, DEFAULT_MAX_CLIENTS_PER_PRINCIPAL, DEFAULT_MAX_SPANS_PER_SECOND, DEFAULT_QUEUE_SPANS, type TailHubOptions } from './tail-hub.js';

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

/** Seconds between heartbeat comments on an idle stream, so that proxies and clients see it alive. */
export const DEFAULT_HEARTBEAT_SECONDS = 15;

/**
 * `api.tail:` the live tail's bounds (README.md in this folder). Each one bounds what the tail
 * can cost the collector, whatever clients do: memory (clients × queue), CPU (encodings/s).
 */
export const tailConfigSchema = z
  .object({
    /** Clients streaming at once; more are answered 429 with Retry-After. */
    max_clients: positiveInt.max(1024, 'must be at most 1024').default(DEFAULT_MAX_CLIENTS),
    /** Streams one principal (token, session, OIDC subject) may hold at once, so that one caller cannot take every slot. */
    max_clients_per_principal: positiveInt.max(1024, 'must be at most 1024').default(DEFAULT_MAX_CLIENTS_PER_PRINCIPAL),
    /** Spans waiting per client; a client that falls further behind has spans dropped (counted, and told). */
    queue_spans: positiveInt.max(1_000_000, 'must be at most 1000000').default(DEFAULT_QUEUE_SPANS),
    /** Spans encoded per second for all clients together; the rest are dropped and counted. */
    max_spans_per_second: positiveInt.max(10_000_000, 'must be at most 10000000').default(DEFAULT_MAX_SPANS_PER_SECOND),
    /** Seconds between heartbeat comments on an idle stream. */
    heartbeat_seconds: positiveInt.max(3600, 'must be at most 3600').default(DEFAULT_HEARTBEAT_SECONDS),
  })
  .strict();

export type TailConfig = z.infer<typeof tailConfigSchema>;

/** The hub's options for these settings. */
export function tailHubOptions(config: TailConfig): TailHubOptions {
  return {
    maxClients: config.max_clients,
    maxClientsPerPrincipal: config.max_clients_per_principal,
    queueSpans: config.queue_spans,
    maxSpansPerSecond: config.max_spans_per_second,
    heartbeatMs: config.heartbeat_seconds * 1000,
  };
}
