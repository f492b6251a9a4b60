import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../../test/helpers/dns-server.js';
import { captureLogs } from '../otlp/exporter.testing.js';
import { DnsResolver } from './resolver-dns.js';

const NAME = 'backends.flowtrace.test';
let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer();
});
afterAll(async () => {
  await dns.close();
});

/** A resolver against the test server that never re-resolves by itself (the test calls resolveOnce). */
function resolverFor(hostname = NAME, timeoutMs = 500) {
  const logs = captureLogs();
  const changes: string[][] = [];
  let errors = 0;
  const resolver = new DnsResolver({ hostname, port: 4317, intervalMs: 3_600_000, timeoutMs, server: dns.address, logger: logs.logger, onError: () => errors++ });
  return {
    resolver,
    changes,
    logs: logs.records,
    get errors() {
      return errors;
    },
    start: () => resolver.start(async (endpoints) => void changes.push(endpoints)),
  };
}

describe('DNS resolver against a real DNS server on 127.0.0.1', () => {
  it('finds the A records, sorted, with the port; calls back only when the answer changes', async () => {
    dns.mode = 'answer';
    dns.records.set(NAME, ['127.0.0.3', '127.0.0.2']);
    const r = resolverFor();
    await r.start();
    expect(r.changes).toEqual([['127.0.0.2:4317', '127.0.0.3:4317']]);
    await r.resolver.resolveOnce();
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']); // the same set in another order
    await r.resolver.resolveOnce();
    expect(r.changes).toHaveLength(1);
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    await r.resolver.resolveOnce();
    expect(r.changes[1]).toEqual(['127.0.0.2:4317', '127.0.0.3:4317', '127.0.0.4:4317']);
    expect(r.errors).toBe(0);
    await r.resolver.shutdown();
  });

  it('keeps the last set when lookups fail (SERVFAIL, no answer), counts each, logs once per change', async () => {
    dns.mode = 'answer';
    dns.records.set(NAME, ['127.0.0.2']);
    const r = resolverFor();
    await r.start();
    dns.mode = 'servfail';
    await r.resolver.resolveOnce();
    await r.resolver.resolveOnce();
    expect(r.changes).toEqual([['127.0.0.2:4317']]);
    expect(r.errors).toBe(2);
    const failed = r.logs.filter((l) => l.msg === 'loadbalancing: DNS lookup failed; keeping the last known backends');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ error: 'ESERVFAIL', keeping: 1 });

    dns.mode = 'silent'; // the server does not answer: a timeout, another problem, logged again
    await r.resolver.resolveOnce();
    expect(r.errors).toBe(3);
    expect(r.logs.filter((l) => l.msg === 'loadbalancing: DNS lookup failed; keeping the last known backends').map((l) => l.error)).toEqual(['ESERVFAIL', 'ETIMEOUT']);

    dns.mode = 'answer';
    dns.records.set(NAME, ['127.0.0.5']);
    await r.resolver.resolveOnce();
    expect(r.changes.at(-1)).toEqual(['127.0.0.5:4317']);
    await r.resolver.shutdown();
  });

  it('keeps the last set on an empty answer (no records, or the name gone) and says so once', async () => {
    dns.mode = 'answer';
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']);
    const r = resolverFor();
    await r.start();
    dns.records.set(NAME, []);
    await r.resolver.resolveOnce();
    dns.records.delete(NAME); // NXDOMAIN
    await r.resolver.resolveOnce();
    expect(r.changes).toEqual([['127.0.0.2:4317', '127.0.0.3:4317']]);
    expect(r.errors).toBe(0);
    const empty = r.logs.filter((l) => l.msg === 'loadbalancing: DNS answer has no addresses; keeping the last known backends');
    expect(empty).toHaveLength(1);
    expect(empty[0]).toMatchObject({ keeping: 2 });
    await r.resolver.shutdown();
  });

  it('starts with no backends when the first lookup fails, and finds them at a later one', async () => {
    dns.mode = 'servfail';
    dns.records.set(NAME, ['127.0.0.2']);
    const r = resolverFor();
    await r.start();
    expect(r.changes).toEqual([]);
    dns.mode = 'answer';
    await r.resolver.resolveOnce();
    expect(r.changes).toEqual([['127.0.0.2:4317']]);
    await r.resolver.shutdown();
  });

  it('re-resolves on its own every interval', async () => {
    dns.mode = 'answer';
    dns.records.set(NAME, ['127.0.0.2']);
    const changes: string[][] = [];
    const resolver = new DnsResolver({ hostname: NAME, port: 4317, intervalMs: 50, timeoutMs: 500, server: dns.address, logger: captureLogs().logger });
    await resolver.start(async (endpoints) => void changes.push(endpoints));
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.9']);
    const deadline = Date.now() + 10_000;
    while (changes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(changes).toEqual([['127.0.0.2:4317'], ['127.0.0.2:4317', '127.0.0.9:4317']]);
    await resolver.shutdown();
  });
});
