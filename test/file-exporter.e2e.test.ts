/**
 * The `file` exporter end to end on the real collector (child process, embedded engine): spans
 * sent over OTLP/HTTP go through the pipeline (redaction included) and the exporter's durable
 * queue into JSON Lines files; shutdown closes and gzips the file; a collector killed mid-way
 * leaves complete lines, and after the restart every span sent is in the files (at least once);
 * retention (`max_closed_files`) keeps only the newest closed files and nothing that is not its own.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Span } from '../collector/src/model/span.js';
import { decodeJsonBody } from '../collector/src/receivers/otlp/json-decoder.js';
import { cleanup, newTempDir, startCollector, waitFor } from './helpers/collector.js';
import type { OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';

afterAll(cleanup);

let counter = 0;
function span(name: string, fields: Partial<OtlpSpan> = {}): OtlpSpan {
  const end = BigInt(Date.now()) * 1_000_000n;
  counter++;
  return { traceId: 'cd'.repeat(16), spanId: counter.toString(16).padStart(16, '0'), name, kind: 1, startTimeUnixNano: String(end - 1_000_000n), endTimeUnixNano: String(end), ...fields };
}

function request(service: string, spans: OtlpSpan[]): OtlpRequest {
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'e2e', version: '2' }, spans }] }] };
}

async function send(httpEndpoint: string, body: OtlpRequest): Promise<void> {
  const res = await fetch(`${httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

/** Every line of every file, gzipped or not; each must be a whole OTLP/JSON request of one span. */
function readBack(dir: string): Span[] {
  const spans: Span[] = [];
  for (const name of readdirSync(dir).sort()) {
    const bytes = readFileSync(join(dir, name));
    const text = name.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const decoded = decodeJsonBody(Buffer.from(line));
      expect(decoded.spans).toHaveLength(1);
      spans.push(decoded.spans[0]!);
    }
  }
  return spans;
}

const config = (dir: string) => `
exporters:
  file:
    directory: ${JSON.stringify(dir)}
    prefix: e2e
    queue:
      batch:
        timeout_ms: 100
`;

describe('the file exporter', () => {
  it('writes every span sent, redacted, as OTLP/JSON lines, gzipped at shutdown', async () => {
    const out = join(newTempDir('ft-file-'), 'spans');
    const c = await startCollector({ config: config(out) });
    const sent = [span('Cart.add', { attributes: [{ key: 'count', value: { intValue: '3' } }, { key: 'db.password', value: { stringValue: 'hunter2-secret' } }] }), span('Cart.list'), span('Cart.pay', { status: { code: 2, message: 'declined' } })];
    await send(c.httpEndpoint, request('shop', sent));
    // Written within the queue's batch timeout; the open file is plain JSON Lines.
    await waitFor(async () => (existsSync(out) && readBack(out).length === 3 ? true : undefined), 'the spans in the file');
    expect(readdirSync(out)).toEqual([expect.stringMatching(/^e2e-\d{8}T\d{6}Z-000001\.jsonl$/)]);
    expect(statSync(join(out, readdirSync(out)[0]!)).mode & 0o777).toBe(0o600);
    expect(await c.stop()).toBe(0);

    const names = readdirSync(out);
    expect(names).toEqual([expect.stringMatching(/^e2e-\d{8}T\d{6}Z-000001\.jsonl\.gz$/)]);
    const spans = readBack(out);
    expect(spans.map((s) => [s.resource.serviceName, s.scope.name, s.scope.version, s.spanId, s.name, s.statusCode])).toEqual(
      sent.map((s) => ['shop', 'e2e', '2', s.spanId, s.name, s.status?.code ?? 0]),
    );
    expect(spans[0]!.attributes.count).toBe('3');
    expect(spans[0]!.attributeKinds?.count).toBe('int');
    expect(spans[0]!.attributes['db.password']).not.toContain('hunter2');
    expect(spans.map((s) => s.startTimeUnixNano)).toEqual(sent.map((s) => BigInt(s.startTimeUnixNano)));
  }, 120_000);

  it('after a kill, leaves whole lines and, restarted, has every span sent at least once', async () => {
    const out = join(newTempDir('ft-file-crash-'), 'spans');
    const c = await startCollector({ config: config(out) });
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const batch = Array.from({ length: 50 }, () => span('Work.step'));
      for (const s of batch) ids.add(s.spanId);
      await send(c.httpEndpoint, request('worker', batch));
    }
    await waitFor(async () => (existsSync(out) && readdirSync(out).length > 0 ? true : undefined), 'a file');
    await c.kill();
    // Accepted means on disk in the queue: the restart sends what the file does not have yet.
    const again = await startCollector({ config: config(out), dataDir: c.dataDir });
    await waitFor(async () => (new Set(readBack(out).map((s) => s.spanId)).size === ids.size ? true : undefined), 'every span in the files');
    expect(await again.stop()).toBe(0);
    const spans = readBack(out);
    expect(new Set(spans.map((s) => s.spanId))).toEqual(ids);
    expect(readdirSync(out).every((name) => name.endsWith('.jsonl.gz'))).toBe(true);
  }, 120_000);

  it('keeps only max_closed_files of its own closed files across restarts, and nothing else is touched', async () => {
    const out = join(newTempDir('ft-file-retention-'), 'spans');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(out, { recursive: true });
    const foreign = ['notes.txt', 'other-20200101T000000Z-000001.jsonl.gz', 'e2e-20200101T000000Z-000001.jsonl.gz.bak'];
    for (const name of foreign) writeFileSync(join(out, name), 'not the exporter\'s');
    const withRetention = `${config(out)}    max_closed_files: 2\n`;
    const ours = () => readdirSync(out).filter((n) => !foreign.includes(n)).sort();
    const sent: string[] = [];
    // Each run writes a file and closes it at shutdown: three runs, three closed files, two kept.
    for (let run = 0; run < 3; run++) {
      const c = await startCollector({ config: withRetention });
      const s = span(`run-${run}`);
      sent.push(s.spanId);
      await send(c.httpEndpoint, request('svc', [s]));
      await waitFor(async () => (ours().some((n) => n.endsWith('.jsonl') && statSync(join(out, n)).size > 0) ? true : undefined), `run ${run}'s file`);
      expect(await c.stop()).toBe(0);
    }
    expect(ours()).toHaveLength(2);
    expect(ours().every((n) => /^e2e-\d{8}T\d{6}Z-\d{6}\.jsonl\.gz$/.test(n))).toBe(true);
    for (const name of foreign) expect(readFileSync(join(out, name), 'utf8')).toBe('not the exporter\'s');
    // The newest two runs' spans are what is left.
    const kept = ours().flatMap((n) => gunzipSync(readFileSync(join(out, n))).toString('utf8').split('\n').filter(Boolean));
    expect(kept.map((l) => decodeJsonBody(Buffer.from(l)).spans[0]!.spanId).sort()).toEqual(sent.slice(1).sort());
  }, 120_000);

  it('refuses to start on a directory that is a symbolic link, naming the key', async () => {
    const base = newTempDir('ft-file-link-');
    const { symlinkSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    const failed = await startCollector({ config: config(join(base, 'link')) }).then(
      async (c) => {
        await c.stop();
        return '';
      },
      (err: unknown) => String(err),
    );
    expect(failed).toMatch(/exporters\.file\.directory/);
    expect(failed).toMatch(/symbolic link/);
  }, 120_000);
});
