import type { OtlpKeyValue } from './otlp-json.js';

/** One OTLP/JSON log record (IDs in hex, times in ns as decimal strings). */
export interface OtlpLogRecord {
  timeUnixNano: string;
  severityNumber?: number;
  severityText?: string;
  body?: { stringValue: string };
  attributes?: OtlpKeyValue[];
  traceId?: string;
  spanId?: string;
}

/** The records of one service, as an OTLP/JSON ExportLogsServiceRequest body part. */
export function resourceLogs(service: string, records: OtlpLogRecord[], resource: OtlpKeyValue[] = [], scope = 'flowtrace-test') {
  return { resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, ...resource] }, scopeLogs: [{ scope: { name: scope }, logRecords: records }] };
}

/** POST /v1/logs (OTLP/JSON): the HTTP status and partial_success.rejected_log_records. */
export async function postLogs(httpEndpoint: string, request: { resourceLogs: unknown[] }, headers: Record<string, string> = {}): Promise<{ status: number; rejected: number; message: string }> {
  const res = await fetch(`${httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(request) });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, rejected: 0, message: text };
  const json = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } };
  return { status: 200, rejected: Number(json.partialSuccess?.rejectedLogRecords ?? 0), message: json.partialSuccess?.errorMessage ?? '' };
}
