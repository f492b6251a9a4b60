import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AssertAnswer } from '../../query/assert/spec.js';
import { UsageError } from '../command.js';
import { evaluateUntilSettled } from './assert.js';
import { formatAssertAnswer } from './assert-format.js';
import { junitXml } from './assert-junit.js';
import { assertionsFromFlags, checkRequest, expectationOf, parseAssertFile, scopeQuery } from './assert-spec.js';
import { paintFor } from './terminal.js';

const HOSTILE = '</failure><script>alert(1)</script> & "quotes" \u0001\u001b[31m';

const ANSWER: AssertAnswer = {
  results: [
    { name: 'checkout never fails', select: '{ name = "GET /checkout" }', expectation: 'every matching trace matches NOT { status = error }', passed: true, observed: '0 of 2 matching traces do not', matchedTraces: 2, evidence: [] },
    {
      name: `list is fast ${HOSTILE}`,
      select: '{ name = "OrderService.list" }',
      expectation: 'p99 < 50ms',
      passed: false,
      observed: 'p99 = 79.4ms over 2 spans',
      matchedTraces: 2,
      evidence: [{ traceId: '0af7651916cd43dd8448eb211c80319c', detail: `span 00f067aa0ba902b7 orders: ${HOSTILE} took 80ms` }],
    },
  ],
  scope: { traces: 3, spans: 11 },
  window: { startUnixNano: '1800000000000000000', endUnixNano: '1800000003600000000' },
};

/** The XML parsed by Python's expat parser, reduced to what the Ant JUnit schema requires. */
function parseXml(xml: string): { root: string; suites: Array<{ attrs: Record<string, string>; children: string[]; cases: Array<{ attrs: Record<string, string>; failure?: { attrs: Record<string, string>; text: string } }> }> } {
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
def case(c):
    f = c.find('failure')
    return {'attrs': c.attrib, **({'failure': {'attrs': f.attrib, 'text': f.text or ''}} if f is not None else {})}
print(json.dumps({'root': root.tag, 'suites': [{'attrs': s.attrib, 'children': [c.tag for c in s], 'cases': [case(c) for c in s.findall('testcase')]} for s in root]}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml }).toString());
}

