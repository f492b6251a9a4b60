/**
 * OTLP/JSON lets a client write 64-bit integers as JSON numbers (not only as decimal strings).
 * A raw request with such numbers, past 2^53 where a double rounds them, must be stored
 * exactly: times, and int values wherever they sit (span, resource, scope, event and link
 * attributes, inside arrays and kvlists).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, getJson, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { SpanView } from '../collector/src/query/span-view.js';

let collector: RunningCollector;
beforeAll(async () => {
  collector = await startCollector();
}, 90_000);
afterAll(cleanup);

/** Now in nanoseconds, with low digits a double cannot hold (its step is 256 ns here). */
const START = (BigInt(Date.now()) - 60_000n) * 1_000_000n + 123_456_789n;
const END = START + 1_000_001n;
const EVENT = START + 500_003n;
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const BIG = '9007199254740993'; // 2^53 + 1
const NEGATIVE = '-9223372036854775807';
const MAX = '9223372036854775807';

async function postJson(body: string): Promise<{ status: number; payload: Record<string, unknown> }> {
  const res = await fetch(`${collector.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, payload: (await res.json()) as Record<string, unknown> };
}

describe('OTLP/JSON 64-bit integers sent as JSON numbers are stored exactly', () => {
  it('keeps every digit of times and int values, whatever the JSON number form', async () => {
    // Written by hand: JSON.stringify cannot produce numbers past 2^53.
    const exponentStart = `${String(START)[0]}.${String(START).slice(1)}e${String(START).length - 1}`; // same value, exponent form
    const body = `{"resourceSpans":[{
      "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"exact"}},{"key":"res.id","value":{"intValue":${BIG}}}]},
      "scopeSpans":[{"scope":{"name":"s","attributes":[{"key":"scope.id","value":{"intValue":${NEGATIVE}}}]},"spans":[
        {"traceId":"${TRACE_ID}","spanId":"0000000000000001","name":"numbers","kind":2,
         "startTimeUnixNano":${START},"endTimeUnixNano":${END},
         "attributes":[
           {"key":"big","value":{"intValue":${BIG}}},
           {"key":"max","value":{"intValue":${MAX}}},
           {"key":"negative","value":{"intValue":${NEGATIVE}}},
           {"key":"exponent","value":{"intValue":1.2345678901234567e18}},
           {"key":"fraction.zero","value":{"intValue":9007199254740993.000}},
           {"key":"list","value":{"arrayValue":{"values":[{"intValue":${BIG}},{"intValue":-${BIG}},{"doubleValue":0.30000000000000004}]}}},
           {"key":"map","value":{"kvlistValue":{"values":[{"key":"id","value":{"intValue":${MAX}}}]}}},
           {"key":"double","value":{"doubleValue":9007199254740993}}
         ],
         "events":[{"timeUnixNano":${EVENT},"name":"e","attributes":[{"key":"event.id","value":{"intValue":${BIG}}}]}],
         "links":[{"traceId":"${TRACE_ID}","spanId":"0000000000000009","attributes":[{"key":"link.id","value":{"intValue":${BIG}}}]}]},
        {"traceId":"${TRACE_ID}","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"exponent times",
         "startTimeUnixNano":${exponentStart},"endTimeUnixNano":"${END}"}
      ]}]}]}`;
    const sent = await postJson(body);
    expect(sent).toEqual({ status: 200, payload: {} });

    const trace = await waitFor(async () => {
      const t = await getJson<{ spans: SpanView[] }>(`${collector.apiUrl}/api/traces/${TRACE_ID}`);
      return t && t.spans.length === 2 ? t : undefined;
    }, 'the trace to be stored');
    const byName = new Map(trace.spans.map((s) => [s.name, s]));
    const span = byName.get('numbers')!;
    expect(span.startTimeUnixNano).toBe(String(START));
    expect(span.endTimeUnixNano).toBe(String(END));
    expect(span.events[0]!.timeUnixNano).toBe(String(EVENT));
    expect(span.attributes).toMatchObject({
      big: BIG,
      max: MAX,
      negative: NEGATIVE,
      exponent: '1234567890123456700',
      'fraction.zero': BIG,
      double: 9007199254740992, // a double field takes the nearest double, as JSON.parse does
    });
    expect(span.resource.attributes['res.id']).toBe(BIG);
    expect(span.scope.attributes['scope.id']).toBe(NEGATIVE);
    expect(span.events[0]!.attributes['event.id']).toBe(BIG);
    expect(span.links[0]!.attributes['link.id']).toBe(BIG);
    // Arrays and kvlists come back through JSON.parse in the query API: read their stored text.
    const [stored] = await sql<{ list: string; map: string }>(
      collector.apiUrl,
      `SELECT SpanAttributes['list'] AS list, SpanAttributes['map'] AS map FROM otel_traces WHERE TraceId = '${TRACE_ID}' AND SpanName = 'numbers'`,
    );
    expect(stored).toEqual({ list: `[${BIG},-${BIG},0.30000000000000004]`, map: `{"id":${MAX}}` });
    expect(byName.get('exponent times')!.startTimeUnixNano).toBe(String(START));
  });

  it('refuses a time with a fraction, naming the field, instead of rounding it', async () => {
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"0000000000000003","name":"x",
      "startTimeUnixNano":${START}.5,"endTimeUnixNano":${END}}]}]}]}`;
    const res = await postJson(body);
    expect(res.status).toBe(400);
    expect(res.payload.message).toBe(`resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected an unsigned 64-bit integer, got ${START}.5`);
  });
});
