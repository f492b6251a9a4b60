/**
 * Process hardening against the real collector and embedded engine: query-API parameters,
 * ingest quotas, invalid UTF-8 in OTLP strings, the data-directory lock and file modes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, sql, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { grpcExport } from '../helpers/grpc.js';
import { protobufRequest, sdkSpans } from '../helpers/spans.js';

afterAll(cleanup);

const PROTOBUF = { 'content-type': 'application/x-protobuf' };

async function postProtobuf(c: RunningCollector, body: Buffer) {
  const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: PROTOBUF, body: new Uint8Array(body) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: Buffer.from(await res.arrayBuffer()) };
}

async function storedSpans(c: RunningCollector, where: string): Promise<number> {
  const rows = await sql<{ n: string }>(c.apiUrl, `SELECT count() AS n FROM otel_traces WHERE ${where}`);
  return Number(rows[0]!.n);
}

describe('query-API parameters', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector();
  }, 90_000);

  const huge = '9'.repeat(40);
  const deepTags = `{"k":${'['.repeat(1500)}${']'.repeat(1500)}}`;
  /** [path and query, the parameter the 400 must name] */
  const bad: Array<[string, string]> = [
    [`/api/traces?start=${huge}`, 'start'],
    [`/api/traces?end=${huge}`, 'end'],
    ['/api/traces?start=-5', 'start'],
    ['/api/traces?start=1.5', 'start'],
    ['/api/traces?end=1e30', 'end'],
    ['/api/traces?start=1&start=2', 'start'],
    ['/api/traces?end=275760-09-13', 'end'],
    [`/api/traces?lookback=${huge}h`, 'lookback'],
    [`/api/traces?minDuration=${huge}ms`, 'minDuration'],
    ['/api/traces?maxDuration=99999999999h', 'maxDuration'],
    ['/api/traces?lookback=-1h', 'lookback'],
    ['/api/traces?limit=1.0', 'limit'],
    ['/api/traces?limit=0x10', 'limit'],
    ['/api/traces?limit=%205', 'limit'],
    ['/api/traces?limit=5abc', 'limit'],
    ['/api/traces?limit=1e3', 'limit'],
    [`/api/traces?limit=${huge}`, 'limit'],
    [`/api/traces?tags=${encodeURIComponent(deepTags)}`, 'tags'],
    [`/api/traces?tags=${encodeURIComponent('{"k":{"a":1}}')}`, 'tags'],
    ['/api/traces?tags=a&tags=b', 'tags'],
    ['/api/traces/zz', 'trace ID'],
    [`/api/traces/${'0'.repeat(31)}`, 'trace ID'],
    ['/api/traces/4bf92f3577b34da6a3ce929d0e0e4736?adjust=x', 'adjust'],
    [`/api/correlations/x?limit=${huge}`, 'limit'],
    ['/api/correlations/x?limit=-1', 'limit'],
    [`/api/service-graph?start=${huge}`, 'start'],
    [`/api/service-graph?lookback=${huge}s`, 'lookback'],
    ['/api/service-graph?limit=1.0', 'limit'],
    ['/api/service-graph?end=0x10', 'end'],
    ['/api/traces?service=a&service=b', 'service'],
    ['/api/traces?operation=a&operation=b', 'operation'],
    [`/api/traces?service=${'s'.repeat(2000)}`, 'service'],
    ['/api/service-graph?service=a&service=b', 'service'],
    ['/api/traces/4bf92f3577b34da6a3ce929d0e0e4736?adjust=clock-skew&adjust=clock-skew', 'adjust'],
  ];

  const cases = bad.map(([path, name]) => ({ path, name, label: path.length > 80 ? `${path.slice(0, 77)}...` : path }));
  it.each(cases)('GET $label is a 400 naming $name, never a 500', async ({ path, name }) => {
    const res = await fetch(`${c.apiUrl}${path}`);
    const body = (await res.json()) as { error?: string };
    expect({ status: res.status, error: body.error }).toMatchObject({ status: 400, error: expect.stringContaining(name) });
  });

  it('still answers good values at the edges', async () => {
    for (const path of ['/api/traces?lookback=2000000h', '/api/service-graph?lookback=2000000h', '/api/traces?limit=1000&start=0', '/api/traces?start=2024-01-01T00:00:00Z&end=2024-01-02', '/api/traces?lookback=1h30m&minDuration=1.5s', '/api/service-graph?lookback=100000h']) {
      const res = await fetch(`${c.apiUrl}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
    }
  });
});

describe('ingest quotas', () => {
  it('refuse a service over its spans/s with 429 + Retry-After / RESOURCE_EXHAUSTED, store everything acknowledged', async () => {
    const c = await startCollector({ config: 'receivers:\n  otlp:\n    quotas:\n      per_service:\n        spans_per_second: 10\n' });
    const first = await postProtobuf(c, protobufRequest((await sdkSpans(10, 'noisy')).spans));
    expect(first.status).toBe(200);
    const over = await postProtobuf(c, protobufRequest((await sdkSpans(5, 'noisy')).spans));
    expect(over.status).toBe(429);
    expect(Number(over.retryAfter)).toBeGreaterThanOrEqual(1);
    const grpcOver = await grpcExport(c.grpcEndpoint, protobufRequest((await sdkSpans(5, 'noisy')).spans));
    expect(grpcOver.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(grpcOver.error?.details).toMatch(/ingest quota exceeded for service "noisy"/);
    // Another service has its own quota.
    expect((await postProtobuf(c, protobufRequest((await sdkSpans(10, 'quiet')).spans))).status).toBe(200);

    await waitFor(async () => ((await storedSpans(c, "ServiceName = 'quiet'")) === 10 ? true : undefined), 'the quiet spans stored');
    expect(await storedSpans(c, "ServiceName = 'noisy'")).toBe(10); // exactly the acknowledged ones
    const metrics = await (await fetch(`${c.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/flowtrace_quota_refused_requests_total\{kind="service"\} 2/);
    expect(metrics).toMatch(/flowtrace_quota_refused_spans_total\{kind="service"\} 10/);
  }, 120_000);
});

