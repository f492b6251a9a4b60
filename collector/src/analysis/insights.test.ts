import { describe, expect, it } from 'vitest';
import type { SpanView } from '../query/span-view.js';
import { normalisePath, normaliseStatement } from './calls.js';
import { insights, N_PLUS_ONE_MIN_CALLS, type Insight, type InsightRule } from './insights.js';
import { MS, span } from './trace-fixture.testing.js';

const of = (found: Insight[], rule: InsightRule) => found.filter((i) => i.rule === rule);

function select(id: string, parent: string, startMs: number, userId: number): SpanView {
  return span(id, parent, startMs, startMs + 2, {
    kind: 'Client',
    name: 'SELECT shop.orders',
    attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.query.text': `SELECT * FROM orders WHERE user_id = ${userId} AND status = 'open'` },
  });
}

function get(id: string, parent: string, startMs: number, endMs: number, host: string, route: string, extra: Record<string, unknown> = {}): SpanView {
  return span(id, parent, startMs, endMs, { kind: 'Client', name: `GET ${route}`, attributes: { 'http.request.method': 'GET', 'server.address': host, 'url.template': route, ...extra } });
}

describe('N+1', () => {
  it('finds 10 identical SELECTs (different values) under one parent, and names all 10', () => {
    const trace = [span('root', '', 0, 100, { kind: 'Server' }), ...Array.from({ length: 10 }, (_, i) => select(`q${i}`, 'root', 5 + 3 * i, 1000 + i))];
    const found = of(insights(trace), 'n-plus-one');
    expect(found).toHaveLength(1);
    expect(found[0]!.spanIds).toEqual(Array.from({ length: 10 }, (_, i) => `q${i}`));
    expect(found[0]!.parentSpanId).toBe('root');
    expect(found[0]!.evidence).toMatchObject({ calls: 10, callType: 'db', operation: 'SELECT * FROM orders WHERE user_id = ? AND status = ?' });
    expect(found[0]!.impactNs).toBe(20n * MS);
  });

  it(`stays quiet below ${N_PLUS_ONE_MIN_CALLS} calls, and for different statements`, () => {
    const few = [span('root', '', 0, 100), ...Array.from({ length: N_PLUS_ONE_MIN_CALLS - 1 }, (_, i) => select(`q${i}`, 'root', 5 + 3 * i, i))];
    expect(of(insights(few), 'n-plus-one')).toEqual([]);
    const mixed = [
      span('root', '', 0, 100),
      ...Array.from({ length: 10 }, (_, i) =>
        span(`q${i}`, 'root', 5 + 3 * i, 7 + 3 * i, { attributes: { 'db.system.name': 'postgresql', 'db.query.text': `SELECT * FROM table_${String.fromCharCode(97 + i)}` } }),
      ),
    ];
    expect(of(insights(mixed), 'n-plus-one')).toEqual([]);
  });

  it('sees through traced methods: one repository call per row, each SELECT under its own method span', () => {
    const trace: SpanView[] = [span('root', '', 0, 100, { kind: 'Server' }), span('list', 'root', 1, 99, { attributes: { 'code.function.name': 'OrderService.list' } })];
    for (let i = 0; i < 6; i++) {
      trace.push(span(`m${i}`, 'list', 5 + 10 * i, 9 + 10 * i, { attributes: { 'code.function.name': 'OrderRepository.findById' } }));
      trace.push(select(`q${i}`, `m${i}`, 6 + 10 * i, i));
    }
    const found = of(insights(trace), 'n-plus-one');
    expect(found).toHaveLength(1);
    expect(found[0]!.parentSpanId).toBe('root');
    expect(found[0]!.spanCount).toBe(6);
  });

  it('groups HTTP calls by route template, or by the URL path with its IDs replaced', () => {
    const trace = [
      span('root', '', 0, 100),
      ...Array.from({ length: 5 }, (_, i) =>
        span(`h${i}`, 'root', 5 + 5 * i, 9 + 5 * i, { kind: 'Client', attributes: { 'http.request.method': 'GET', 'url.full': `http://users:8080/users/${100 + i}?x=1` } }),
      ),
    ];
    const [found] = of(insights(trace), 'n-plus-one');
    expect(found!.evidence).toMatchObject({ callType: 'http', target: 'users:8080', operation: 'GET /users/{id}' });
  });
});

describe('sequential calls', () => {
  it('flags back-to-back read-only calls to different services that could run together', () => {
    const trace = [span('root', '', 0, 100), get('users', 'root', 10, 40, 'users', '/users/{id}'), get('prices', 'root', 40, 70, 'prices', '/prices')];
    const found = of(insights(trace), 'sequential-calls');
    expect(found).toHaveLength(1);
    expect(found[0]!.spanIds).toEqual(['users', 'prices']);
    expect(found[0]!.impactNs).toBe(30n * MS);
    expect(found[0]!.evidence).toMatchObject({ calls: 2, savingShareOfParent: 0.3 });
  });

  it('stays quiet when the calls overlap, write, fail, leave a gap, repeat, or have work between them', () => {
    const cases: Record<string, SpanView[]> = {
      overlap: [get('a', 'root', 10, 40, 'users', '/u'), get('b', 'root', 30, 70, 'prices', '/p')],
      write: [get('a', 'root', 10, 40, 'users', '/u'), span('b', 'root', 40, 70, { kind: 'Client', attributes: { 'http.request.method': 'POST', 'server.address': 'orders', 'url.template': '/orders' } })],
      failed: [get('a', 'root', 10, 40, 'users', '/u', { 'http.response.status_code': 503 }), get('b', 'root', 40, 70, 'prices', '/p')],
      gap: [get('a', 'root', 10, 40, 'users', '/u'), get('b', 'root', 45, 75, 'prices', '/p')],
      repeat: [get('a', 'root', 10, 40, 'users', '/u'), get('b', 'root', 40, 70, 'users', '/u')],
      work: [get('a', 'root', 10, 40, 'users', '/u'), span('m', 'root', 40, 40.5, { attributes: { 'code.function.name': 'merge' } }), get('b', 'root', 40.5, 70, 'prices', '/p')],
    };
    for (const [name, children] of Object.entries(cases)) {
      expect(of(insights([span('root', '', 0, 100), ...children]), 'sequential-calls'), name).toEqual([]);
    }
    // And when parallelising would save under 10% of the parent.
    const small = [span('root', '', 0, 1000), get('a', 'root', 10, 40, 'users', '/u'), get('b', 'root', 40, 70, 'prices', '/p')];
    expect(of(insights(small), 'sequential-calls')).toEqual([]);
  });
});

