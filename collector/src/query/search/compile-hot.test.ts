import { describe, expect, it } from 'vitest';
import { DEFAULT_HOT_ATTRIBUTES, HotColumns, hotElementsSql } from '../../storage/hot-attributes/hot-columns.js';
import { jaegerSearchExpr } from '../jaeger/reads.js';
import { compileSearch, type SearchBounds } from './compile.js';
import { parseSearch } from './parse.js';

const BOUNDS: SearchBounds = { table: '`db`.`otel_traces`', startNs: 1_000n, endNs: 2_000n, limit: 20, hot: new HotColumns(DEFAULT_HOT_ATTRIBUTES) };
const compile = (q: string) => compileSearch(parseSearch(q), BOUNDS);
const PRUNE = hotElementsSql('Attr_http_route').replace(/[()[\]]/g, (c) => `\\${c}`);

describe('compileSearch with hot attribute columns', () => {
  it('reads a hot span attribute from its column, with the index condition for = and in', () => {
    const eq = compile('span.http.route = "/users"').sql;
    expect(eq).toMatch(new RegExp(`has\\(${PRUNE}, \\{p\\d+:String\\}\\)`));
    expect(eq).toMatch(/Attr_http_route = \{p\d+:String\}/);
    expect(eq).not.toMatch(/SpanAttributes\[\{p\d+:String\}\] =/);
    // Presence is still the map's: a key sent with an empty value is not a missing key.
    expect(eq).toMatch(/mapContains\(SpanAttributes, \{p\d+:String\}\)/);
    expect(compile('span.http.route in ("/a", "/b")').sql).toMatch(new RegExp(`hasAny\\(${PRUNE}, \\{p\\d+:Array\\(String\\)\\}\\)`));
  });

  it('adds no index condition where it would not be a necessary one', () => {
    for (const q of ['span.http.route != "/users"', 'span.http.route =~ "^/u"', 'span.http.route contains "u"', 'span.http.route not in ("/a")', 'span.http.route = 200']) {
      const { sql } = compile(q);
      expect(sql).toContain('Attr_http_route');
      expect(sql).not.toContain('has(if(startsWith(Attr_http_route');
      expect(sql).not.toContain('hasAny(if(startsWith(Attr_http_route');
    }
  });

  it('uses the map for other scopes, other keys, and when no column is configured', () => {
    expect(compile('resource.http.route = "/users"').sql).not.toContain('Attr_');
    expect(compile('span.http.method = "GET"').sql).not.toContain('Attr_');
    expect(compileSearch(parseSearch('span.http.route = "/users"'), { ...BOUNDS, hot: new HotColumns([]) }).sql).not.toContain('Attr_');
  });

  it('Jaeger tag search reads the column for the span side of a hot tag', () => {
    const expr = jaegerSearchExpr({ service: "svc", tags: [["http.route", "/users"]] });
    const { sql } = compileSearch(expr, BOUNDS);
    expect(sql).toMatch(/Attr_http_route = \{p\d+:String\}/);
    expect(sql).toMatch(/ResourceAttributes\[\{p\d+:String\}\]/);
  });
});