describe('invalid UTF-8 in OTLP protobuf strings', () => {
  /** A request whose marker strings (same byte length) are replaced by invalid UTF-8. */
  function corrupt(body: Buffer, marker: string): Buffer {
    const at = body.indexOf(marker);
    expect(at).toBeGreaterThanOrEqual(0);
    const out = Buffer.from(body);
    out[at + 1] = 0xff;
    return out;
  }

  it('rejects the span with partial_success naming the field, stores the rest', async () => {
    const c = await startCollector();
    const { spans } = await sdkSpans(3, 'utf8-check');
    const body = corrupt(protobufRequest(spans), 'child-2');
    const res = await postProtobuf(c, body);
    expect(res.status).toBe(200);
    const partial = ProtobufTraceSerializer.deserializeResponse(res.body).partialSuccess;
    expect(Number(partial?.rejectedSpans)).toBe(1);
    expect(partial?.errorMessage).toMatch(/invalid UTF-8 in name/);

    const grpc = await grpcExport(c.grpcEndpoint, corrupt(protobufRequest((await sdkSpans(2, 'utf8-service')).spans), 'utf8-service'));
    const grpcPartial = ProtobufTraceSerializer.deserializeResponse(grpc.response!).partialSuccess;
    expect(Number(grpcPartial?.rejectedSpans)).toBe(2);
    expect(grpcPartial?.errorMessage).toMatch(/invalid UTF-8 in resource\.attributes/);

    await waitFor(async () => ((await storedSpans(c, "ServiceName = 'utf8-check'")) === 2 ? true : undefined), 'the valid spans stored');
    expect(await storedSpans(c, "SpanName LIKE '%\\xEF\\xBF\\xBD%' OR ServiceName != 'utf8-check'")).toBe(0);
  }, 120_000);
});

describe('the data-directory lock', () => {
  function serveOnce(dataDir: string): { status: number | null; stderr: string } {
    const r = spawnSync(process.execPath, [FLOWTRACE_BIN, 'serve', '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', dataDir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, stderr: r.stderr };
  }

  it('refuses a second collector on the same directory, naming the first; a SIGKILLed owner leaves no lock', async () => {
    const first = await startCollector();
    const second = serveOnce(first.dataDir);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`in use by another flowtrace collector \\(pid \\d+\\)`));
    await first.kill();
    const again = await startCollector({ dataDir: first.dataDir });
    expect(await again.stop()).toBe(0);
  }, 180_000);

  it('takes over a lock file naming a live unrelated process that holds no OS lock (pid reuse)', async () => {
    const dataDir = newTempDir('ft-data-');
    const unrelated = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, 'flowtrace.lock'), `${unrelated.pid}\n`);
      const c = await startCollector({ dataDir });
      expect(await c.stop()).toBe(0);
    } finally {
      unrelated.kill('SIGKILL');
    }
  }, 120_000);
});

describe('file modes', () => {
  it('keeps every file and directory under the data directory private to the collector user', async () => {
    // A data directory the collector creates itself, under the test runner's (usually 022) umask.
    const c = await startCollector({ dataDir: join(newTempDir('ft-modes-'), 'data') });
    expect((await postProtobuf(c, protobufRequest((await sdkSpans(5, 'modes')).spans))).status).toBe(200);
    await waitFor(async () => ((await storedSpans(c, "ServiceName = 'modes'")) === 5 ? true : undefined), 'spans stored');
    // Walked twice: while the collector runs (its spool and queue files exist then) and after it
    // stops. The engine creates and removes its temporary parts (tmp_insert_*) while the walk runs,
    // so an entry that vanishes between listing and stat is skipped, not a failure.
    const modeOf = (path: string): number | undefined => {
      try {
        return statSync(path).mode;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    };
    const openEntries = (): string[] => {
      const open: string[] = [];
      const walk = (dir: string) => {
        let entries;
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw err;
        }
        for (const entry of entries) {
          const path = join(dir, entry.name);
          if (entry.isSymbolicLink()) continue;
          const mode = modeOf(path);
          if (mode === undefined) continue;
          if ((mode & 0o077) !== 0) open.push(`${path} ${(mode & 0o777).toString(8)}`);
          if (entry.isDirectory()) walk(path);
        }
      };
      if ((statSync(c.dataDir).mode & 0o077) !== 0) open.push(c.dataDir);
      walk(c.dataDir);
      return open;
    };
    expect(openEntries()).toEqual([]);
    expect(await c.stop()).toBe(0);
    expect(openEntries()).toEqual([]);
  }, 120_000);
});
