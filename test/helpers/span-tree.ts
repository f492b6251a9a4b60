/** Reading a stored trace in end-to-end tests: one span by name, and a span's ancestors. */
import type { SpanView } from '../../collector/src/query/span-view.js';

/** The one span named `name`; throws, listing the trace, when there is none or several. */
export function spanNamed(spans: SpanView[], name: string): SpanView {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length} in: ${spans.map((s) => `${s.serviceName}/${s.name}`).join(', ')}`);
  return found[0]!;
}

/** The span's parent, grandparent… up to the root, as far as they are in `spans`. */
export function ancestors(spans: SpanView[], span: SpanView): SpanView[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const out: SpanView[] = [];
  for (let p = byId.get(span.parentSpanId); p !== undefined; p = byId.get(p.parentSpanId)) out.push(p);
  return out;
}
