/**
 * Span → one line of OTLP/JSON: an `ExportTraceServiceRequest` holding exactly that span, with
 * its resource and scope (the protobuf JSON mapping as OTLP/HTTP JSON uses it: hex IDs, 64-bit
 * integers and times as decimal strings, enums as numbers, fields at their default left out).
 * So each line stands alone: it can be grepped, split, POSTed to any OTLP/HTTP `/v1/traces`
 * endpoint or fed to `flowtrace trace import`, and the collector's own decoder reads it back to
 * the very same span model.
 *
 * Typed values are rebuilt from the model's strings and kinds (model/span.ts), as the OTLP
 * exporter's any-value.ts does for protobuf, with the same limits inside arrays and kvlists.
 */
import type { AttributeKinds, Attributes, InstrumentationScope, Resource, Span, ValueKind } from '../../collector/src/model/span.js';

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | string }
  | { bytesValue: string }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;
interface KeyValue {
  key: string;
  value: AnyValue;
}

const INT64 = /^-?\d{1,19}$/;

function isInt64(text: string): boolean {
  if (!INT64.test(text)) return false;
  const v = BigInt(text);
  return BigInt.asIntN(64, v) === v;
}

/** A double as protobuf JSON writes it: a number, or a string for -0, NaN and ±Infinity. */
function jsonDouble(v: number): number | string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0 && 1 / v < 0) return '-0';
  return v;
}

/** The model keeps doubles in their shortest form, or pdata's error texts for NaN and ±Inf. */
function parseDouble(text: string): number | undefined {
  switch (text) {
    case 'json: unsupported value: NaN':
      return NaN;
    case 'json: unsupported value: +Inf':
      return Infinity;
    case 'json: unsupported value: -Inf':
      return -Infinity;
    case '':
      return undefined;
  }
  const v = Number(text);
  return v === v ? v : undefined;
}

export function anyValue(text: string, kind: ValueKind | undefined): AnyValue {
  switch (kind) {
    case undefined:
      return { stringValue: text };
    case 'bool':
      if (text === 'true' || text === 'false') return { boolValue: text === 'true' };
      break;
    case 'int':
      if (isInt64(text)) return { intValue: text };
      break;
    case 'double': {
      const v = parseDouble(text);
      if (v !== undefined) return { doubleValue: jsonDouble(v) };
      break;
    }
    case 'bytes':
      return { bytesValue: text };
    case 'array':
    case 'kvlist': {
      // pdata rendered '' for a value with NaN or ±Inf inside: the kind remains, the values are gone.
      if (text === '') return kind === 'array' ? { arrayValue: { values: [] } } : { kvlistValue: { values: [] } };
      if (text[0] === (kind === 'array' ? '[' : '{')) {
        try {
          return new GoJson(text).document();
        } catch (err) {
          if (!(err instanceof SyntaxError)) throw err;
        }
      }
      break;
    }
    case 'empty':
      return {};
  }
  // A value that does not parse as its kind (a processor changed it and kept the kind): a string, not lost.
  return { stringValue: text };
}

/** Deepest nesting followed (the decoders refuse deeper values anyway). */
const MAX_DEPTH = 100;

/**
 * Go's `json.Marshal` of an array or kvlist → AnyValue, keeping every number's text (JSON.parse
 * would round integers past 2^53): an integral literal within int64 is an int, anything else
 * (and `-0`) a double; `null` an empty value.
 */
class GoJson {
  private pos = 0;
  constructor(private readonly text: string) {}

  document(): AnyValue {
    const v = this.value(0);
    this.space();
    if (this.pos !== this.text.length) throw new SyntaxError('trailing characters');
    return v;
  }

  private space(): void {
    while (this.pos < this.text.length && ' \n\r\t'.includes(this.text[this.pos]!)) this.pos++;
  }

