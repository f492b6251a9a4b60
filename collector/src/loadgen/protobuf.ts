/**
 * Just enough of the protobuf wire format to write OTLP ExportTraceServiceRequest messages
 * (opentelemetry/proto/collector/trace/v1): the load generator encodes a few template requests
 * once at start-up, so this favours clarity over speed.
 */
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;

export class Message {
  private readonly parts: Buffer[] = [];

  private varint(value: number): this {
    const bytes: number[] = [];
    let v = value;
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  private tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** A length-delimited field: bytes, a UTF-8 string or a nested message. */
  bytes(field: number, content: Buffer | string | Message): this {
    const bytes = content instanceof Message ? content.finish() : typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    this.tag(field, LEN).varint(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  /** A non-negative integer below 2^53 (enums, int64 attribute values). */
  uint(field: number, value: number): this {
    return this.tag(field, VARINT).varint(value);
  }

  /** A fixed64 field from its 8 little-endian bytes (the generator writes marker bytes here). */
  fixed64(field: number, bytes: Buffer): this {
    if (bytes.length !== 8) throw new Error('fixed64: expected 8 bytes');
    this.tag(field, FIXED64);
    this.parts.push(bytes);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export type AttributeValue = string | number | boolean;

/** common.v1.KeyValue: key 1, value 2 (AnyValue: string 1, bool 2, int 3). */
export function keyValue(key: string, value: AttributeValue): Message {
  const any = new Message();
  if (typeof value === 'string') any.bytes(1, value);
  else if (typeof value === 'boolean') any.uint(2, value ? 1 : 0);
  else any.uint(3, value);
  return new Message().bytes(1, key).bytes(2, any);
}
