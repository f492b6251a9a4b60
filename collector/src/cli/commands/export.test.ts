/**
 * `flowtrace export` against a stand-in collector (a local HTTP server whose answers the tests
 * choose): the progress bar on a terminal, the file appearing only once complete, an interrupted
 * download leaving nothing named like the export, a restart over a killed run's partial file,
 * and the exit codes. The real collector's side is in test/export.e2e.test.ts and
 * test/export-restart.e2e.test.ts.
 */
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { formatBytes, PARTIAL_SUFFIX, progressLine } from './export.js';

let dir: string;
let server: Server | undefined;
/** Request bodies the stand-in received. */
let requests: Array<Record<string, unknown>>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ft-export-cli-'));
  requests = [];
});
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for POST /api/export; `answer` writes the response. */
async function collector(answer: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<string> {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      requests.push(JSON.parse(text) as Record<string, unknown>);
      void answer(req, res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function sink(isTTY = false): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream: Writable & { isTTY?: boolean } = new Writable({
    write(chunk: Buffer, _e, done) {
      text += chunk.toString();
      done();
    },
  });
  if (isTTY) stream.isTTY = true;
  return { stream, text: () => text };
}

async function exportTo(api: string, args: string[], tty = false): Promise<{ code: number; stderr: string }> {
  const stderr = sink(tty);
  const code = await main(['export', '--api', api, ...args], { stdout: sink().stream, stderr: stderr.stream, env: {}, cwd: dir });
  return { code, stderr: stderr.text() };
}

const LINES = ['{"SpanName":"a"}\n', '{"SpanName":"b"}\n', '{"SpanName":"c"}\n'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('flowtrace export', () => {
  it('draws a progress bar with rows and bytes on a terminal, from the row count it asks for', async () => {
    const api = await collector(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-flowtrace-rows': '3' });
      for (const line of LINES) {
        res.write(line);
        await sleep(5);
      }
      res.end();
    });
    const run = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl'], true);
    expect(run.code, run.stderr).toBe(0);
    expect(requests).toEqual([{ format: 'jsonl', count: true }]);
    expect(run.stderr).toContain(`\r\x1b[K[${'#'.repeat(24)}] 100%  3/3 rows  51 B`);
    expect(run.stderr).toContain('flowtrace export: wrote 3 rows, 51 B to spans.jsonl\n');
    expect(readFileSync(join(dir, 'spans.jsonl'), 'utf8')).toBe(LINES.join(''));
    expect(existsSync(join(dir, `spans.jsonl${PARTIAL_SUFFIX}`))).toBe(false);
  });

  it('asks for no count and draws nothing but the summary when stderr is not a terminal', async () => {
    const api = await collector((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end('"SpanName"\n"a"\n"b"\n');
    });
    const run = await exportTo(api, ['--format', 'csv', '--out', 'spans.csv', '--where', "ServiceName = 'x'", '--since', '1h']);
    expect(run.code, run.stderr).toBe(0);
    expect(requests).toEqual([{ format: 'csv', where: "ServiceName = 'x'", since: '1h' }]);
    expect(run.stderr).toBe('flowtrace export: wrote 2 rows, 19 B to spans.csv\n');
  });

  it('reads the row count of a json export from the document', async () => {
    const api = await collector((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{\n\t"meta": [],\n\t"data": [],\n\t"rows": 42,\n\t"statistics": {"elapsed": 0.1}\n}\n');
    });
    const run = await exportTo(api, ['--format', 'json', '--out', 'spans.json']);
    expect(run.stderr).toMatch(/wrote 42 rows, \d+ B to spans\.json/);
  });

  it('exits 1 when the connection closes mid-stream, leaving no file named like the export', async () => {
    const api = await collector(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(LINES[0]);
      res.write(LINES[1]);
      await sleep(20);
      res.socket?.destroy(); // the collector stopped, or the network went away
    });
    const run = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl'], true);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/export interrupted after \d+ B .*spans\.jsonl not written — run the same command again to restart it/);
    expect(existsSync(join(dir, 'spans.jsonl'))).toBe(false);
    expect(existsSync(join(dir, `spans.jsonl${PARTIAL_SUFFIX}`))).toBe(false);
  });

  it('restarts over the partial file a killed run left, and writes the whole export', async () => {
    writeFileSync(join(dir, `spans.jsonl${PARTIAL_SUFFIX}`), '{"SpanName":"a"}\n{"Span');
    const api = await collector((_req, res) => {
      res.writeHead(200);
      res.end(LINES.join(''));
    });
    const run = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'spans.jsonl'), 'utf8')).toBe(LINES.join(''));
    expect(existsSync(join(dir, `spans.jsonl${PARTIAL_SUFFIX}`))).toBe(false);
  });

  it('never writes through a file planted at FILE.partial (a hard link to another file), and keeps the export owner-only', async () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    linkSync(victim, join(dir, `spans.jsonl${PARTIAL_SUFFIX}`));
    const api = await collector((_req, res) => {
      res.writeHead(200);
      res.end(LINES.join(''));
    });
    const run = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, 'spans.jsonl'), 'utf8')).toBe(LINES.join(''));
    expect(statSync(join(dir, 'spans.jsonl')).mode & 0o777).toBe(0o600);
  });

  it('exits 2 for an existing file without --force before asking the collector, and replaces it with --force', async () => {
    const api = await collector((_req, res) => {
      res.writeHead(200);
      res.end(LINES.join(''));
    });
    writeFileSync(join(dir, 'spans.jsonl'), 'keep me');
    const refused = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('spans.jsonl exists (use --force to overwrite it)');
    expect(requests).toEqual([]);
    expect(readFileSync(join(dir, 'spans.jsonl'), 'utf8')).toBe('keep me');
    expect((await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl', '--force'])).code).toBe(0);
    expect(readFileSync(join(dir, 'spans.jsonl'), 'utf8')).toBe(LINES.join(''));
  });

  it('never replaces a file that appeared while it was downloading (without --force)', async () => {
    const api = await collector((_req, res) => {
      res.writeHead(200);
      res.write(LINES[0]);
      writeFileSync(join(dir, 'spans.jsonl'), 'written meanwhile');
      res.end(LINES[1]);
    });
    const run = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl']);
    expect(run.code).toBe(2);
    expect(readFileSync(join(dir, 'spans.jsonl'), 'utf8')).toBe('written meanwhile');
    expect(existsSync(join(dir, `spans.jsonl${PARTIAL_SUFFIX}`))).toBe(false);
  });

  it('exits 2 naming a bad format, and 1 with the collector\'s message for a refused export, with no file', async () => {
    const api = await collector((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'function file() is not allowed' }));
    });
    const bad = await exportTo(api, ['--format', 'xml', '--out', 'x.xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--format: unknown format 'xml': expected one of jsonl, json, csv, parquet");
    const refused = await exportTo(api, ['--format', 'jsonl', '--out', 'spans.jsonl', '--where', "x = file('/etc/passwd')"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('400: function file() is not allowed');
    expect(existsSync(join(dir, 'spans.jsonl'))).toBe(false);
    expect(existsSync(join(dir, `spans.jsonl${PARTIAL_SUFFIX}`))).toBe(false);
  });
});

describe('progressLine', () => {
  it('draws a bar when the total is known and rows are counted, else rows and bytes', () => {
    expect(progressLine({ rows: 250, total: 1000, bytes: 3 * 1024 * 1024, elapsedMs: 2000 })).toBe(`[${'#'.repeat(6)}${'-'.repeat(18)}]  25%  250/1,000 rows  3.0 MiB  1.5 MiB/s`);
    expect(progressLine({ rows: 1200, total: 1000, bytes: 10, elapsedMs: 0 })).toBe(`[${'#'.repeat(24)}] 100%  1,200/1,000 rows  10 B`);
    expect(progressLine({ total: 5000, bytes: 2048, elapsedMs: 1000 })).toBe('5,000 rows  2.0 KiB  2.0 KiB/s');
    expect(progressLine({ rows: 7, bytes: 100, elapsedMs: 0 })).toBe('7 rows  100 B');
    expect(formatBytes(5 * 1024 ** 4)).toBe('5.0 TiB');
  });
});
