import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTraceRequest } from '../exporters/otlp/encoder.js';
import { SpanKind, type Resource, type Span } from '../collector/src/model/span.js';
import { testSpan } from '../collector/src/model/span.testing.js';
import { cleanup, FLOWTRACE_BIN, newTempDir, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import { atRestKey, parseKey } from '../collector/src/storage/encryption/keyring.js';

/**
 * Issue 19, encryption at rest: with `storage.encryption` on, no span content is readable in
 * any file under the data directory — queues (a forwarding exporter to a dead endpoint keeps
 * its records), the journal (stitch holds spans), dead letters (a backend that refuses), and
 * the embedded engine's parts (on its encrypted disk) — after a SIGKILL and after a graceful
 * stop. Then: restarts with the same key and after a rotation store every span once; a wrong
 * key or encryption turned off refuses to start, naming the problem.
 * No directory is exempt. The insert spool is not under the data directory with encryption on
 * (it is in /dev/shm, memory: the engine's file() cannot read encrypted files).
 */

const MARKER = 'ftEncMarkerQx7';
const idOf = (file: string): string => atRestKey(parseKey(readFileSync(file), file)).idHex;
const resource: Resource = { attributes: { 'service.name': 'enc-service', 'deployment.note': `${MARKER}-resource` }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'enc-service' };
const scope = { name: 'enc-test', version: '1', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

let sent = 0;
/** A request of 10 spans whose name, attributes, event and status carry the marker. */
function markedRequest(): { body: Uint8Array; spanIds: string[] } {
  const spans: Span[] = [];
  const now = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < 10; i++) {
    const n = sent++;
    spans.push(
      testSpan({
        resource,
        scope,
        traceId: randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        name: `${MARKER}-name-${n}`,
        kind: SpanKind.SERVER,
        startTimeUnixNano: now,
        endTimeUnixNano: now + 2_000_000n,
        attributes: { 'enc.attr': `${MARKER}-attribute-${n}`, 'http.route': `/orders/${MARKER}` },
        events: [{ timeUnixNano: now + 1_000_000n, name: `${MARKER}-event`, attributes: { body: `${MARKER}-event-body` }, droppedAttributesCount: 0 }],
        statusCode: 2,
        statusMessage: `${MARKER}-status`,
      }),
    );
  }
  return { body: encodeTraceRequest(spans), spanIds: spans.map((s) => s.spanId) };
}

/** The marker as stored in any of the forms a file could hold it. */
const needles = [Buffer.from(MARKER, 'utf8'), Buffer.from(MARKER, 'utf16le'), Buffer.from(Buffer.from(MARKER, 'utf16le')).swap16()];

function holdsMarker(bytes: Buffer): string | undefined {
  const forms: Array<[string, () => Buffer]> = [['plain', () => bytes]];
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) forms.push(['gzip', () => gunzipSync(bytes)]);
  if (bytes[0] === 0x78) forms.push(['zlib', () => inflateSync(bytes)]);
  if (bytes.readUInt32LE(0) === 0xfd2fb528) forms.push(['zstd', () => Buffer.from(zstdDecompress(bytes))]);
  for (const [form, get] of forms) {
    let data: Buffer;
    try {
      data = get();
    } catch {
      continue;
    }
    for (const needle of needles) if (data.includes(needle)) return form;
  }
  return undefined;
}

/** Every regular file under `dir` (recursively) whose bytes hold the marker in some form. */
function filesWithMarker(dir: string): string[] {
  const hits: string[] = [];
  let files = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && st.size >= 4) {
        files++;
        const form = holdsMarker(readFileSync(path));
        if (form) hits.push(`${path} (${form})`);
      }
    }
  };
  walk(dir);
  expect(files, 'files scanned').toBeGreaterThan(10);
  return hits;
}

const dirSize = (dir: string, sub: string): number => {
  let n = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else n += st.size;
    }
  };
  try {
    walk(join(dir, sub));
  } catch {
    return 0;
  }
  return n;
};

let refusing: Server;
let refusingUrl = '';
let deadUrl = '';
let keys: { a: string; b: string; c: string };

