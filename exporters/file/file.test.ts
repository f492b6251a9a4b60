import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Resource, Span } from '../../collector/src/model/span.js';
import { testSpan } from '../../collector/src/model/span.testing.js';
import { decodeJsonBody } from '../../collector/src/receivers/otlp/json-decoder.js';
import { ExporterConfigError } from '../exporter.js';
import { fileConfigSchema } from './config.js';
import { FileExporter } from './exporter.js';
import { encodeJsonLines } from './otlp-json.js';
import { RotatingFile } from './rotating-file.js';

const logger = pino({ level: 'silent' });
const RESOURCE: Resource = {
  attributes: { 'service.name': 'shop', 'host.cores': '8', tags: '["a",1,2.5,true,null,{"k":-0}]' },
  attributeKinds: { 'host.cores': 'int', tags: 'array' },
  droppedAttributesCount: 1,
  schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  serviceName: 'shop',
};
const OTHER: Resource = { attributes: { 'service.name': 'pay' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'pay' };
const SCOPE = { name: 'flowtrace', version: '1.0', attributes: { 'scope.flag': 'true' }, attributeKinds: { 'scope.flag': 'bool' as const }, droppedAttributesCount: 0, schemaUrl: '' };

let n = 0;
/** A span with every kind of value the model keeps, the awkward ones included. */
function richSpan(resource: Resource = RESOURCE): Span {
  n++;
  return testSpan({
    resource,
    scope: SCOPE,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: n.toString(16).padStart(16, '0'),
    parentSpanId: 'b7ad6b7169203331',
    traceState: 'vendor=x',
    flags: 257,
    name: 'Cart.add\nline two ✓',
    kind: 3,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_000_223_456_789n,
    attributes: {
      text: 'plain "quoted" \u2028 😀',
      big: '-9223372036854775808',
      neg0: '-0',
      nan: 'json: unsupported value: NaN',
      inf: 'json: unsupported value: -Inf',
      tiny: '1e-7',
      ok: 'false',
      raw: 'AAEC/w==',
      list: '[9007199254740993,1.5,"x",[],{}]',
      map: '{"a":{"b":[1]},"z":"\\u003chtml\\u003e"}',
      nothing: '',
    },
    attributeKinds: { big: 'int', neg0: 'double', nan: 'double', inf: 'double', tiny: 'double', ok: 'bool', raw: 'bytes', list: 'array', map: 'kvlist', nothing: 'empty' },
    droppedAttributesCount: 2,
    events: [{ timeUnixNano: 1_700_000_000_150_000_000n, name: 'exception', attributes: { 'exception.type': 'Error', count: '3' }, attributeKinds: { count: 'int' }, droppedAttributesCount: 0 }],
    droppedEventsCount: 1,
    links: [{ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceState: '', flags: 1, attributes: { why: 'retry' }, droppedAttributesCount: 0 }],
    droppedLinksCount: 0,
    statusCode: 2,
    statusMessage: 'boom',
  });
}

function plainSpan(resource: Resource = OTHER): Span {
  n++;
  return testSpan({ resource, scope: SCOPE, traceId: 'c'.repeat(32), spanId: n.toString(16).padStart(16, '0'), name: 'op', kind: 1, startTimeUnixNano: 5n, endTimeUnixNano: 6n });
}

/** Reads back every line of every file (gzipped or not), in file-name order, decoded by the collector's own OTLP/JSON decoder. */
function readBack(dir: string): { spans: Span[]; lines: string[] } {
  const lines: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/\.jsonl(\.gz)?$/.test(name)) continue;
    const bytes = readFileSync(join(dir, name));
    const text = name.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    lines.push(...text.split('\n').filter((l) => l !== ''));
  }
  const spans = lines.flatMap((line) => {
    const decoded = decodeJsonBody(Buffer.from(line));
    expect(decoded.rejectedSpans).toBe(0);
    expect(decoded.spans).toHaveLength(1);
    return decoded.spans;
  });
  return { spans, lines };
}

