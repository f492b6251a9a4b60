import { isSpanContextValid, trace, type Context } from '@opentelemetry/api';
import { correlationOf, CORRELATION_BAGGAGE_KEY } from './correlation.js';

/** What a log line is given (agents/conformance/logs/correlation.json): each field only when it has a value. */
export interface LogFields {
  trace_id?: string;
  span_id?: string;
  [CORRELATION_BAGGAGE_KEY]?: string;
}

export const TRACE_ID_FIELD = 'trace_id';
export const SPAN_ID_FIELD = 'span_id';
/** Added by the official instrumentations next to the IDs; not part of the contract's fields. */
export const TRACE_FLAGS_FIELD = 'trace_flags';

/**
 * The active span's IDs (sampled or not, never the invalid all-zero ones) and
 * the request's correlation ID, which outlives a lost trace context in baggage.
 */
export function logFieldsOf(ctx: Context): LogFields {
  const fields: LogFields = {};
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext !== undefined && isSpanContextValid(spanContext)) {
    fields.trace_id = spanContext.traceId;
    fields.span_id = spanContext.spanId;
  }
  const correlationId = correlationOf(ctx);
  if (correlationId !== undefined) fields[CORRELATION_BAGGAGE_KEY] = correlationId;
  return fields;
}

/** ` trace_id=… span_id=… flowtrace.correlation_id=…`, the present fields in that order; '' when none. */
export function plainSuffix(fields: LogFields): string {
  let out = '';
  if (fields.trace_id !== undefined) out += ` ${TRACE_ID_FIELD}=${fields.trace_id}`;
  if (fields.span_id !== undefined) out += ` ${SPAN_ID_FIELD}=${fields.span_id}`;
  const correlationId = fields[CORRELATION_BAGGAGE_KEY];
  if (correlationId !== undefined) out += ` ${CORRELATION_BAGGAGE_KEY}=${correlationId}`;
  return out;
}
