import type { Attributes, InstrumentationScope, Resource, Span } from '../../collector/src/model/span.js';

/** pdata's `SpanKind.String()` and `StatusCode.String()`, which the OpenTelemetry ClickHouse exporter stores. */
export const SPAN_KIND_NAMES = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'] as const;
export const STATUS_CODE_NAMES = ['Unset', 'Ok', 'Error'] as const;

/**
 * The columns written, in the order `encodeRowBinary` writes them, with their RowBinary
 * types (LowCardinality(String) is written as String). Resource and scope columns are
 * grouped so that each resource's and scope's bytes are made once per batch and copied.
 */
export const INSERT_COLUMNS: ReadonlyArray<[name: string, type: string]> = [
  ['Timestamp', 'DateTime64(9)'],
  ['TraceId', 'String'],
  ['SpanId', 'String'],
  ['ParentSpanId', 'String'],
  ['TraceState', 'String'],
  ['SpanName', 'String'],
  ['SpanKind', 'String'],
  ['ServiceName', 'String'],
  ['ResourceAttributes', 'Map(String, String)'],
  ['ResourceSchemaUrl', 'String'],
  ['ResourceDroppedAttributesCount', 'UInt32'],
  ['ScopeName', 'String'],
  ['ScopeVersion', 'String'],
  ['ScopeAttributes', 'Map(String, String)'],
  ['ScopeSchemaUrl', 'String'],
  ['ScopeDroppedAttributesCount', 'UInt32'],
  ['SpanAttributes', 'Map(String, String)'],
  ['Duration', 'UInt64'],
  ['StatusCode', 'String'],
  ['StatusMessage', 'String'],
  ['Events.Timestamp', 'Array(DateTime64(9))'],
  ['Events.Name', 'Array(String)'],
  ['Events.Attributes', 'Array(Map(String, String))'],
  ['Links.TraceId', 'Array(String)'],
  ['Links.SpanId', 'Array(String)'],
  ['Links.TraceState', 'Array(String)'],
  ['Links.Attributes', 'Array(Map(String, String))'],
  ['SpanFlags', 'UInt32'],
  ['DroppedAttributesCount', 'UInt32'],
  ['DroppedEventsCount', 'UInt32'],
  ['DroppedLinksCount', 'UInt32'],
  ['EventsDroppedAttributesCount', 'Array(UInt32)'],
  ['LinksFlags', 'Array(UInt32)'],
  ['LinksDroppedAttributesCount', 'Array(UInt32)'],
  ['AttributeKinds', 'Map(String, String)'],
  ['EndBeforeStart', 'UInt64'],
];

/** The columns of rows queued by collectors before `EndBeforeStart` (queue record format 1). */
export const INSERT_COLUMNS_V1 = INSERT_COLUMNS.filter(([name]) => name !== 'EndBeforeStart');

/**
 * Encodes spans as ClickHouse RowBinary for {@link INSERT_COLUMNS}. Binary because the
 * engine parses it about four times faster than JSONEachRow (bench: bench/ingest.ts);
 * hand-written because it is the hot path: strings go straight from JS into one growing
 * buffer, and each resource's and scope's bytes are encoded once per batch.
 */
export function encodeRowBinary(spans: readonly Span[]): Buffer {
  const w = new RowBinaryWriter(spans.length * 640);
  const resources = new Map<Resource, Buffer>();
  const scopes = new Map<InstrumentationScope, Buffer>();
  for (const s of spans) {
    let resource = resources.get(s.resource);
    if (resource === undefined) resources.set(s.resource, (resource = encodeResource(s.resource)));
    let scope = scopes.get(s.scope);
    if (scope === undefined) scopes.set(s.scope, (scope = encodeScope(s.scope)));
    writeSpanRow(w, s, resource, scope);
  }
  return w.finish();
}

/**
 * One span's row, with its resource's and scope's columns given as bytes already encoded
 * (encodeResource / encodeScope); shared with the protobuf transcoder's slow path
 * (receivers/otlp/rowbinary-transcoder.ts).
 */
export function writeSpanRow(w: RowBinaryWriter, s: Span, resource: Buffer, scope: Buffer): void {
  w.int64(s.startTimeUnixNano);
  w.string(s.traceId);
  w.string(s.spanId);
  w.string(s.parentSpanId);
  w.string(s.traceState);
  w.string(s.name);
  w.string(SPAN_KIND_NAMES[s.kind] ?? '');
  w.bytes(resource);
  w.bytes(scope);
  w.map(s.attributes);
  w.uint64(s.endTimeUnixNano > s.startTimeUnixNano ? s.endTimeUnixNano - s.startTimeUnixNano : 0n);
  w.string(STATUS_CODE_NAMES[s.statusCode] ?? '');
  w.string(s.statusMessage);
  const events = s.events;
  w.varint(events.length);
  for (const e of events) w.int64(e.timeUnixNano);
  w.varint(events.length);
  for (const e of events) w.string(e.name);
  w.varint(events.length);
  for (const e of events) w.map(e.attributes);
  const links = s.links;
  w.varint(links.length);
  for (const l of links) w.string(l.traceId);
  w.varint(links.length);
  for (const l of links) w.string(l.spanId);
  w.varint(links.length);
  for (const l of links) w.string(l.traceState);
  w.varint(links.length);
  for (const l of links) w.map(l.attributes);
  w.uint32(s.flags);
  w.uint32(s.droppedAttributesCount);
  w.uint32(s.droppedEventsCount);
  w.uint32(s.droppedLinksCount);
  w.varint(events.length);
  for (const e of events) w.uint32(e.droppedAttributesCount);
  w.varint(links.length);
  for (const l of links) w.uint32(l.flags);
  w.varint(links.length);
  for (const l of links) w.uint32(l.droppedAttributesCount);
  writeAttributeKinds(w, s);
  // An end sent before the start is kept (Duration is 0 for it): the span reads back as sent.
  w.uint64(s.endTimeUnixNano < s.startTimeUnixNano ? s.startTimeUnixNano - s.endTimeUnixNano : 0n);
}