/** What a span model holds, shared objects compared by content. */
function comparable(s: Span): unknown {
  const { position: _position, ...rest } = s;
  return JSON.parse(JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowtrace-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('OTLP/JSON lines', () => {
  it('writes one request per span that the collector decodes back to the same span', () => {
    const spans = [richSpan(), plainSpan(), richSpan()];
    const text = encodeJsonLines(spans);
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    const decoded = lines.slice(0, 3).map((l) => decodeJsonBody(Buffer.from(l)).spans);
    expect(decoded.map((d) => d.length)).toEqual([1, 1, 1]);
    expect(decoded.map((d) => comparable(d[0]!))).toEqual(spans.map(comparable));
    // The protobuf JSON mapping: hex IDs, 64-bit values as strings, enums as numbers.
    const first = JSON.parse(lines[0]!) as { resourceSpans: Array<{ schemaUrl: string; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    expect(first.resourceSpans[0]!.schemaUrl).toBe(RESOURCE.schemaUrl);
    expect(first.resourceSpans[0]!.scopeSpans[0]!.spans[0]).toMatchObject({ traceId: spans[0]!.traceId, kind: 3, startTimeUnixNano: '1700000000123456789', status: { code: 2, message: 'boom' } });
  });


  it('writes an array pdata could not render as an empty array (the values were gone before)', () => {
    const span = plainSpan();
    span.attributes = { lost: '' };
    span.attributeKinds = { lost: 'array' };
    const [decoded] = decodeJsonBody(Buffer.from(encodeJsonLines([span]))).spans;
    expect(decoded!.attributes).toEqual({ lost: '[]' });
    expect(decoded!.attributeKinds).toEqual({ lost: 'array' });
  });
});

describe('RotatingFile', () => {
  const options = (extra: Partial<ConstructorParameters<typeof RotatingFile>[0]> = {}) => ({ directory: dir, prefix: 'spans', maxBytes: 2000, maxAgeMs: 3_600_000, compress: true, ...extra });

  it('rotates by size, gzips closed files, and reads back exactly the spans sent, in order', async () => {
    const file = new RotatingFile(options());
    await file.open();
    const sent: Span[] = [];
    for (let i = 0; i < 30; i++) {
      const batch = [richSpan(), plainSpan()];
      sent.push(...batch);
      await file.append(Buffer.from(encodeJsonLines(batch)));
    }
    const open = file.current;
    await file.rotate();
    const names = readdirSync(dir).sort();
    expect(names.length).toBeGreaterThan(5);
    expect(names.every((name) => /^spans-\d{8}T\d{6}Z-\d{6}\.jsonl\.gz$/.test(name))).toBe(true);
    expect(names).toContain(`${open.slice(dir.length + 1)}.gz`);
    for (const name of names) {
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
      // A batch is never split, so only a file holding one batch may pass the limit.
      const size = gunzipSync(readFileSync(join(dir, name))).length;
      expect(size <= 2000 || gunzipSync(readFileSync(join(dir, name))).toString().split('\n').length === 3).toBe(true);
    }
    const { spans } = readBack(dir);
    expect(spans.map(comparable)).toEqual(sent.map(comparable));
  });

  it('rotates by age, without gzip when asked not to', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const file = new RotatingFile(options({ maxBytes: 1_000_000, maxAgeMs: 60_000, compress: false, now: () => now }));
    await file.open();
    await file.append(Buffer.from(encodeJsonLines([plainSpan()])));
    now += 30_000;
    await file.rotateIfOld();
    await file.append(Buffer.from(encodeJsonLines([plainSpan()])));
    now += 30_000;
    await file.rotateIfOld(); // a quiet file rotates on the timer
    expect(file.current).toBe('');
    now += 1_000;
    await file.append(Buffer.from(encodeJsonLines([plainSpan()])));
    await file.rotate();
    expect(readdirSync(dir).sort()).toEqual(['spans-20260101T000000Z-000001.jsonl', 'spans-20260101T000101Z-000002.jsonl']);
    expect(readBack(dir).spans).toHaveLength(3);
  });

  it('after a crash mid-line, keeps every whole line and cuts the unfinished one', async () => {
    const crashed = new RotatingFile(options({ maxBytes: 1_000_000 }));
    await crashed.open();
    const kept = [richSpan(), plainSpan(), richSpan()];
    await crashed.append(Buffer.from(encodeJsonLines(kept)));
    // The process dies in the middle of the next write: half a line, no rotation, no gzip.
    const half = encodeJsonLines([richSpan()]);
    appendFileSync(crashed.current, half.slice(0, half.length / 2));
    // A file of only half a line, and a compression that died half-way.
    writeFileSync(join(dir, 'spans-20200101T000000Z-000001.jsonl'), '{"resourceSpans":[', { mode: 0o600 });
    writeFileSync(join(dir, 'spans-20200101T000000Z-000001.jsonl.gz.tmp'), 'partial', { mode: 0o600 });

    const restarted = new RotatingFile(options({ maxBytes: 1_000_000 }));
    await restarted.open();
    const later = [plainSpan()];
    await restarted.append(Buffer.from(encodeJsonLines(later)));
    await restarted.rotate();
    expect(readdirSync(dir).every((name) => name.endsWith('.jsonl.gz'))).toBe(true);
    expect(readBack(dir).spans.map(comparable)).toEqual([...kept, ...later].map(comparable));
  });

  it('refuses a directory that is a symbolic link, and never follows a link among its files', async () => {
    const real = join(dir, 'real');
    const link = join(dir, 'link');
    const victim = join(dir, 'victim.jsonl');
    await new RotatingFile(options({ directory: real })).open();
    symlinkSync(real, link);
    await expect(new RotatingFile(options({ directory: link })).open()).rejects.toThrow(/is a symbolic link/);
    writeFileSync(victim, 'not a line', { mode: 0o600 });
    symlinkSync(victim, join(real, 'spans-20200101T000000Z-000009.jsonl'));
    const file = new RotatingFile(options({ directory: real }));
    await file.open();
    expect(readFileSync(victim, 'utf8')).toBe('not a line');
    expect(lstatSync(join(real, 'spans-20200101T000000Z-000009.jsonl')).isSymbolicLink()).toBe(true);
  });
});

describe('RotatingFile retention', () => {
  const options = (extra: Partial<ConstructorParameters<typeof RotatingFile>[0]> = {}) => ({ directory: dir, prefix: 'spans', maxBytes: 1500, maxAgeMs: 3_600_000, compress: true, ...extra });
  const OURS = /^spans-\d{8}T\d{6}Z-\d{6}\.jsonl(\.gz)?$/;

  it('keeps only the newest max_closed_files closed files, and never the one being written', async () => {
    const file = new RotatingFile(options({ maxClosedFiles: 3 }));
    await file.open();
    const made = new Set<string>();
    const sent: Span[][] = [];
    for (let i = 0; i < 20; i++) {
      const batch = [richSpan(), plainSpan()];
      sent.push(batch);
      await file.append(Buffer.from(encodeJsonLines(batch)));
      made.add(file.current.slice(dir.length + 1));
    }
    expect(made.size).toBeGreaterThan(6);
    const open = file.current.slice(dir.length + 1);
    const names = readdirSync(dir).sort();
    // The three newest closed files (compressed) and the open one; every other file of ours is gone.
    const closedMade = [...made].filter((n) => n !== open).sort().slice(-3).map((n) => `${n}.gz`);
    expect(names).toEqual([...closedMade, open].sort());
    await file.rotate();
    const after = readdirSync(dir).sort();
    expect(after).toHaveLength(3);
    expect(after).toContain(`${open}.gz`);
    // What is left is the end of what was sent, whole.
    const kept = readBack(dir).spans;
    expect(kept.map(comparable)).toEqual(sent.flat().slice(-kept.length).map(comparable));
  });

  it('deletes closed files last written longer ago than max age, on the timer when nothing is written', async () => {
    let now = Date.now();
    const file = new RotatingFile(options({ maxClosedAgeMs: 3_600_000, now: () => now }));
    await file.open();
    await file.append(Buffer.from(encodeJsonLines([plainSpan()])));
    await file.rotate();
    const [closed] = readdirSync(dir);
    expect(closed).toMatch(OURS);
    now += 30 * 60_000;
    expect(await file.prune()).toEqual([]);
    await file.append(Buffer.from(encodeJsonLines([plainSpan()])));
    const writing = file.current;
    now += 31 * 60_000 + 1;
    // The open file is as old, but only closed files age out.
    await file.rotateIfOld();
    expect(file.current).toBe(writing);
    expect(readdirSync(dir)).toEqual([writing.slice(dir.length + 1)]);
  });

  it('ages a compressed file from its last write, not from its compression', async () => {
    const file = new RotatingFile(options({ maxBytes: 1_000_000, compress: true }));
    await file.open();
    await file.append(Buffer.from(encodeJsonLines([plainSpan()])));
    const plain = file.current;
    const written = new Date(Date.now() - 5 * 3_600_000);
    utimesSync(plain, written, written);
    await file.rotate();
    expect(Math.abs(statSync(`${plain}.gz`).mtimeMs - written.getTime())).toBeLessThan(1000);
    const pruning = new RotatingFile(options({ maxClosedAgeMs: 3_600_000 }));
    await pruning.open();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never deletes anything but its own rotated regular files in its own directory', async () => {
    const outside = join(dir, 'outside.jsonl.gz');
    writeFileSync(outside, 'precious');
    const spans = join(dir, 'spans');
    mkdirSync(spans);
    const strangers = [
      'spans-other-20200101T000000Z-000001.jsonl.gz', // another exporter's prefix: a closed file…
      'spans-other-20200101T000000Z-000002.jsonl', // …and the one it is writing (not compressed as if ours)
      'spansx-20200101T000000Z-000001.jsonl.gz',
      'spans-20200101T000000Z-000001.jsonl.gz.bak',
      'spans-20200101T000000Z-1.jsonl.gz',
      'spans-2020-01-01-000001.jsonl',
      'notes.txt',
      '.spans-20200101T000000Z-000001.jsonl.gz',
    ];
    for (const name of strangers) writeFileSync(join(spans, name), 'x');
    // A link and a directory under names of ours: neither followed, nor deleted.
    symlinkSync(outside, join(spans, 'spans-20200101T000000Z-000002.jsonl.gz'));
    mkdirSync(join(spans, 'spans-20200101T000000Z-000003.jsonl.gz'));
    mkdirSync(join(spans, 'nested'));
    writeFileSync(join(spans, 'nested', 'spans-20200101T000000Z-000004.jsonl.gz'), 'x');
    // Two files of ours, old.
    writeFileSync(join(spans, 'spans-20200101T000000Z-000005.jsonl.gz'), 'x');
    writeFileSync(join(spans, 'spans-20200101T000000Z-000006.jsonl.gz'), 'x');
    const old = new Date('2020-01-01T00:00:00Z');
    for (const name of readdirSync(spans)) utimesSync(join(spans, name), old, old);
    utimesSync(outside, old, old);

    const file = new RotatingFile(options({ directory: spans, maxClosedFiles: 1, maxClosedAgeMs: 3_600_000 }));
    await file.open();
    expect(readdirSync(spans).sort()).toEqual(
      [...strangers, 'spans-20200101T000000Z-000002.jsonl.gz', 'spans-20200101T000000Z-000003.jsonl.gz', 'nested'].sort(),
    );
    expect(readFileSync(outside, 'utf8')).toBe('precious');
    expect(existsSync(join(spans, 'nested', 'spans-20200101T000000Z-000004.jsonl.gz'))).toBe(true);
  });
});

describe('FileExporter', () => {
  it('writes what the queue hands it and closes the file at shutdown', async () => {
    const config = fileConfigSchema.parse({ directory: join(dir, 'out') });
    const exporter = new FileExporter('file', config, { logger });
    await exporter.start();
    const spans = [richSpan(), plainSpan()];
    // The queue concatenates records: two encodings laid end to end are one payload.
    await exporter.send(Buffer.concat([exporter.encode(spans.slice(0, 1)), exporter.encode(spans.slice(1))]));
    await exporter.shutdown();
    expect(readdirSync(join(dir, 'out'))).toHaveLength(1);
    expect(statSync(join(dir, 'out')).mode & 0o777).toBe(0o700);
    expect(readBack(join(dir, 'out')).spans.map(comparable)).toEqual(spans.map(comparable));
  });

  it('applies max_closed_files from its config when it closes files', async () => {
    const out = join(dir, 'out');
    const exporter = new FileExporter('file', fileConfigSchema.parse({ directory: out, max_closed_files: 2 }), { logger });
    for (let run = 0; run < 4; run++) {
      // Each start and shutdown closes one file: four runs, four closed files, two kept.
      await exporter.start();
      await exporter.send(Buffer.from(exporter.encode([plainSpan()])));
      await exporter.shutdown();
    }
    const names = readdirSync(out);
    expect(names).toHaveLength(2);
    expect(readBack(out).spans).toHaveLength(2);
  });

  it('names the key when the directory cannot be used', async () => {
    writeFileSync(join(dir, 'plain-file'), '');
    const exporter = new FileExporter('file/archive', fileConfigSchema.parse({ directory: join(dir, 'plain-file') }), { logger });
    const err = (await exporter.start().catch((e: unknown) => e)) as ExporterConfigError;
    expect(err).toBeInstanceOf(ExporterConfigError);
    expect(err.key).toBe('exporters.file/archive.directory');
  });

  it('accepts only a file-name prefix, so no setting points outside the directory', () => {
    for (const prefix of ['../x', 'a/b', '.hidden', '']) {
      expect(fileConfigSchema.safeParse({ directory: dir, prefix }).success).toBe(false);
    }
    expect(fileConfigSchema.safeParse({}).error?.issues[0]?.message).toMatch(/^required: the directory/);
    expect(fileConfigSchema.parse({ directory: dir })).toEqual({ directory: dir, prefix: 'flowtrace-spans', max_file_mib: 100, max_file_age_seconds: 3600, compress: true, max_closed_files: 0, max_closed_age_hours: 0 });
    expect(fileConfigSchema.safeParse({ directory: dir, max_closed_files: -1 }).error?.issues[0]?.message).toBe('must be 0 (no limit) or more');
    expect(fileConfigSchema.safeParse({ directory: dir, max_closed_age_hours: 1.5 }).error?.issues[0]?.message).toBe('expected a whole number');
  });
});
