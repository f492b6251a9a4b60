/**
 * The OTLP ExportTraceServiceResponse, in protobuf and in OTLP/JSON. A fully accepted
 * request gets an empty response; otherwise `partial_success` carries the number of
 * rejected spans and why (OTLP spec, "Partial Success"). A zero count with a message is a
 * warning, which the spec allows too.
 */

/** ExportTraceServiceResponse as OTLP/JSON: int64 as a decimal string, default fields omitted. */
export interface ExportTraceServiceResponseJson {
  partialSuccess?: {
    rejectedSpans?: string;
    errorMessage?: string;
  };
}

export function encodeExportTraceResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  checkCount(rejectedSpans);
  if (rejectedSpans === 0 && errorMessage === '') return new Uint8Array(0);
  const partial: number[] = [];
  if (rejectedSpans !== 0) {
    partial.push(0x08); // 1 rejected_spans (int64, varint)
    writeVarint(partial, rejectedSpans);
  }
  if (errorMessage !== '') {
    const text = new TextEncoder().encode(errorMessage);
    partial.push(0x12); // 2 error_message (LEN)
    writeVarint(partial, text.length);
    for (const byte of text) partial.push(byte);
  }
  const response: number[] = [0x0a]; // 1 partial_success (LEN)
  writeVarint(response, partial.length);
  return Uint8Array.from(response.concat(partial));
}

export function exportTraceResponseJson(rejectedSpans: number, errorMessage: string): ExportTraceServiceResponseJson {
  checkCount(rejectedSpans);
  if (rejectedSpans === 0 && errorMessage === '') return {};
  const partialSuccess: NonNullable<ExportTraceServiceResponseJson['partialSuccess']> = {};
  // Protobuf's JSON mapping writes int64 as a string; OTLP receivers accept strings and numbers.
  if (rejectedSpans !== 0) partialSuccess.rejectedSpans = String(rejectedSpans);
  if (errorMessage !== '') partialSuccess.errorMessage = errorMessage;
  return { partialSuccess };
}

function checkCount(rejectedSpans: number): void {
  if (!Number.isSafeInteger(rejectedSpans) || rejectedSpans < 0) {
    throw new RangeError(`rejectedSpans must be a non-negative integer, got ${rejectedSpans}`);
  }
}

/** A non-negative safe integer as a protobuf varint (division keeps it exact past 2^32). */
function writeVarint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}
