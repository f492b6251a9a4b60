import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { installCjsHook } from '../src/cjs-hook.js';
import { ModuleFilter, parseFilterEntries } from '../src/filter.js';
import { createPipeline } from '../src/pipeline.js';
import { ModuleSource } from '../src/source.js';
import { isWrapper, makeCallSite, originalOf, wrapFunction } from '../src/wrap.js';
import { byName, inSpan, memoryPipeline, one, testConfig } from './helpers/memory.js';

interface Counter {
  n: number;
  value: number;
  inc(by?: number): Counter;
  whoAmI(): Counter;
  fact(n: number): number;
  later(v: number): Promise<number>;
  fail(message: string): Promise<never>;
  waitFor<T>(promise: Promise<T>): Promise<T>;
  range(n: number): Generator<number, void, unknown>;
  ticks(n: number): AsyncGenerator<number, void, unknown>;
}
interface CounterClass {
  new (start: number): Counter;
  create(n: number): Counter;
  label: string;
  prototype: Counter;
}
interface Shapes {
  Counter: CounterClass;
  SubCounter: CounterClass;
  Legacy: { new (name: string): { greet(g: string): string }; prototype: object };
  add: ((a: unknown, b: unknown) => unknown) & { meta: { pure: boolean } };
  Point: { new (x: number, y: number): { x: number; y: number; madeBy: unknown } } & ((x: number, y: number) => void);
  thrower(kind: string): never;
  readFile(path: string, callback: (err: Error | null, data?: string) => void): void;
  login(user: string, password: string): string;
  fib(n: number): number;
  arrow(x: number): number;
  fetchUser(id: number): Promise<{ id: number; name: string }>;
  selfish(this: unknown): unknown;
  repo: { find(id: number): { id: number }; readonly count: number };
}

const fixtures = fileURLToPath(new URL('./fixtures/shapes/', import.meta.url));
const shapesFile = `${fixtures}shapes.cjs`;
const shapesText = readFileSync(shapesFile, 'utf8');
const mem = memoryPipeline({ maxValueBytes: 64 });
const { pipeline } = mem;
const filter = new ModuleFilter({
  include: [{ kind: 'path', abs: fixtures }],
  exclude: parseFilterEntries('excluded', 'FLOWTRACE_EXCLUDE').entries,
  root: fixtures,
});
const hook = installCjsHook(pipeline.methods, filter, (file, err) => {
  throw new Error(`wrapping ${file} failed: ${String(err)}`);
});
const require = createRequire(import.meta.url);
const shapes = require('./fixtures/shapes/shapes.cjs') as Shapes;
const { Counter, SubCounter } = shapes;

