import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { encodeExportTraceResponse, exportTraceResponseJson } from './response.js';

// The official exporters' own response parsers read what the receiver answers.
describe('encodeExportTraceResponse', () => {
  it('is empty when every span was accepted', () => {
    const bytes = encodeExportTraceResponse(0, '');
    expect(bytes).toHaveLength(0);
    expect(ProtobufTraceSerializer.deserializeResponse(bytes)).toEqual({});
  });

  it('carries the rejected count and the message in partial_success', () => {
    const bytes = encodeExportTraceResponse(3, "span 1 of scope 'x': trace_id has 5 bytes, want 16");
    expect(ProtobufTraceSerializer.deserializeResponse(bytes)).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: "span 1 of scope 'x': trace_id has 5 bytes, want 16" },
    });
  });

  it('encodes large counts, multi-byte lengths and UTF-8 messages', () => {
    const message = 'žluťoučký kůň '.repeat(20);
    const bytes = encodeExportTraceResponse(2 ** 40 + 5, message);
    expect(ProtobufTraceSerializer.deserializeResponse(bytes)).toEqual({
      partialSuccess: { rejectedSpans: 2 ** 40 + 5, errorMessage: message },
    });
  });

  it('sends a warning with a zero count as the spec allows, omitting the default field', () => {
    const bytes = encodeExportTraceResponse(0, 'attributes were truncated');
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x0a, 27, 0x12, 25]);
    expect(ProtobufTraceSerializer.deserializeResponse(bytes)).toEqual({
      partialSuccess: { errorMessage: 'attributes were truncated' },
    });
  });

  it('refuses counts that are not non-negative integers', () => {
    expect(() => encodeExportTraceResponse(-1, '')).toThrow(RangeError);
    expect(() => encodeExportTraceResponse(1.5, '')).toThrow(RangeError);
  });
});

describe('exportTraceResponseJson', () => {
  it('is {} when every span was accepted', () => {
    expect(exportTraceResponseJson(0, '')).toStrictEqual({});
  });

  it('writes rejectedSpans as a decimal string, as protobuf JSON writes int64', () => {
    const json = exportTraceResponseJson(2, 'two bad spans');
    expect(json).toStrictEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: 'two bad spans' } });
    const parsed = JsonTraceSerializer.deserializeResponse(new TextEncoder().encode(JSON.stringify(json)));
    expect(Number(parsed.partialSuccess?.rejectedSpans)).toBe(2);
  });

  it('omits default fields of a warning', () => {
    expect(exportTraceResponseJson(0, 'warning')).toStrictEqual({ partialSuccess: { errorMessage: 'warning' } });
  });
});