beforeAll(async () => {
  // A backend that refuses every export for good (400): its batches are dead-lettered.
  refusing = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'content-type': 'text/plain' }).end('refused'));
  });
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
  refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  // A dead endpoint: a port that was free a moment ago, nothing listens.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
  const keyDir = newTempDir('ft-keys-');
  const key = (name: string) => {
    const file = join(keyDir, name);
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    return file;
  };
  keys = { a: key('a.key'), b: key('b.key'), c: key('c.key') };
});

afterAll(async () => {
  await cleanup();
  await new Promise<void>((r) => refusing.close(() => r()));
});

function config(encryption: string): string {
  return `
storage:
  encryption:
${encryption}
exporters:
  otlp/dead:
    protocol: http/protobuf
    endpoint: ${deadUrl}
    queue:
      retry: { initial_interval_ms: 200, max_interval_ms: 1000 }
  otlp/refusing:
    protocol: http/protobuf
    endpoint: ${refusingUrl}
    queue:
      batch: { timeout_ms: 50 }
`;
}
const withKeyA = () => config(`    key_file: ${keys.a}`);
const rotatedToB = () => config(`    key_file: ${keys.b}\n    previous_key_files: [${keys.a}]`);

async function send(collector: RunningCollector, requests: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < requests; i++) {
    const { body, spanIds } = markedRequest();
    const outcome = await postTraces(collector.httpEndpoint, body, 'application/x-protobuf');
    expect(outcome.status, outcome.message).toBe(200);
    ids.push(...spanIds);
  }
  return ids;
}

/** Span ID → times stored, for the marked spans. */
async function storedCounts(apiUrl: string): Promise<Map<string, number>> {
  const rows = await sql<{ SpanId: string; n: string | number }>(apiUrl, `SELECT SpanId, count() AS n FROM otel_traces WHERE startsWith(SpanName, '${MARKER}') GROUP BY SpanId`);
  return new Map(rows.map((r) => [r.SpanId, Number(r.n)]));
}