function lineOf(snippet: string): number {
  const at = shapesText.indexOf(snippet);
  if (at < 0) throw new Error(`not in fixture: ${snippet}`);
  return shapesText.slice(0, at).split('\n').length;
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

beforeEach(() => mem.reset());
afterAll(async () => {
  hook.unhook();
  await pipeline.shutdown();
});

describe('what gets wrapped', () => {
  it('wraps exported functions, prototype and static methods, object-literal methods', () => {
    expect(isWrapper(shapes.add)).toBe(true);
    expect(isWrapper(shapes.arrow)).toBe(true);
    expect(isWrapper(Counter.prototype.inc)).toBe(true);
    expect(isWrapper(Counter.create)).toBe(true);
    expect(isWrapper(shapes.repo.find)).toBe(true);
    expect(isWrapper(shapes.Legacy.prototype as unknown as Function)).toBe(false);
    expect(isWrapper((shapes.Legacy.prototype as { greet: Function }).greet)).toBe(true);
  });

  it('leaves modules outside the filter untouched', () => {
    const excluded = require('./fixtures/shapes/excluded.cjs') as { untouched: Function };
    expect(isWrapper(excluded.untouched)).toBe(false);
  });

  it('never patches a class re-exported from elsewhere, but does the module’s own', () => {
    const mod = require('./fixtures/shapes/reexport.cjs') as { EventEmitter: { prototype: { emit: Function } }; Local: { prototype: { ping: Function } } };
    expect(isWrapper(mod.EventEmitter.prototype.emit)).toBe(false);
    expect(isWrapper(mod.Local.prototype.ping)).toBe(true);
  });

  it('does not wrap twice when a module is required again', () => {
    const again = require('./fixtures/shapes/shapes.cjs') as Shapes;
    expect(again.add).toBe(shapes.add);
    expect(isWrapper(originalOf(shapes.add))).toBe(false);
  });

  it('replaces a module whose export is a single function, keeping its properties', () => {
    const greet = require('./fixtures/shapes/plain-export.cjs') as ((n: string) => string) & { version: number };
    expect(isWrapper(greet)).toBe(true);
    expect(greet('ada')).toBe('hello ada');
    expect(greet.version).toBe(3);
    expect(greet.name).toBe('greet');
  });
});

describe('behaviour is preserved', () => {
  it('keeps this', () => {
    const target = { tag: 1 };
    expect(shapes.selfish.call(target)).toBe(target);
    const c = new Counter(1);
    expect(c.whoAmI()).toBe(c);
  });

  it('keeps new, new.target and instanceof', () => {
    const p = new shapes.Point(1, 2);
    expect(p).toBeInstanceOf(shapes.Point);
    expect(p.madeBy).toBe(originalOf(shapes.Point));
    class Point3 extends (shapes.Point as unknown as new (x: number, y: number) => { madeBy: unknown }) {}
    const q = new Point3(1, 2);
    expect(q.madeBy).toBe(Point3);
    expect(q).toBeInstanceOf(shapes.Point);
    expect(Counter.create(1)).toBeInstanceOf(Counter);
    expect(new SubCounter(0)).toBeInstanceOf(Counter);
    expect(new shapes.Legacy('ada').greet('hi')).toBe('hi, ada');
  });

  it('keeps methods and arrows non-constructible', () => {
    const c = new Counter(0);
    expect(() => new (c.inc as unknown as new () => unknown)()).toThrow(TypeError);
    expect(() => new (shapes.arrow as unknown as new () => unknown)()).toThrow(TypeError);
  });

  it('keeps return values and thrown errors', () => {
    expect(shapes.add(2, 3)).toBe(5);
    const c = new Counter(1);
    expect(c.inc(2)).toBe(c);
    expect(c.n).toBe(3);
    let caught: unknown;
    try {
      shapes.thrower('input');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message).toBe('bad input');
  });

  it('keeps length, name and own properties', () => {
    expect(shapes.add.length).toBe(2);
    expect(shapes.add.name).toBe('add');
    expect(shapes.arrow.length).toBe(1);
    expect(shapes.arrow.name).toBe('arrow');
    expect(Counter.prototype.inc.length).toBe(0);
    expect(Counter.prototype.inc.name).toBe('inc');
    expect(Counter.create.name).toBe('create');
    expect(shapes.add.meta).toEqual({ pure: true });
    expect(Object.keys(shapes.add)).toEqual(['meta']);
    expect(Counter.label).toBe('counter');
    expect(Object.getPrototypeOf(shapes.fetchUser)).toBe(Object.getPrototypeOf(async () => {}));
  });

  it('leaves getters and setters untouched', () => {
    const desc = Object.getOwnPropertyDescriptor(Counter.prototype, 'value');
    expect(desc?.get).toBeTypeOf('function');
    expect(isWrapper(desc?.get as Function)).toBe(false);
    expect(isWrapper(desc?.set as Function)).toBe(false);
    const c = new Counter(4);
    c.value = 9;
    expect(c.value).toBe(9);
    const countDesc = Object.getOwnPropertyDescriptor(shapes.repo, 'count');
    expect(countDesc?.get).toBeTypeOf('function');
    expect(shapes.repo.count).toBe(1);
  });

  it('keeps subclass overrides and super calls', () => {
    expect(new SubCounter(0).inc(1).n).toBe(10);
  });

  it('is re-entrant: recursion through the prototype and through the exports', async () => {
    await inSpan(pipeline, 'request', async () => {
      expect(new Counter(0).fact(5)).toBe(120);
      expect(shapes.fib(6)).toBe(8);
    });
    const spans = await mem.spans();
    const facts = byName(spans, 'Counter.fact');
    expect(facts).toHaveLength(5);
    // Each level is the child of the one above it.
    const ids = new Set(facts.map((s) => s.spanContext().spanId));
    const roots = facts.filter((s) => !ids.has(s.parentSpanContext?.spanId ?? ''));
    expect(roots).toHaveLength(1);
    expect(byName(spans, 'shapes.fib')).toHaveLength(25);
  });
});

describe('spans', () => {
  it('names the span Class.method with code.* attributes, parented to the active span', async () => {
    let parentId = '';
    inSpan(pipeline, 'request', (span) => {
      parentId = span.spanContext().spanId;
      new Counter(0).inc(1);
    });
    const spans = await mem.spans();
    const inc = one(spans, 'Counter.inc');
    const request = one(spans, 'request');
    expect(inc.kind).toBe(SpanKind.INTERNAL);
    expect(inc.parentSpanContext?.spanId).toBe(parentId);
    expect(inc.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(inc.attributes).toMatchObject({
      'code.function.name': 'Counter.inc',
      'code.namespace': 'Counter',
      'code.file.path': shapesFile,
      'code.line.number': lineOf('inc(by = 1) {'),
    });
    expect(inc.instrumentationScope.name).toBe('@flowtrace/agent-node');
    expect(inc.resource.attributes['service.name']).toBe('agent-test');
    // The child starts within its parent.
    const t = (h: [number, number]): number => h[0] * 1e9 + h[1];
    expect(t(inc.startTime)).toBeGreaterThanOrEqual(t(request.startTime));
    expect(t(inc.endTime)).toBeLessThanOrEqual(t(request.endTime));
  });

  it('names module functions module.function and object methods object.method', async () => {
    inSpan(pipeline, 'request', () => {
      shapes.add(1, 2);
      shapes.repo.find(3);
      Counter.create(2);
    });
    const spans = await mem.spans();
    expect(one(spans, 'shapes.add').attributes['code.line.number']).toBe(lineOf('function add('));
    expect(one(spans, 'repo.find').attributes['code.namespace']).toBe('repo');
    expect(one(spans, 'Counter.create').attributes['code.line.number']).toBe(lineOf('static create('));
  });

  it('nests method spans: a method called by a method is its child', async () => {
    inSpan(pipeline, 'request', () => {
      Counter.create(1); // create() calls new Counter: no method span for the constructor
      new SubCounter(0).inc(1); // SubCounter.inc calls Counter.inc through super
    });
    const spans = await mem.spans();
    const sub = one(spans, 'SubCounter.inc');
    const base = one(spans, 'Counter.inc');
    expect(base.parentSpanContext?.spanId).toBe(sub.spanContext().spanId);
  });

  it('records a thrown error as an exception event and error status', async () => {
    inSpan(pipeline, 'request', () => {
      expect(() => shapes.thrower('x')).toThrow('bad x');
    });
    const span = one(await mem.spans(), 'shapes.thrower');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad x' });
    expect(span.events[0].name).toBe('exception');
    expect(span.events[0].attributes?.['exception.type']).toBe('TypeError');
    expect(span.events[0].attributes?.['exception.message']).toBe('bad x');
  });

  it('masks a thrown error’s message in its event, stack and status', async () => {
    const secret = 'login failed: password=hunter2 Authorization: Bearer abcdefgh12345678';
    inSpan(pipeline, 'request', () => {
      expect(() => shapes.thrower(secret)).toThrow();
    });
    const span = one(await mem.spans(), 'shapes.thrower');
    const masked = 'bad login failed: password=[REDACTED] Authorization: [REDACTED]';
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: masked });
    expect(span.events[0].attributes?.['exception.message']).toBe(masked);
    const stack = String(span.events[0].attributes?.['exception.stacktrace']);
    expect(stack.startsWith(`TypeError: ${masked}\n    at `)).toBe(true);
    expect(JSON.stringify(span.events)).not.toMatch(/hunter2|abcdefgh12345678/);
  });

  it('ends an async span when its promise settles, with the resolved value', async () => {
    const gate = deferred<number>();
    let pending!: Promise<number>;
    inSpan(pipeline, 'request', () => {
      pending = new Counter(0).waitFor(gate.promise);
    });
    // The promise cannot settle before the gate opens: no span yet.
    expect(byName(await mem.spans(), 'Counter.waitFor')).toHaveLength(0);
    gate.resolve(7);
    expect(await pending).toBe(7);
    expect(one(await mem.spans(), 'Counter.waitFor').attributes['flowtrace.return']).toBe('7');
    await inSpan(pipeline, 'request', async () => {
      expect(await shapes.fetchUser(3)).toEqual({ id: 3, name: 'Ada' });
      expect(await new Counter(0).later(21)).toBe(42);
    });
    const spans = await mem.spans();
    expect(one(spans, 'shapes.fetchUser').attributes['flowtrace.return']).toBe('{"id": 3, "name": "Ada"}');
    expect(one(spans, 'Counter.later').attributes['flowtrace.return']).toBe('42');
  });

  it('records an async rejection and still rejects the caller', async () => {
    await inSpan(pipeline, 'request', async () => {
      await expect(new Counter(0).fail('nope')).rejects.toThrow('nope');
    });
    const span = one(await mem.spans(), 'Counter.fail');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events[0].attributes?.['exception.message']).toBe('nope');
  });

  it('keeps a generator a generator and ends its span when it finishes or is closed', async () => {
    const c = new Counter(0);
    inSpan(pipeline, 'request', () => {
      const gen = c.range(3);
      expect(Object.prototype.toString.call(gen)).toBe('[object Generator]');
      expect([...gen]).toEqual([0, 1, 2]);
      for (const x of c.range(10)) if (x === 1) break;
    });
    const ranges = byName(await mem.spans(), 'Counter.range');
    expect(ranges).toHaveLength(2);
    expect(ranges.every((s) => s.ended)).toBe(true);
  });

  it('traces async generators until they are done', async () => {
    const seen: number[] = [];
    await inSpan(pipeline, 'request', async () => {
      for await (const x of new Counter(0).ticks(3)) seen.push(x);
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(byName(await mem.spans(), 'Counter.ticks')).toHaveLength(1);
  });

  it('ends a callback-last call when the callback runs, in the caller’s context', async () => {
    let parent: Span | undefined;
    const results = await inSpan(pipeline, 'request', (span) => {
      parent = span;
      const read = (path: string): Promise<{ err: Error | null; data?: string; active?: Span }> =>
        new Promise((resolve) => shapes.readFile(path, (err, data) => resolve({ err, data, active: trace.getActiveSpan() })));
      return Promise.all([read('a.txt'), read('missing')]);
    });
    expect(results[0].data).toBe('content of a.txt');
    expect(results[0].active).toBe(parent);
    expect(results[1].err?.message).toBe('ENOENT: missing');
    const spans = byName(await mem.spans(), 'shapes.readFile');
    expect(spans).toHaveLength(2);
    const ok = spans.find((s) => s.attributes['flowtrace.args.0'] === '"a.txt"');
    const failed = spans.find((s) => s.attributes['flowtrace.args.0'] === '"missing"');
    expect(ok?.attributes['flowtrace.return']).toBe('"content of a.txt"');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('captures arguments capped in bytes and masks secret parameters', async () => {
    inSpan(pipeline, 'request', () => {
      shapes.login('ada', 'hunter2');
      shapes.add('é'.repeat(500), { token: 'abc', card: '4111 1111 1111 1111' });
    });
    const spans = await mem.spans();
    const login = one(spans, 'shapes.login');
    expect(login.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(login.attributes['flowtrace.args.1']).toBe('[REDACTED]');
    expect(login.attributes['flowtrace.return']).toBe('"ada:7"');
    const add = one(spans, 'shapes.add');
    const big = add.attributes['flowtrace.args.0'] as string;
    expect(Buffer.byteLength(big)).toBeLessThanOrEqual(64);
    expect(big.endsWith('…')).toBe(true);
    expect(add.attributes['flowtrace.args.1']).toBe('{"token": "[REDACTED]", "card": "[REDACTED]"}');
  });

  it('starts a trace, with a correlation ID, when called outside any', async () => {
    new Counter(0).fact(2);
    const facts = byName(await mem.spans(), 'Counter.fact');
    expect(facts).toHaveLength(2);
    const root = facts.find((s) => s.parentSpanContext === undefined);
    const child = facts.find((s) => s.parentSpanContext !== undefined);
    expect(root).toBeDefined();
    expect(child?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
    const id = root?.attributes['flowtrace.correlation_id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(child?.attributes['flowtrace.correlation_id']).toBe(id);
  });

  it('records nothing when tracing is suppressed or the tracer is off', async () => {
    context.with(suppressTracing(context.active()), () => shapes.add(1, 1));
    pipeline.methods.enabled = false;
    try {
      inSpan(pipeline, 'request', () => shapes.add(1, 1));
    } finally {
      pipeline.methods.enabled = true;
    }
    expect(byName(await mem.spans(), 'shapes.add')).toHaveLength(0);
  });
});

describe('sampling', () => {
  it('follows the sampler for calls that start a trace, and the parent inside one', async () => {
    const exporter = new InMemorySpanExporter();
    const off = createPipeline(testConfig({ sampler: 'parentbased_always_off' }), { exporter, registerGlobals: false });
    const source = ModuleSource.read(shapesFile);
    const fn = originalOf(shapes.add);
    const info = { file: shapesFile, moduleName: 'shapes', source };
    const traced = wrapFunction(off.methods, fn, makeCallSite('shapes.add', 'shapes', fn, info));
    expect(traced(1, 2)).toBe(3); // no parent, root sampler says no
    off.contextManager.with(trace.setSpan(context.active(), trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 })), () => traced(1, 2));
    await off.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0].spanContext().traceId).toBe('a'.repeat(32));
    expect(spans[0].parentSpanContext?.spanId).toBe('b'.repeat(16));
    await off.shutdown();
  });
});
