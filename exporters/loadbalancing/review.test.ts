/**
 * Issue 18 review (attacker / hard user) of the loadbalancing exporter: the handover map must
 * stay cheap once it is full, which it is whenever more than handover_max_traces traces pass in
 * handover_seconds (a busy ingest tier, or a sender making up trace IDs).
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ExporterQueue } from '../exporter.js';
import { loadBalancingConfigSchema } from './config.js';
import { LoadBalancingExporter } from './exporter.js';

/** A backend queue that holds nothing: only routing is under test here. */
function nullQueue(): ExporterQueue {
  return {
    append: async () => undefined,
    hasRoomFor: () => true,
    fullError: () => Object.assign(new Error('full'), { retryAfterSeconds: 1 }),
    depth: { records: 0, spans: 0, bytes: 0 },
    start: async () => undefined,
    shutdown: async () => undefined,
  };
}

describe('issue 18 review: loadbalancing exporter', () => {
  it('routing stays cheap once the handover map is full (no scan over forgotten traces)', async () => {
    const config = loadBalancingConfigSchema.parse({ resolver: { static: { hostnames: ['127.0.0.1:4001', '127.0.0.1:4002', '127.0.0.1:4003'] } }, protocol: { otlp: { tls: { insecure: true } } } });
    const exporter = new LoadBalancingExporter('loadbalancing', config, { logger: pino({ level: 'silent' }), openQueue: () => nullQueue() }, () => 1_000_000);
    await exporter.start();
    try {
      const ids = (n: number) => Array.from({ length: n }, () => randomBytes(16).toString('hex'));
      // Fill the map to its bound (200,000 by default), then route 300,000 new traces.
      for (const id of ids(config.handover_max_traces)) exporter.ownerOf(id);
      const more = ids(300_000);
      const started = performance.now();
      for (const id of more) exporter.ownerOf(id);
      const perTraceUs = ((performance.now() - started) * 1000) / more.length;
      // A few µs per trace when each eviction is O(1); hundreds when every call steps over the deleted slots.
      expect(perTraceUs, 'µs per trace routed').toBeLessThan(50);
    } finally {
      await exporter.shutdown();
    }
  }, 120_000);
});
