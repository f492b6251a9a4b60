import { describe, expect, it } from 'vitest';
import { compileSearch, compileSpanDurations, compileTraceCount, MAX_ANCESTOR_DEPTH, type SearchBounds } from './compile.js';
import { parseSearch } from './parse.js';

const TABLE = '`db`.`otel_traces`';
const BOUNDS: SearchBounds = { table: TABLE, startNs: 1_000n, endNs: 2_000n, limit: 20 };
const compile = (q: string, bounds = BOUNDS) => compileSearch(parseSearch(q), bounds);

/** Every string a query could carry into the SQL, were it concatenated. */
const HOSTILE = [`'); DROP TABLE otel_traces; --`, 'x` OR 1=1 --', '{p0:String}', 'a\\', 'üñí'];

describe('compileSearch', () => {
  it('puts every user value, keys included, in parameters and none in the SQL text', () => {
    for (const bad of HOSTILE) {
      const quoted = JSON.stringify(bad);
      const queries = [
        `name = ${quoted}`,
        `span.${quoted} = ${quoted}`,
        `resource.${quoted} exists`,
        `span.http.route in (${quoted}, "b") AND name =~ ${quoted}`,
        `{ span.${quoted} contains ${quoted} } >> { name startsWith ${quoted} }`,
        `trace.rootName != ${quoted}`,
      ];
      for (const q of queries) {
        const { sql, params } = compile(q);
        expect(sql).not.toContain(bad);
        expect(sql).not.toContain('DROP');
        const values = JSON.stringify(Object.values(params));
        expect(values).toContain(JSON.stringify(bad).slice(1, -1));
      }
    }
  });

  it('looks attributes up by a key parameter, with its kind key for arrays', () => {
    const { sql, params } = compile('span.http.route = "/users"');
    expect(sql).toMatch(/mapContains\(SpanAttributes, \{p\d+:String\}\)/);
    expect(sql).toMatch(/SpanAttributes\[\{p\d+:String\}\] = \{p\d+:String\}/);
    expect(sql).toMatch(/AttributeKinds\[\{p\d+:String\}\] = 'array'/);
    expect(Object.values(params)).toEqual(expect.arrayContaining(['http.route', 'span:http.route', '/users']));
  });

  it('binds the window, limit and cursor as typed parameters', () => {
    const { sql, params } = compile('name = a', { ...BOUNDS, after: { startNs: 1_500n, traceId: 'ab'.repeat(16) } });
    expect(sql).toContain(`FROM ${TABLE}`);
    expect(sql).toMatch(/Timestamp >= fromUnixTimestamp64Nano\(\{p0:Int64\}\) AND Timestamp <= fromUnixTimestamp64Nano\(\{p1:Int64\}\)/);
    expect(sql).toMatch(/LIMIT \{p\d+:UInt32\}$/);
    expect(sql).toMatch(/\(min\(Timestamp\), TraceId\) < \(fromUnixTimestamp64Nano\(\{p\d+:Int64\}\), \{p\d+:String\}\)/);
    expect(Object.values(params)).toEqual(expect.arrayContaining(['1000', '2000', 20, '1500', 'ab'.repeat(16)]));
  });

  it('narrows to candidate traces when the expression implies a span condition, not under NOT', () => {
    expect(compile('name = a AND trace.duration > 1s').sql).toContain('TraceId IN (SELECT TraceId FROM');
    expect(compile('{ name = a } >> { name = b }').sql).toContain('TraceId IN (SELECT TraceId FROM');
    expect(compile('name = a OR name = b').sql).toContain('TraceId IN (SELECT TraceId FROM');
    expect(compile('trace.status = error').sql).toContain("TraceId IN (SELECT TraceId FROM `db`.`otel_traces` WHERE");
    expect(compile('NOT name = a').sql).not.toContain('TraceId IN');
    expect(compile('name = a OR trace.duration > 1s').sql).not.toContain('TraceId IN');
    expect(compile('trace.spans > 3').sql).not.toContain('TraceId IN');
  });

  it('walks ancestors at most MAX_ANCESTOR_DEPTH levels', () => {
    const { sql, params } = compile('{ name = a } >> { name = b }');
    expect(sql).toContain('arrayFold(');
    expect(Object.values(params)).toContain(MAX_ANCESTOR_DEPTH);
  });
});

describe('attributes the grammar does not write (Jaeger tag search)', () => {
  const tag = (scope: 'span' | 'scope' | 'resource' | 'event', key: string, value: string) =>
    compileSearch(
      { type: 'spans', where: { type: 'compare', field: { type: 'attribute', scope, key, asText: true }, op: '=', values: [{ type: 'string', value, column: 0 }], column: 0 }, column: 0 },
      BOUNDS,
    );

  it('compares scope, resource and event attributes as text, every key and value a parameter', () => {
    for (const bad of HOSTILE) {
      for (const scope of ['span', 'scope', 'resource', 'event'] as const) {
        const { sql, params } = tag(scope, bad, bad);
        expect(sql).not.toContain(bad);
        expect(Object.values(params)).toContain(bad);
        // As text: no array expansion by the stored kind.
        expect(sql).not.toContain('AttributeKinds');
      }
    }
    expect(tag('scope', 'k', 'v').sql).toContain('ScopeAttributes[{p2:String}] = {p3:String}');
    expect(tag('event', 'k', 'v').sql).toContain('arrayExists(ev -> mapContains(ev, {p2:String}) AND ev[{p2:String}] = {p3:String}, Events.Attributes)');
  });
});

describe('compileTraceCount and compileSpanDurations (trace-based assertions)', () => {
  it('keep every user value in parameters, and count in the engine', () => {
    for (const bad of HOSTILE) {
      const quoted = JSON.stringify(bad);
      const expr = parseSearch(`{ name = ${quoted} } AND resource.ci.run.id = ${quoted}`);
      const spans = parseSearch(`{ span.${quoted} = ${quoted} }`);
      const compiled = [
        compileTraceCount(expr, BOUNDS),
        compileTraceCount(undefined, BOUNDS),
        ...Object.values(compileSpanDurations(spans.type === 'spans' ? spans.where : (undefined as never), expr, BOUNDS, { limit: 10, minDurationNs: 5n })),
      ];
      for (const { sql, params } of compiled) {
        expect(sql).not.toContain(bad);
        expect(sql).not.toContain('DROP');
        for (const value of Object.values(params)) expect(typeof value === 'string' || typeof value === 'number' || Array.isArray(value)).toBe(true);
      }
    }
    expect(compileTraceCount(undefined, BOUNDS).sql).toMatch(/^SELECT uniqExact\(TraceId\) AS traces, count\(\) AS spans FROM `db`.`otel_traces` WHERE Timestamp >= /);
    expect(compileTraceCount(parseSearch('status = error'), BOUNDS).sql).toContain('HAVING countIf(');
  });
});
