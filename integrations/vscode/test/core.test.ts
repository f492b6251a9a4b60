// The extension's plain modules on their own: path mapping, lens text and placement for the
// definitions each agent's language writes, the answer cache, the collector URL and the page's
// message check. The end-to-end file (extension-logic.e2e.test.ts) runs them against a collector.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnswerCache } from '../src/core/answer-cache.js';
import { CollectorError, parseCollectorUrl, parseTraceId, type MethodStats } from '../src/core/api-client.js';
import { definesFunction, findDefinition, formatMs, lensText, mergeByFunction, placeLenses, shortName } from '../src/core/code-lens.js';
import { normalisePath, requestPathFor, resolveSpanFile, type FileLookup } from '../src/core/path-mapping.js';
import { sourceLocationOf } from '../src/core/source-location.js';
import { escapeHtml, isOpenSourceMessage } from '../src/core/webview-html.js';

const stats = (over: Partial<MethodStats>): MethodStats => ({
  service: 'svc',
  function: 'f',
  namespace: '',
  line: 1,
  filePath: 'a.js',
  calls: 1,
  errors: 0,
  p50Nano: '1000000',
  p99Nano: '1000000',
  lastSeenUnixNano: '0',
  slowestTraceId: 'a'.repeat(32),
  ...over,
});