/**
 * The `AttributeKinds` map (see schema.ts): every non-string attribute's OTLP kind, keyed
 * `span:<key>`, `resource:<key>`, `scope:<key>`, `event.<i>:<key>`, `link.<i>:<key>`.
 * Written entry by entry, without building the map as an object.
 */
function writeAttributeKinds(w: RowBinaryWriter, s: Span): void {
  const countAt = w.beginMap();
  let count = w.mapEntries(s.attributeKinds, 'span:') + w.mapEntries(s.resource.attributeKinds, 'resource:') + w.mapEntries(s.scope.attributeKinds, 'scope:');
  for (let i = 0; i < s.events.length; i++) count += w.mapEntries(s.events[i]!.attributeKinds, `event.${i}:`);
  for (let i = 0; i < s.links.length; i++) count += w.mapEntries(s.links[i]!.attributeKinds, `link.${i}:`);
  w.endMap(countAt, count);
}

/** A resource's columns (ServiceName … ResourceDroppedAttributesCount), made once per batch. */
export function encodeResource(r: Resource): Buffer {
  const w = new RowBinaryWriter(256);
  w.string(r.serviceName);
  w.map(r.attributes);
  w.string(r.schemaUrl);
  w.uint32(r.droppedAttributesCount);
  return w.finish();
}

/** A scope's columns (ScopeName … ScopeDroppedAttributesCount), made once per batch. */
export function encodeScope(s: InstrumentationScope): Buffer {
  const w = new RowBinaryWriter(128);
  w.string(s.name);
  w.string(s.version);
  w.map(s.attributes);
  w.string(s.schemaUrl);
  w.uint32(s.droppedAttributesCount);
  return w.finish();
}

/** Little-endian RowBinary primitives over one buffer that doubles when full. */
export class RowBinaryWriter {
  // Protected for RowBinaryCopier (rowbinary-copier.ts), which copies strings from a request.
  protected buf: Buffer;
  protected pos = 0;

  /** `initial`: a buffer to write into (a reused scratch), grown like any other when full. */
  constructor(initial: number | Buffer) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(Math.max(64, initial)) : initial;
  }

  protected ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(n: number): void {
    this.ensure(5);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  /**
   * A length-prefixed UTF-8 string, written after a one-byte length slot: strings under
   * 128 bytes (nearly all) need no second pass; longer ones are moved right. Short ASCII
   * strings are copied by a JS loop, which beats a native call per string (profiled).
   */
  string(s: string, prefix = ''): void {
    const chars = prefix.length + s.length;
    this.ensure(chars * 3 + 5);
    const buf = this.buf;
    const start = this.pos + 1;
    if (chars < 0x80) {
      let at = start;
      let ascii = true;
      for (let i = 0; i < prefix.length; i++) buf[at++] = prefix.charCodeAt(i);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        buf[at++] = c;
      }
      if (ascii) {
        buf[this.pos] = chars;
        this.pos = at;
        return;
      }
    }
    let n = prefix === '' ? 0 : buf.write(prefix, start, 'latin1');
    n += buf.write(s, start + n, 'utf8');
    if (n < 0x80) {
      buf[this.pos] = n;
      this.pos = start + n;
      return;
    }
    const lengthBytes = n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
    buf.copyWithin(this.pos + lengthBytes, start, start + n);
    let len = n;
    while (len > 0x7f) {
      buf[this.pos++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    buf[this.pos++] = len;
    this.pos += n;
  }

  map(m: Attributes): void {
    const countAt = this.beginMap();
    let count = 0;
    for (const key in m) {
      this.string(key);
      this.string(m[key]!);
      count++;
    }
    this.endMap(countAt, count);
  }

  /** Opens a map: a one-byte count slot, filled by `endMap`. */
  beginMap(): number {
    this.ensure(5);
    return this.pos++;
  }

  /** Map entries `prefix + key` → value, for a map begun with `beginMap`; returns how many. */
  mapEntries(m: Record<string, string> | undefined, keyPrefix: string): number {
    let count = 0;
    for (const key in m) {
      this.string(key, keyPrefix);
      this.string(m[key]!);
      count++;
    }
    return count;
  }

  endMap(countAt: number, count: number): void {
    if (count < 0x80) {
      this.buf[countAt] = count;
      return;
    }
    // Rare (128+ attributes): rewrite with a longer count.
    const body = Buffer.from(this.buf.subarray(countAt + 1, this.pos));
    this.pos = countAt;
    this.varint(count);
    this.ensure(body.length);
    body.copy(this.buf, this.pos);
    this.pos += body.length;
  }

  uint8(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = n & 0xff;
  }

  uint32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.pos += 4;
  }

  int64(n: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(n, this.pos);
    this.pos += 8;
  }

  uint64(n: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(n, this.pos);
    this.pos += 8;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