describe('error origin', () => {
  it('names the deepest error span first, with its exception and the error spans it propagated through', () => {
    const trace = [
      span('root', '', 0, 100, { error: 'request failed' }),
      span('a', 'root', 10, 90, { error: '' }),
      span('b', 'a', 20, 30, { exception: { type: 'java.sql.SQLTimeoutException', message: 'query timed out after 5s' } }),
      span('c', 'root', 91, 95, { error: 'cache miss' }),
      span('ok', 'a', 30, 40),
    ];
    const found = of(insights(trace), 'error-origin');
    expect(found.map((f) => f.spanIds[0])).toEqual(['b', 'c']);
    expect(found[0]!.spanIds).toEqual(['b', 'a', 'root']);
    expect(found[0]!.evidence).toMatchObject({ depth: 2, exceptionType: 'java.sql.SQLTimeoutException', exceptionMessage: 'query timed out after 5s', propagatedThrough: 2 });
    expect(found[0]!.summary).toContain('SQLTimeoutException: query timed out after 5s');
    expect(found[1]!.evidence).toMatchObject({ depth: 1, statusMessage: 'cache miss', exceptionType: '' });
  });

  it('finds nothing in a trace without errors', () => {
    expect(of(insights([span('root', '', 0, 10), span('a', 'root', 1, 2)]), 'error-origin')).toEqual([]);
  });
});

describe('retries', () => {
  it('finds repeated calls to the same target after failures, and the time they added', () => {
    const trace = [
      span('root', '', 0, 100),
      get('try1', 'root', 10, 20, 'pay', '/charge', { 'http.response.status_code': 503 }),
      get('try2', 'root', 25, 35, 'pay', '/charge', { 'http.response.status_code': 503 }),
      get('try3', 'root', 45, 55, 'pay', '/charge', { 'http.response.status_code': 200 }),
    ];
    const found = of(insights(trace), 'retries');
    expect(found).toHaveLength(1);
    expect(found[0]!.spanIds).toEqual(['try1', 'try2', 'try3']);
    expect(found[0]!.evidence).toMatchObject({ attempts: 3, failedAttempts: 2, succeeded: true });
    expect(found[0]!.impactNs).toBe(35n * MS);
  });

  it('does not call repeated successful or parallel calls retries', () => {
    const ok = [span('root', '', 0, 100), get('a', 'root', 10, 20, 'pay', '/charge'), get('b', 'root', 25, 35, 'pay', '/charge')];
    expect(of(insights(ok), 'retries')).toEqual([]);
    const hedged = [span('root', '', 0, 100), get('a', 'root', 10, 20, 'pay', '/charge', { 'http.response.status_code': 500 }), get('b', 'root', 15, 35, 'pay', '/charge')];
    expect(of(insights(hedged), 'retries')).toEqual([]);
  });
});

describe('slow method', () => {
  it('names a method holding at least half of the self time', () => {
    const trace = [
      span('root', '', 0, 100),
      span('parse', 'root', 0, 70, { attributes: { 'code.function.name': 'parse', 'code.namespace': 'com.shop.Json' } }),
      span('save', 'root', 70, 90, { attributes: { 'code.function.name': 'com.shop.Repo.save' } }),
    ];
    const found = of(insights(trace), 'slow-method');
    expect(found).toHaveLength(1);
    expect(found[0]!.spanIds).toEqual(['parse']);
    expect(found[0]!.evidence).toMatchObject({ method: 'com.shop.Json.parse', share: 0.7, calls: 1 });
  });

  it('stays quiet when no method reaches the share', () => {
    const trace = [span('root', '', 0, 100), span('parse', 'root', 0, 40, { attributes: { 'code.function.name': 'parse' } }), span('save', 'root', 40, 80, { attributes: { 'code.function.name': 'save' } })];
    expect(of(insights(trace), 'slow-method')).toEqual([]);
  });
});

describe('normalisation', () => {
  it('replaces literal values in statements and IDs in paths', () => {
    expect(normaliseStatement("SELECT *  FROM t WHERE id IN (1, 2, 3) AND name = 'o''brien' AND x = $1 AND t2.y = -4.5e3")).toBe(
      'SELECT * FROM t WHERE id IN (?) AND name = ? AND x = ? AND t2.y = ?',
    );
    expect(normalisePath('/users/42/orders/3fa85f64-5717-4562-b3fc-2c963f66afa6/items')).toBe('/users/{id}/orders/{id}/items');
  });
});
