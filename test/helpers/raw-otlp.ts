import { WireWriter, hexBytes } from '../../collector/src/receivers/otlp/otlp-fixtures.js';

/** A span with exactly the times given, as no SDK would send it (SDKs clamp times). */
export interface RawSpan {
  traceId: string;
  spanId: string;
  name: string;
  start: bigint;
  end: bigint;
  events?: bigint[];
}

/** ExportTraceServiceRequest as protobuf: one resource (`service.name`), one scope. */
export function rawProtobuf(service: string, spans: RawSpan[]): Uint8Array {
  const scopeSpans = new WireWriter().field(1, new WireWriter().field(1, 'raw.scope'));
  for (const s of spans) {
    const span = new WireWriter().field(1, hexBytes(s.traceId)).field(2, hexBytes(s.spanId)).field(5, s.name);
    span.tag(7, 1).fixed64(s.start).tag(8, 1).fixed64(s.end);
    for (const time of s.events ?? []) span.field(11, new WireWriter().tag(1, 1).fixed64(time).field(2, 'event'));
    scopeSpans.field(2, span);
  }
  const resource = new WireWriter().field(1, new WireWriter().field(1, 'service.name').field(2, new WireWriter().field(1, service)));
  return new WireWriter().field(1, new WireWriter().field(1, resource).field(2, scopeSpans)).finish();
}

/** The same request as OTLP/JSON text (times as decimal strings, as protobuf JSON writes them). */
export function rawJson(service: string, spans: RawSpan[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'raw.scope' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              name: s.name,
              kind: 1,
              startTimeUnixNano: s.start.toString(),
              endTimeUnixNano: s.end.toString(),
              events: (s.events ?? []).map((time) => ({ timeUnixNano: time.toString(), name: 'event' })),
            })),
          },
        ],
      },
    ],
  });
}

export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