  private value(depth: number): AnyValue {
    if (depth > MAX_DEPTH) throw new SyntaxError('nested too deeply');
    this.space();
    const c = this.text[this.pos];
    if (c === '"') return { stringValue: this.string() };
    if (c === '[') {
      this.pos++;
      const values: AnyValue[] = [];
      this.space();
      if (this.text[this.pos] === ']') this.pos++;
      else
        for (;;) {
          values.push(this.value(depth + 1));
          if (this.punct(',', ']')) break;
        }
      return { arrayValue: { values } };
    }
    if (c === '{') {
      this.pos++;
      const values: KeyValue[] = [];
      this.space();
      if (this.text[this.pos] === '}') this.pos++;
      else
        for (;;) {
          this.space();
          if (this.text[this.pos] !== '"') throw new SyntaxError(`expected a key at ${this.pos}`);
          const key = this.string();
          this.space();
          if (this.text[this.pos++] !== ':') throw new SyntaxError(`expected : at ${this.pos}`);
          values.push({ key, value: this.value(depth + 1) });
          if (this.punct(',', '}')) break;
        }
      return { kvlistValue: { values } };
    }
    for (const [word, v] of [['true', { boolValue: true }], ['false', { boolValue: false }], ['null', {}]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) throw new SyntaxError(`unexpected character at ${this.pos}`);
    this.pos += m[0].length;
    if (m[0] !== '-0' && !/[.eE]/.test(m[0]) && isInt64(m[0])) return { intValue: m[0] };
    return { doubleValue: jsonDouble(Number(m[0])) };
  }

  /** `more` (consumed, false) or `close` (consumed, true); anything else is an error. */
  private punct(more: string, close: string): boolean {
    this.space();
    const c = this.text[this.pos++];
    if (c === more) return false;
    if (c === close) return true;
    throw new SyntaxError(`expected ${more} or ${close} at ${this.pos - 1}`);
  }

  private string(): string {
    // From the opening quote to the closing one, escapes included: JSON.parse decodes it exactly.
    let i = this.pos + 1;
    for (;;) {
      const c = this.text[i];
      if (c === undefined) throw new SyntaxError('unterminated string');
      if (c === '\\') i += 2;
      else if (c === '"') break;
      else i++;
    }
    const s = JSON.parse(this.text.slice(this.pos, i + 1)) as string;
    this.pos = i + 1;
    return s;
  }
}

export function keyValues(attributes: Attributes, kinds: AttributeKinds | undefined): KeyValue[] {
  const out: KeyValue[] = [];
  for (const key of Object.keys(attributes)) {
    const kind = kinds !== undefined && Object.hasOwn(kinds, key) ? kinds[key] : undefined;
    out.push({ key, value: anyValue(attributes[key]!, kind) });
  }
  return out;
}

/** Fields equal to their proto3 default are left out, as protobuf JSON does. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === '' || v === 0 || v === undefined || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

function resourceJson(r: Resource): object {
  return compact({ attributes: keyValues(r.attributes, r.attributeKinds), droppedAttributesCount: r.droppedAttributesCount });
}

function scopeJson(s: InstrumentationScope): object {
  return compact({ name: s.name, version: s.version, attributes: keyValues(s.attributes, s.attributeKinds), droppedAttributesCount: s.droppedAttributesCount });
}

function spanJson(s: Span): object {
  return compact({
    traceId: s.traceId,
    spanId: s.spanId,
    traceState: s.traceState,
    parentSpanId: s.parentSpanId,
    flags: s.flags,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano.toString(),
    endTimeUnixNano: s.endTimeUnixNano.toString(),
    attributes: keyValues(s.attributes, s.attributeKinds),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) =>
      compact({ timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: keyValues(e.attributes, e.attributeKinds), droppedAttributesCount: e.droppedAttributesCount }),
    ),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) =>
      compact({ traceId: l.traceId, spanId: l.spanId, traceState: l.traceState, attributes: keyValues(l.attributes, l.attributeKinds), droppedAttributesCount: l.droppedAttributesCount, flags: l.flags }),
    ),
    droppedLinksCount: s.droppedLinksCount,
    status: s.statusCode === 0 && s.statusMessage === '' ? undefined : compact({ message: s.statusMessage, code: s.statusCode }),
  });
}

/**
 * The spans as lines (each ending in '\n'), one request per span. A resource's or scope's JSON
 * is made once per batch and shared by its spans' lines.
 */
export function encodeJsonLines(spans: readonly Span[]): string {
  const resources = new Map<Resource, string>();
  const scopes = new Map<InstrumentationScope, string>();
  let out = '';
  for (const span of spans) {
    let resource = resources.get(span.resource);
    if (resource === undefined) resources.set(span.resource, (resource = JSON.stringify(resourceJson(span.resource))));
    let scope = scopes.get(span.scope);
    if (scope === undefined) scopes.set(span.scope, (scope = JSON.stringify(scopeJson(span.scope))));
    const resourceSchema = span.resource.schemaUrl === '' ? '' : `,"schemaUrl":${JSON.stringify(span.resource.schemaUrl)}`;
    const scopeSchema = span.scope.schemaUrl === '' ? '' : `,"schemaUrl":${JSON.stringify(span.scope.schemaUrl)}`;
    out += `{"resourceSpans":[{"resource":${resource}${resourceSchema},"scopeSpans":[{"scope":${scope}${scopeSchema},"spans":[${JSON.stringify(spanJson(span))}]}]}]}\n`;
  }
  return out;
}