describe('assertion file and flags', () => {
  it('reads every expectation form of the YAML file', () => {
    const file = parseAssertFile(
      `scope: resource.ci.run.id = "42"
since: 30m
assertions:
  - name: checkout never fails
    select: '{ name = "GET /checkout" }'
    expect: { every: 'NOT { status = error }' }
  - { name: no errors, select: 'status = error', expect: none }
  - { name: some orders, select: 'name = "GET /orders"', expect: some }
  - { name: three orders, select: 'name = "GET /orders"', expect: { count: ">= 3" } }
  - { name: exactly two, select: 'name = "GET /orders"', expect: { count: 2 } }
  - { name: fast list, select: '{ name = "OrderService.list" }', expect: { p99: "< 50ms" } }
  - { name: fast enough, select: '{ name = x }', expect: { max: "<= 1.5s" } }
  - { name: no n+1, select: '{ name = "GET /orders" }', expect: { no_insight: n_plus_one } }
`,
      'a.yaml',
    );
    expect(file.scope).toBe('resource.ci.run.id = "42"');
    expect(file.since).toBe('30m');
    expect(file.assertions.map((a) => a.expect)).toEqual([
      { kind: 'every', query: 'NOT { status = error }' },
      { kind: 'none' },
      { kind: 'count', op: '>=', value: 1 },
      { kind: 'count', op: '>=', value: 3 },
      { kind: 'count', op: '=', value: 2 },
      { kind: 'duration', stat: 'p99', op: '<', boundNano: '50000000' },
      { kind: 'duration', stat: 'max', op: '<=', boundNano: '1500000000' },
      { kind: 'noInsight', rule: 'n-plus-one' },
    ]);
    expect(() => checkRequest({ assertions: file.assertions })).not.toThrow();
  });

  it('names the problem in a bad file: position, key, expectation', () => {
    expect(() => parseAssertFile('assertions: [\n  - bad', 'f.yaml')).toThrow(/^f\.yaml:\d+:\d+: /);
    expect(() => parseAssertFile('assertion: []', 'f.yaml')).toThrow('f.yaml: unknown key "assertion" (expected assertions, scope, since)');
    expect(() => parseAssertFile('assertions:\n  - { select: x, expect: { p99: fast } }', 'f.yaml')).toThrow('f.yaml: assertions[0].expect: p99: expected a duration such as 250ms');
    expect(() => parseAssertFile('assertions:\n  - { select: x, expect: { no_insight: slow } }', 'f.yaml')).toThrow(/no_insight: expected one of n_plus_one, sequential_calls/);
    expect(() => parseAssertFile('assertions:\n  - { select: x, expect: maybe }', 'f.yaml')).toThrow(/expected none, some, or one of/);
    expect(() => parseAssertFile('assertions:\n  - { select: x, expect: none, extra: 1 }', 'f.yaml')).toThrow('unknown key "extra"');
    // Aliases are refused: a billion-laughs file cannot blow up.
    expect(() => parseAssertFile('a: &a [1]\nassertions: *a', 'f.yaml')).toThrow(UsageError);
  });

  it('turns flags into assertions, the bound before the first colon', () => {
    const specs = assertionsFromFlags({ none: ['status = error'], p99: ['50ms:{ name = "a:b" }'], count: ['>=3:service = api'], 'no-insight': ['n_plus_one:{ name = x }'] });
    expect(specs.map((s) => [s.name, s.select, s.expect.kind])).toEqual([
      ['none: status = error', 'status = error', 'none'],
      ['count >= 3: service = api', 'service = api', 'count'],
      ['p99 < 50000000ns: { name = "a:b" }', '{ name = "a:b" }', 'duration'],
      ['no n-plus-one: { name = x }', '{ name = x }', 'noInsight'],
    ]);
    expect(() => assertionsFromFlags({ p99: ['{ name = x }'] })).toThrow('--p99: expected 50ms:QUERY');
    expect(() => expectationOf({ p95: '< soon' })).toThrow(UsageError);
  });

  it('writes the run scope as a query, quoting the ID as the grammar reads it', () => {
    expect(scopeQuery({ 'run-id': 'gh-1/2 "x" \\' })).toBe('resource.ci.run.id = "gh-1/2 \\"x\\" \\\\"');
    expect(scopeQuery({ 'run-id': '7', 'run-attribute': 'cicd.pipeline.run.id' })).toBe('resource.cicd.pipeline.run.id = "7"');
    expect(scopeQuery({ 'correlation-id': 'c-1' })).toBe('span.flowtrace.correlation_id = "c-1"');
    expect(() => scopeQuery({ 'run-id': '1', scope: 'x = 1' })).toThrow('give one of --scope, --run-id and --correlation-id');
    expect(() => scopeQuery({ 'run-id': 'a\nb' })).toThrow(UsageError);
  });

  it('checks the request as the collector will (names must identify test cases)', () => {
    const a = { name: 'x', select: 'service = a', expect: { kind: 'none' } };
    expect(() => checkRequest({ assertions: [a, a] })).toThrow('assertions[1].name: "x" is used twice');
    expect(() => checkRequest({ assertions: [{ ...a, expect: { kind: 'count', op: '~', value: 1 } }] })).toThrow('assertions[0].expect.op: expected one of');
    expect(() => checkRequest({ assertions: [] })).toThrow('at least one');
    const insight = (i: number) => ({ name: `n${i}`, select: 'service = a', expect: { kind: 'noInsight', rule: 'n-plus-one' } });
    expect(() => checkRequest({ assertions: [0, 1, 2, 3, 4].map(insight) })).not.toThrow();
    expect(() => checkRequest({ assertions: [0, 1, 2, 3, 4, 5].map(insight) })).toThrow('at most 5 noInsight assertions per request');
  });
});

