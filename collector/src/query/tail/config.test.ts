import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { tailConfigSchema, tailHubOptions } from './config.js';
import { DEFAULT_MAX_CLIENTS, DEFAULT_MAX_CLIENTS_PER_PRINCIPAL, DEFAULT_MAX_SPANS_PER_SECOND, DEFAULT_QUEUE_SPANS } from './tail-hub.js';

describe('api.tail config', () => {
  it('defaults to the documented bounds', () => {
    expect(loadConfig({ env: {} }).api.tail).toEqual({ max_clients: DEFAULT_MAX_CLIENTS, max_clients_per_principal: DEFAULT_MAX_CLIENTS_PER_PRINCIPAL, queue_spans: DEFAULT_QUEUE_SPANS, max_spans_per_second: DEFAULT_MAX_SPANS_PER_SECOND, heartbeat_seconds: 15 });
    expect([DEFAULT_MAX_CLIENTS, DEFAULT_MAX_CLIENTS_PER_PRINCIPAL, DEFAULT_QUEUE_SPANS, DEFAULT_MAX_SPANS_PER_SECOND]).toEqual([16, 4, 1000, 10_000]);
  });

  it('takes each key from the environment and hands the hub its options', () => {
    const config = loadConfig({ env: { FLOWTRACE_API_TAIL_MAX_CLIENTS: '2', FLOWTRACE_API_TAIL_MAX_CLIENTS_PER_PRINCIPAL: '1', FLOWTRACE_API_TAIL_QUEUE_SPANS: '5', FLOWTRACE_API_TAIL_MAX_SPANS_PER_SECOND: '100', FLOWTRACE_API_TAIL_HEARTBEAT_SECONDS: '1' } });
    expect(tailHubOptions(config.api.tail)).toEqual({ maxClients: 2, maxClientsPerPrincipal: 1, queueSpans: 5, maxSpansPerSecond: 100, heartbeatMs: 1000 });
  });

  it('names the key and the problem for a bad value', () => {
    expect(() => loadConfig({ env: { FLOWTRACE_API_TAIL_QUEUE_SPANS: '0' } })).toThrow('FLOWTRACE_API_TAIL_QUEUE_SPANS: must be at least 1');
    expect(() => loadConfig({ env: { FLOWTRACE_API_TAIL_MAX_CLIENTS: 'many' } })).toThrow('FLOWTRACE_API_TAIL_MAX_CLIENTS: expected a number, got "many"');
    expect(tailConfigSchema.safeParse({ max_clients: 5000 }).error?.issues[0]?.message).toBe('must be at most 1024');
    expect(tailConfigSchema.safeParse({ queue: 5 }).success).toBe(false);
  });
});
