import { describe, expect, it } from 'vitest';
import type { SpanExpr, TraceExpr } from './ast.js';
import { parseSearch, SEARCH_LIMITS, SearchSyntaxError } from './parse.js';

/** A compact rendering of the tree, so precedence is visible at a glance. */
function show(e: TraceExpr | SpanExpr): string {
  switch (e.type) {
    case 'and':
    case 'or':
      return `(${show(e.left)} ${e.type} ${show(e.right)})`;
    case 'not':
      return `not ${show(e.expr)}`;
    case 'spans':
      return `{${show(e.where)}}`;
    case 'descendant':
      return `{${show(e.ancestor)}} ${e.childOnly ? '>' : '>>'} {${show(e.descendant)}}`;
    case 'compare': {
      const f = typeof e.field === 'string' ? `trace.${e.field}` : e.field.type === 'intrinsic' ? e.field.name : `${e.field.scope}[${e.field.key}]`;
      const vs = e.values.map((v) => (v.type === 'string' ? JSON.stringify(v.value) : v.type === 'number' ? v.text : v.type === 'duration' ? `${v.ns}ns` : String(v.value)));
      return `${f} ${e.op}${vs.length ? ' ' + vs.join(',') : ''}`;
    }
  }
}

const parsed = (q: string) => show(parseSearch(q));