/** Runs `flowtrace <args> --config <configText>` to its end. */
function cli(args: string[], configText: string): { code: number | null; output: string } {
  const file = join(newTempDir('ft-config-'), 'flowtrace.yaml');
  writeFileSync(file, configText);
  const r = spawnSync(process.execPath, [FLOWTRACE_BIN, ...args, '--config', file], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

function serveOnce(dataDir: string, configText: string): { code: number | null; output: string } {
  return cli(['serve', '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', dataDir], configText);
}

describe('encryption at rest', () => {
  it('leaves no span content readable under the data directory, survives SIGKILL and a rotation, and refuses a wrong key', async () => {
    // 1. Key A; spans held by stitch (journal), queued for a dead endpoint, dead-lettered; then SIGKILL.
    let collector = await startCollector({ config: withKeyA() });
    const dataDir = collector.dataDir;
    const acked = await send(collector, 6);
    await waitFor(async () => (dirSize(dataDir, 'queues/otlp~refusing/dead-letter') > 0 ? true : undefined), 'a dead letter');
    await collector.kill();
    expect(dirSize(dataDir, 'journal'), 'the journal holds spans').toBeGreaterThan(0);
    expect(dirSize(dataDir, 'queues/otlp~dead'), 'the dead endpoint\'s queue holds spans').toBeGreaterThan(0);
    expect(filesWithMarker(dataDir), 'after SIGKILL').toEqual([]);

    // 2. Same key: the journal is replayed, every acknowledged span is stored once; graceful stop.
    collector = await startCollector({ config: withKeyA(), dataDir });
    acked.push(...(await send(collector, 3)));
    let counts = await waitFor(async () => {
      const c = await storedCounts(collector.apiUrl);
      return acked.every((id) => c.has(id)) ? c : undefined;
    }, 'every span stored after the replay', 60_000);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(await collector.stop()).toBe(0);
    expect(dirSize(dataDir, 'disks/flowtrace_local/encrypted'), 'parts on the encrypted disk').toBeGreaterThan(0);
    expect(filesWithMarker(dataDir), 'after a graceful stop').toEqual([]);

    // 3. Rotation: B encrypts, A kept to read what it wrote (the dead queue's records, the parts).
    collector = await startCollector({ config: rotatedToB(), dataDir });
    acked.push(...(await send(collector, 3)));
    counts = await waitFor(async () => {
      const c = await storedCounts(collector.apiUrl);
      return acked.every((id) => c.has(id)) ? c : undefined;
    }, 'every span stored after the rotation', 60_000);
    expect(counts.size).toBe(acked.length);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(await collector.stop()).toBe(0);
    expect(filesWithMarker(dataDir), 'after the rotation').toEqual([]);

    // 4. A wrong key refuses to start (the dead queue's undelivered records are under A and B), naming the key, dropping nothing.
    const wrong = serveOnce(dataDir, config(`    key_file: ${keys.c}`));
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toContain(`encrypted with key ID ${idOf(keys.a)}, ${idOf(keys.b)}, which is not in the keyring`);
    // B without A: the parts written under A (and the dead queue's records) still need it.
    const withoutA = serveOnce(dataDir, config(`    key_file: ${keys.b}`));
    expect(withoutA.code).not.toBe(0);
    expect(withoutA.output).toContain(`encrypted with key ID ${idOf(keys.a)}, which is not in the keyring`);
    // Encryption turned off on an encrypted store.
    const off = serveOnce(dataDir, config('    spool_dir: /dev/shm'));
    expect(off.code).not.toBe(0);
    expect(off.output).toMatch(/is encrypted: configure storage\.encryption/);
    expect(wrong.output + withoutA.output + off.output).not.toContain(MARKER);

    // 5. Nothing was lost to the refusals: with B and A everything is still there, once.
    collector = await startCollector({ config: rotatedToB(), dataDir });
    counts = await storedCounts(collector.apiUrl);
    expect(counts.size).toBe(acked.length);
    expect(await collector.stop()).toBe(0);

    // 6. An offline backup (under <data_dir>/backups) copies the encrypted files; restored with the keys, it serves every span.
    const backup = cli(['backup', '--data', dataDir, '--name', 'enc-1', '--json'], rotatedToB());
    expect(backup.code, backup.output).toBe(0);
    expect(dirSize(dataDir, 'backups/enc-1')).toBeGreaterThan(0);
    expect(filesWithMarker(dataDir), 'after a backup').toEqual([]);
    const restored = join(newTempDir('ft-restored-'), 'data');
    const restore = cli(['restore', '--from', join(dataDir, 'backups/enc-1'), '--data', restored, '--json'], rotatedToB());
    expect(restore.code, restore.output).toBe(0);
    collector = await startCollector({ config: rotatedToB(), dataDir: restored });
    expect((await storedCounts(collector.apiUrl)).size).toBe(acked.length);
    expect(await collector.stop()).toBe(0);
    expect(filesWithMarker(restored), 'the restored store').toEqual([]);
  }, 400_000);

  it('control: without encryption the same scan finds the markers (journal, queue, parts), so the scan can fail', async () => {
    const collector = await startCollector({ config: config('    spool_dir: /dev/shm') });
    await send(collector, 2);
    await waitFor(async () => (dirSize(collector.dataDir, 'queues/otlp~refusing/dead-letter') > 0 ? true : undefined), 'a dead letter');
    await collector.kill();
    const hits = filesWithMarker(collector.dataDir);
    for (const place of ['/journal/', '/queues/otlp~dead/', '/dead-letter/']) expect(hits.some((h) => h.includes(place)), place).toBe(true);
  }, 120_000);

  it('refuses a key file others can read, and a key of the wrong length, as configuration errors (exit 2)', () => {
    const dir = newTempDir('ft-badkeys-');
    const open = join(dir, 'open.key');
    writeFileSync(open, randomBytes(32).toString('hex'), { mode: 0o644 });
    const short = join(dir, 'short.key');
    writeFileSync(short, randomBytes(16).toString('hex'), { mode: 0o600 });
    const data = newTempDir('ft-data-');
    const a = serveOnce(data, `storage:\n  encryption:\n    key_file: ${open}\n`);
    expect(a.code).toBe(2);
    expect(a.output).toMatch(/storage\.encryption\.key_file: key file '.*open\.key' is readable or writable by group or others \(mode 0644\): chmod 600 it/);
    const b = serveOnce(data, `storage:\n  encryption:\n    key_file: ${short}\n`);
    expect(b.code, b.output).toBe(2);
    expect(b.output).toMatch(/storage\.encryption\.key_file: expected a 256-bit key/);
  });
});