describe('JUnit XML', () => {
  const xml = junitXml({ answer: ANSWER, finishedAt: new Date('2026-12-07T03:00:00.123Z'), seconds: 1.5, scope: 'resource.ci.run.id = "42"', hostname: 'ci-runner' });

  it('parses, one testcase per assertion, in the Ant JUnit schema shape', () => {
    const doc = parseXml(xml);
    expect(doc.root).toBe('testsuites');
    expect(doc.suites).toHaveLength(1);
    const suite = doc.suites[0]!;
    expect(suite.attrs).toEqual({ package: 'flowtrace', id: '0', name: 'flowtrace assert', tests: '2', failures: '1', errors: '0', skipped: '0', time: '1.500', timestamp: '2026-12-07T03:00:00', hostname: 'ci-runner' });
    // The schema's sequence: properties, testcase*, system-out, system-err.
    expect(suite.children).toEqual(['properties', 'testcase', 'testcase', 'system-out', 'system-err']);
    expect(suite.cases.map((c) => [c.attrs.name, c.attrs.classname, c.attrs.time, c.failure !== undefined])).toEqual([
      ['checkout never fails', 'flowtrace.assert', '0', false],
      [expect.stringContaining('list is fast </failure><script>'), 'flowtrace.assert', '0', true],
    ]);
  });

  it('puts the evidence in the failure, hostile text kept as text', () => {
    const failure = parseXml(xml).suites[0]!.cases[1]!.failure!;
    expect(failure.attrs).toEqual({ message: 'p99 < 50ms: p99 = 79.4ms over 2 spans', type: 'AssertionFailed' });
    expect(failure.text).toContain('trace 0af7651916cd43dd8448eb211c80319c');
    expect(failure.text).toContain('</failure><script>alert(1)</script> & "quotes" \ufffd\ufffd[31m');
    expect(xml).not.toContain('<script>');
  });
});

describe('text output', () => {
  it('names failing traces; control characters from spans are shown, not sent to the terminal', () => {
    const text = formatAssertAnswer(ANSWER, paintFor({ stdout: process.stdout, env: { NO_COLOR: '1' } }), 'span count settled after 2.0s');
    expect(text).toContain('PASS  checkout never fails');
    expect(text).toContain('FAIL  list is fast');
    expect(text).toContain('trace 0af7651916cd43dd8448eb211c80319c');
    expect(text).toContain('2 assertions: 1 passed, 1 failed (3 traces, 11 spans in scope; span count settled after 2.0s)');
    expect(text).not.toContain('\u001b');
  });
});

describe('waiting for late spans', () => {
  /** A clock that moves only when the loop waits, and the counts a collector would give as spans arrive. */
  async function run(spansSeen: number[], timeoutMs: number, settleMs: number) {
    let t = 0;
    let counts = 0;
    let evaluations = 0;
    const at = (i: number) => ({ ...ANSWER, scope: { traces: 1, spans: spansSeen[Math.min(i, spansSeen.length - 1)]! } });
    const result = await evaluateUntilSettled(
      async () => ({ ...at(counts), results: ANSWER.results.slice(0, ++evaluations) }),
      async () => ({ ...at(counts++), results: [] }),
      timeoutMs,
      settleMs,
      { now: () => t, wait: async (ms) => void (t += ms) },
    );
    return { ...result, counts, evaluations, t };
  }

  it('asks once without a timeout', async () => {
    expect(await run([0, 5], 0, 2000)).toMatchObject({ counts: 0, evaluations: 1, note: '' });
  });

  it('polls the count until it has stayed the same for the settle time, then evaluates', async () => {
    // 0, 3, 7 spans arrive, then no more: settled 2 s after the 7 was first seen; the assertions evaluated once, then.
    const r = await run([0, 3, 7, 7, 7, 7, 7, 7, 7], 30_000, 2000);
    expect(r.answer.scope.spans).toBe(7);
    expect(r.t).toBe(3000);
    expect(r.evaluations).toBe(1);
    expect(r.answer.results).toHaveLength(1);
    expect(r.note).toBe('span count settled after 3.0s');
  });

  it('stops at the timeout and says the spans had not settled, or that none came', async () => {
    const growing = await run(Array.from({ length: 100 }, (_, i) => i + 1), 5000, 2000);
    expect(growing.t).toBe(5000);
    expect(growing.note).toBe('still changing after 5s (--timeout): evaluated what had arrived');
    expect((await run([0], 3000, 1000)).note).toBe('no span in scope after 3s (--timeout)');
  });
});
