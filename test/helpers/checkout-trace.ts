/**
 * A two-trace fixture with known self times, shared by the hotspots and flame end-to-end tests
 * (both compute self time the same way, so one fixture checks both).
 *
 * FIRST — shop POST /checkout 0-100 → Cart.total 10-50 and Cart.tax 30-60 (overlapping), audit
 *   90-140 (outlives the root); Cart.total → POST /charge client 20-40 → billing POST /charge
 *   21-39 → billing Card.charge 22-38.
 *   Self: root 100 − |[10,60] ∪ [90,100]| = 40; Cart.total 40 − 20 = 20; Cart.tax 30; audit 50;
 *   client 2; billing server 2; Card.charge 16. Total 160.
 * SECOND — shop GET /health 0-7: self 7.
 * Times are milliseconds after `T0_NS` (a minute ago).
 */
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './otlp-json.js';

export const FIRST = '7'.repeat(32);
export const SECOND = '8'.repeat(32);
export const MS = 1_000_000n;
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;
export const T0_NS = BigInt(Date.now() - 60_000) * MS;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const id = (n: number) => n.toString(16).padStart(16, '0');
const method = (namespace: string, fn: string) => [str('code.namespace', namespace), str('code.function.name', fn)];

function otlpSpan(traceId: string, spanId: number, parent: number, startMs: number, endMs: number, name: string, kind: number, attributes: OtlpKeyValue[] = []): OtlpSpan {
  return {
    traceId,
    spanId: id(spanId),
    parentSpanId: parent === 0 ? '' : id(parent),
    name,
    kind,
    startTimeUnixNano: String(T0_NS + BigInt(startMs) * MS),
    endTimeUnixNano: String(T0_NS + BigInt(endMs) * MS),
    attributes,
  };
}

function request(scope: string, byService: Record<string, OtlpSpan[]>): OtlpRequest {
  return {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: [str('service.name', service)] },
      scopeSpans: [{ scope: { name: scope }, spans }],
    })),
  };
}

/** The two OTLP/JSON requests of the fixture (FIRST, then SECOND), under instrumentation scope `scope`. */
export function checkoutRequests(scope: string): OtlpRequest[] {
  return [
    request(scope, {
      shop: [
        otlpSpan(FIRST, 1, 0, 0, 100, 'POST /checkout', SERVER),
        otlpSpan(FIRST, 2, 1, 10, 50, 'total', INTERNAL, method('com.shop.Cart', 'total')),
        otlpSpan(FIRST, 3, 1, 30, 60, 'tax', INTERNAL, method('com.shop.Cart', 'tax')),
        otlpSpan(FIRST, 4, 1, 90, 140, 'audit', INTERNAL),
        otlpSpan(FIRST, 5, 2, 20, 40, 'POST /charge', CLIENT),
      ],
      billing: [otlpSpan(FIRST, 6, 5, 21, 39, 'POST /charge', SERVER), otlpSpan(FIRST, 7, 6, 22, 38, 'charge', INTERNAL, method('com.bank.Card', 'charge'))],
    }),
    request(scope, { shop: [otlpSpan(SECOND, 1, 0, 0, 7, 'GET /health', SERVER)] }),
  ];
}
