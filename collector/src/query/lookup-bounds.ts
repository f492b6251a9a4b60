/**
 * A trace's time bounds from the trace-ID lookup table (`<spans>_trace_id_ts`), as SQL over its
 * rows for one or more trace IDs, for narrowing a scan of the span table to
 * `Timestamp >= start AND Timestamp <= end`.
 *
 * FlowTrace's own lookup table keeps `Start`/`End` as DateTime64(9): exact. A table the
 * OpenTelemetry Collector's ClickHouse exporter created keeps them as `DateTime` (whole seconds,
 * the view's min/max cut down to the second), and FlowTrace keeps such a table as it is (its
 * sorting key holds `Start`, whose type cannot be altered in place): there `End` may be up to a
 * second before the trace's last span, so it is widened to the last nanosecond of its second.
 * `Start` needs nothing: cut down, it is at or before the first span. Both come out as
 * DateTime64(9), whatever the column type, so `toUnixTimestamp64Nano` and DateTime64 parameters work.
 */
export const LOOKUP_START = 'toDateTime64(min(Start), 9)';

export const LOOKUP_END = `if(toTypeName(max(End)) = 'DateTime64(9)', toDateTime64(max(End), 9), toDateTime64(max(End), 9) + toIntervalNanosecond(999999999))`;