function syntaxError(q: string): SearchSyntaxError {
  try {
    parseSearch(q);
  } catch (err) {
    if (err instanceof SearchSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected a syntax error for ${q}`);
}

describe('parseSearch: valid queries', () => {
  it('reads fields, operators and values', () => {
    expect(parsed('span.http.route = "/users"')).toBe('{span[http.route] = "/users"}');
    expect(parsed("resource.k8s.pod.name != 'api-7'")).toBe('{resource[k8s.pod.name] != "api-7"}');
    expect(parsed('resource.service.name = api')).toBe('{service = "api"}');
    expect(parsed('service = checkout-api')).toBe('{service = "checkout-api"}');
    expect(parsed('span.http.status_code>=500')).toBe('{span[http.status_code] >= 500}');
    expect(parsed('duration > 1.5s')).toBe('{duration > 1500000000ns}');
    expect(parsed('duration <= 250ms')).toBe('{duration <= 250000000ns}');
    expect(parsed('span.db.system exists')).toBe('{span[db.system] exists}');
    expect(parsed('span.db.system NOT EXISTS')).toBe('{span[db.system] notExists}');
    expect(parsed('name startsWith "GET" ')).toBe('{name startsWith "GET"}');
    expect(parsed('name CONTAINS "Repo"')).toBe('{name contains "Repo"}');
    expect(parsed('name =~ "^GET /(a|b)$"')).toBe('{name =~ "^GET /(a|b)$"}');
    expect(parsed('name !~ "health"')).toBe('{name !~ "health"}');
    expect(parsed('service in ("a", "b",\'c\')')).toBe('{service in "a","b","c"}');
    expect(parsed('span.code not in (1, 2.5, -3)')).toBe('{span[code] notIn 1,2.5,-3}');
    expect(parsed('span.cache.hit = true')).toBe('{span[cache.hit] = true}');
    expect(parsed('span."key with spaces" = 1')).toBe('{span[key with spaces] = 1}');
  });

  it('normalises kind and status values to their stored spelling', () => {
    expect(parsed('kind = SERVER')).toBe('{kind = "Server"}');
    expect(parsed('status = "error"')).toBe('{status = "Error"}');
    expect(parsed('kind in (client, producer)')).toBe('{kind in "Client","Producer"}');
    expect(parsed('trace.status = error')).toBe('trace.status = "Error"');
  });

  it('reads trace fields and the descendant operator', () => {
    expect(parsed('trace.duration > 2s AND trace.spans >= 100')).toBe('(trace.duration > 2000000000ns and trace.spans >= 100)');
    expect(parsed('trace.rootService = api')).toBe('trace.rootService = "api"');
    expect(parsed('{ kind = server } >> { span.db.system = "postgresql" AND duration > 100ms }')).toBe(
      '{kind = "Server"} >> {(span[db.system] = "postgresql" and duration > 100000000ns)}',
    );
    expect(parsed('{ kind = server }>{ kind = client } OR {name = a} >> {name = b}')).toBe('({kind = "Server"} > {kind = "Client"} or {name = "a"} >> {name = "b"})');
  });

  it('binds NOT tighter than AND, and AND tighter than OR, at both levels', () => {
    expect(parsed('name = a OR name = b AND NOT name = c')).toBe('({name = "a"} or ({name = "b"} and not {name = "c"}))');
    expect(parsed('(name = a OR name = b) AND name = c')).toBe('(({name = "a"} or {name = "b"}) and {name = "c"})');
    expect(parsed('{ name = a OR name = b AND NOT (name = c OR name = d) }')).toBe('{(name = "a" or (name = "b" and not (name = "c" or name = "d")))}');
    expect(parsed('NOT NOT status = ok')).toBe('not not {status = "Ok"}');
  });

  it('decodes escapes in strings and counts columns from 1', () => {
    expect(parsed('name = "a \\"quoted\\" \\\\ back\\nslash"')).toBe(`{name = ${JSON.stringify('a "quoted" \\ back\nslash')}}`);
    expect(parsed("name = 'it\\'s'")).toBe(`{name = "it's"}`);
    const e = parseSearch('  name = "x"');
    expect(e.type === 'spans' && e.column).toBe(3);
  });

  it('keeps an injection attempt a plain value', () => {
    expect(parsed(`name = "'); DROP TABLE otel_traces; --"`)).toBe(`{name = "'); DROP TABLE otel_traces; --"}`);
    expect(parsed(`span."a'] = '' OR 1=1 --" exists`)).toBe(`{span[a'] = '' OR 1=1 --] exists}`);
  });
});

describe('parseSearch: errors name the column', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['span.http.route = ', 19, /^expected a value after '='$/],
    ['service = "api" AND name =', 27, /^expected a value after '='$/],
    ['name = "x" AND', 15, /^expected a field .*got the end of the query$/],
    ['name = "unterminated', 8, /^unterminated string/],
    ['name = "bad \\q escape"', 13, /^unknown escape "\\\\q"/],
    ['duration > 5xs', 13, /^unknown duration unit "xs"/],
    ['duration > 5', 12, /^expected a duration \(250ms, 1.5s\) after '>', got '5'$/],
    ['name > "a"', 6, /^name does not take '>'/],
    ['kind = sideways', 8, /^kind is one of server, client, internal, producer, consumer, unspecified, got "sideways"$/],
    ['name exists', 6, /^name does not take 'exists'/],
    ['span.x = 1 2', 12, /^expected AND, OR or the end of the query, got '2'$/],
    ['(name = a', 10, /^expected '\)' to close the \( at column 1/],
    ['{ name = a', 11, /^expected '}' to close the \{ at column 1/],
    ['{ }', 3, /^expected a condition inside \{ \}/],
    ['{ trace.duration > 1s }', 3, /^trace.duration is a trace field: use it outside \{ \}$/],
    ['trace.bogus = 1', 1, /^unknown trace field "trace.bogus"/],
    ['foo = 1', 1, /^unknown field "foo"/],
    ['span. = 1', 1, /^expected an attribute key after 'span.'/],
    ['name = a; DROP TABLE x', 9, /^unexpected character ";"$/],
    ['span.x in ("a", 1)', 11, /^an IN list holds values of one type/],
    ['span.x in "a"', 11, /^expected \( after 'in'/],
    ['trace.spans > 1.5', 15, /^trace.spans is compared with a whole number/],
    ['{ name = a } >> name = b', 17, /^expected \{ after '>>'/],
    ['{ name = a } >> { name = b } >> { name = c }', 30, /^one '>' or '>>' per pair/],
    ['span.x > "a"', 10, /^expected a number after '>'/],
    ['', 1, /^empty query/],
    ['name = and', 8, /^expected a value after '=', got 'and'$/],
    ['duration > -5ms', 12, /^a duration cannot be negative$/],
  ];
  for (const [q, column, problem] of cases) {
    it(`${JSON.stringify(q)} → column ${column}`, () => {
      const err = syntaxError(q);
      expect(err.problem).toMatch(problem);
      expect(err.column).toBe(column);
      expect(err.message).toBe(`at column ${column}: ${err.problem}`);
    });
  }
});

describe('parseSearch: limits', () => {
  it('bounds the query, comparisons, nesting, IN lists, regexes and strings', () => {
    expect(syntaxError('name = "' + 'x'.repeat(SEARCH_LIMITS.maxQueryLength) + '"').problem).toMatch(/^query longer than 4096 characters/);
    const many = Array.from({ length: SEARCH_LIMITS.maxComparisons + 1 }, (_, i) => `name = n${String.fromCharCode(97 + (i % 26))}`).join(' OR ');
    expect(syntaxError(many).problem).toMatch(/^more than 50 comparisons/);
    expect(() => parseSearch(many.split(' OR ').slice(0, SEARCH_LIMITS.maxComparisons).join(' OR '))).not.toThrow();
    expect(syntaxError('('.repeat(40) + 'name = a' + ')'.repeat(40)).problem).toMatch(/^nested deeper than 32 levels/);
    expect(syntaxError('NOT '.repeat(40) + 'name = a').problem).toMatch(/^nested deeper than 32 levels/);
    const list = Array.from({ length: SEARCH_LIMITS.maxInValues + 1 }, (_, i) => `"v${i}"`).join(',');
    expect(syntaxError(`service in (${list})`).problem).toMatch(/^more than 100 values in one IN list/);
    const regex = syntaxError(`name =~ "${'a'.repeat(SEARCH_LIMITS.maxRegexLength + 1)}"`);
    expect(regex.problem).toMatch(/^regex longer than 512 characters/);
    expect(regex.column).toBe(9);
    expect(() => parseSearch(`name =~ "${'a'.repeat(SEARCH_LIMITS.maxRegexLength)}"`)).not.toThrow();
  });
});