describe('path mapping', () => {
  it('asks about a workspace file by its path in the innermost folder holding it, else its absolute path', () => {
    expect(requestPathFor('/w/app/src/x.ts', ['/w', '/w/app'])).toBe('src/x.ts');
    expect(requestPathFor('C:\\w\\app\\src\\x.ts', ['C:\\w\\app'])).toBe('src/x.ts');
    expect(requestPathFor('/other/x.ts', ['/w'])).toBe('/other/x.ts');
    expect(requestPathFor('/wx/y.ts', ['/w'])).toBe('/wx/y.ts');
    expect(normalisePath('./a//b\\c.js')).toBe('a/b/c.js');
  });

  const dir = mkdtempSync(join(tmpdir(), 'ft-vscode-paths-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['a/lib/x.js', 'b/lib/x.js', 'src/main/java/com/acme/Shop.java', 'index.js', 'src/index.js']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  const files = ['a/lib/x.js', 'b/lib/x.js', 'src/main/java/com/acme/Shop.java', 'index.js', 'src/index.js'].map((f) => join(dir, f));
  const lookup: FileLookup = {
    exists: async (p) => files.includes(p),
    findBySuffix: async (suffix, max) => files.filter((f) => f.endsWith(`/${suffix}`)).slice(0, max),
  };

  it('finds a span’s file: as reported, under a folder with leading segments dropped, or by a unique suffix', async () => {
    expect(await resolveSpanFile(join(dir, 'a/lib/x.js'), [dir], lookup)).toEqual({ kind: 'file', path: join(dir, 'a/lib/x.js') });
    expect(await resolveSpanFile('/ci/build/src/index.js', [dir], lookup)).toEqual({ kind: 'file', path: join(dir, 'src/index.js') });
    expect(await resolveSpanFile('com/acme/Shop.java', [dir], lookup)).toEqual({ kind: 'file', path: join(dir, 'src/main/java/com/acme/Shop.java') });
    expect(await resolveSpanFile('lib/x.js', [dir], lookup)).toEqual({ kind: 'ambiguous', candidates: [join(dir, 'a/lib/x.js'), join(dir, 'b/lib/x.js')] });
  });

  it('never guesses by a bare file name, and refuses .. segments', async () => {
    // Only index.js in common with the workspace's root index.js: not that file.
    expect(await resolveSpanFile('/ci/build/other/index.js', [dir], lookup)).toEqual({ kind: 'missing' });
    expect(await resolveSpanFile('../../etc/passwd', [dir], lookup)).toEqual({ kind: 'missing' });
    expect(await resolveSpanFile('', [dir], lookup)).toEqual({ kind: 'missing' });
  });

  it('reads a span’s code attributes, current and older names', () => {
    expect(sourceLocationOf({ 'code.file.path': 'a.py', 'code.line.number': 12, 'code.function.name': 'run' })).toEqual({ filePath: 'a.py', line: 12, function: 'run' });
    expect(sourceLocationOf({ 'code.filepath': 'a.go', 'code.lineno': '7', 'code.function': 'main' })).toEqual({ filePath: 'a.go', line: 7, function: 'main' });
    expect(sourceLocationOf({ 'code.file.path': 'a.rs', 'code.line.number': 'x' })).toEqual({ filePath: 'a.rs', line: undefined, function: '' });
    expect(sourceLocationOf({ 'http.route': '/x' })).toBeUndefined();
  });
});

describe('CodeLens text and placement', () => {
  it('formats durations and the text, errors only when there were some', () => {
    expect([formatMs(40_600_000), formatMs(400_000), formatMs(2_500_000_000), formatMs(12_000), formatMs(3_000_000)]).toEqual(['41 ms', '0.4 ms', '2.5 s', '12 µs', '3 ms']);
    expect(lensText({ calls: 312, errors: 2, p99Ns: 41_000_000 }, '1h')).toBe('312 calls · p99 41 ms · 2 errors, last hour');
    expect(lensText({ calls: 1, errors: 0, p99Ns: 41_000_000 }, '168h')).toBe('1 call · p99 41 ms, last 7 days');
    expect(lensText({ calls: 12345, errors: 1, p99Ns: 1_000_000 }, '15m')).toBe('12,345 calls · p99 1 ms · 1 error, last 15 minutes');
  });

  it('merges one function reported by several services: calls and errors summed, the highest p99', () => {
    const merged = mergeByFunction([
      stats({ service: 'a', calls: 2, errors: 1, p99Nano: '5000000', slowestTraceId: '1'.repeat(32) }),
      stats({ service: 'b', calls: 3, p99Nano: '9000000', slowestTraceId: '2'.repeat(32) }),
      stats({ function: 'g', line: 5 }),
    ]);
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({ function: 'f', calls: 5, errors: 1, p99Ns: 9_000_000, slowestTraceId: '2'.repeat(32) });
    expect(merged[0]!.byService.map((s) => s.service)).toEqual(['a', 'b']);
  });

  it('recognises definitions in each agent’s language, not calls', () => {
    expect(shortName('CheckoutService.placeOrder')).toBe('placeOrder');
    expect(shortName('orders::service::create')).toBe('create');
    expect(shortName('shop.(*Cart).Add')).toBe('Add');
    const yes: Array<[string, string]> = [
      ['  async placeOrder(customer, cardNumber) {', 'placeOrder'],
      ['export function total(items) {', 'total'],
      ['const total = async (items) => {', 'total'],
      ['    public Order create(Order order) throws IOException {', 'create'],
      ['    def create(self, order):', 'create'],
      ['async def create(order):', 'create'],
      ['func (c *Cart) Add(item Item) error {', 'Add'],
      ['    pub async fn create(&self, order: Order) -> Result<Order> {', 'create'],
      ['  private <T> T convert<T>(value: T): T {', 'convert'],
    ];
    for (const [line, name] of yes) expect(definesFunction(line, name), line).toBe(true);
    const no: Array<[string, string]> = [
      ['    if (!this.cardLooksValid(cardNumber)) throw new Error();', 'cardLooksValid'],
      ['    return total(order.items);', 'total'],
      ['    const order = await create(customer);', 'create'],
      ['    create(order);', 'create'],
      ['    x = create(1)', 'create'],
      ['// placeOrderLater is not placeOrder(', 'placeOrderLater2'],
    ];
    for (const [line, name] of no) expect(definesFunction(line, name), line).toBe(false);
  });

  it('places a lens on the reported line, on a decorator’s function below it, or on the nearest definition', () => {
    const lines = ['class A {', '  @Traced', '  run() {', '  }', '  run2() {}', '}', 'function run() {}'];
    expect(findDefinition(lines, 'run', 1)).toBe(2); // reported on the annotation line
    expect(findDefinition(lines, 'run', 5)).toBe(6); // moved: the nearest
    expect(findDefinition(lines, 'gone', 2)).toBeUndefined();
    const placed = placeLenses([stats({ function: 'A.run', line: 3, calls: 4 }), stats({ function: 'gone', line: 1 })], lines, '1h');
    expect(placed.lenses.map((l) => [l.line, l.text])).toEqual([[2, '4 calls · p99 1 ms, last hour']]);
    expect(placed.unplaced).toEqual(['gone']);
  });
});

describe('answer cache', () => {
  it('keeps an answer for its time, forgets failures, drops the oldest past its size', async () => {
    let now = 0;
    const cache = new AnswerCache<number>(1000, 2, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('a', load)).toBe(1);
    expect(await cache.get('a', load)).toBe(1);
    now = 1000;
    expect(await cache.get('a', load)).toBe(2);
    await expect(cache.get('f', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('f', load)).toBe(3);
    await cache.get('b', load);
    await cache.get('c', load); // 'a' (oldest) dropped
    expect(await cache.get('a', load)).toBe(6);
    cache.clear();
    expect(await cache.get('c', load)).toBe(7);
  });
});

describe('collector URL, IDs and the page’s messages', () => {
  it('takes http(s) URLs without credentials, query or fragment', () => {
    expect(parseCollectorUrl('http://127.0.0.1:8686/').href).toBe('http://127.0.0.1:8686/');
    expect(parseCollectorUrl('https://ft.example.com/base/').pathname).toBe('/base');
    for (const bad of ['ftp://x', 'http://user:ft_secret@host:8686', 'http://h:1/?token=x', 'not a url']) expect(() => parseCollectorUrl(bad), bad).toThrow(CollectorError);
    try {
      parseCollectorUrl('http://user:ft_secret@host:8686');
    } catch (err) {
      expect((err as Error).message).not.toContain('ft_secret');
    }
    expect(parseTraceId(' 4BF92F3577B34DA6A3CE929D0E0E4736 ')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parseTraceId('a3ce929d0e0e4736')).toBe('0000000000000000a3ce929d0e0e4736');
    expect(() => parseTraceId('xyz')).toThrow('trace ID: expected 32 hex digits');
  });

  it('accepts only an openSource message for a span the page shows', () => {
    const shown = new Set(['00f067aa0ba902b7']);
    expect(isOpenSourceMessage({ type: 'openSource', spanId: '00f067aa0ba902b7' }, shown)).toBe(true);
    for (const m of [null, 'openSource', { type: 'open', spanId: '00f067aa0ba902b7' }, { type: 'openSource', spanId: 7 }, { type: 'openSource', spanId: '00F067AA0BA902B7' }]) {
      expect(isOpenSourceMessage(m, shown)).toBe(false);
    }
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });
});
