import { encodeExportTraceResponse } from './response.js';

/**
 * ExportLogsServiceResponse. Its protobuf is the trace response's field for field
 * (partial_success = 1 { rejected_log_records = 1 (int64), error_message = 2 }), so the bytes
 * come from the same encoder; its JSON names the count `rejectedLogRecords`.
 */
export function encodeExportLogsResponse(rejectedRecords: number, errorMessage: string): Uint8Array {
  return encodeExportTraceResponse(rejectedRecords, errorMessage);
}

export interface ExportLogsServiceResponseJson {
  partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string };
}

export function exportLogsResponseJson(rejectedRecords: number, errorMessage: string): ExportLogsServiceResponseJson {
  if (!Number.isSafeInteger(rejectedRecords) || rejectedRecords < 0) throw new RangeError(`rejectedRecords must be a non-negative integer, got ${rejectedRecords}`);
  if (rejectedRecords === 0 && errorMessage === '') return {};
  const partialSuccess: NonNullable<ExportLogsServiceResponseJson['partialSuccess']> = {};
  if (rejectedRecords !== 0) partialSuccess.rejectedLogRecords = String(rejectedRecords);
  if (errorMessage !== '') partialSuccess.errorMessage = errorMessage;
  return { partialSuccess };
}
