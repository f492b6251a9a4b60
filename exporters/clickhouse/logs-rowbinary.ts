import { storedTime, type LogRecord } from '../../collector/src/model/log-record.js';
import type { InstrumentationScope, Resource } from '../../collector/src/model/span.js';
import { encodeResource, encodeScope, RowBinaryWriter } from './rowbinary.js';

/**
 * The `otel_logs` columns written, in the order `encodeLogRows` writes them, with their RowBinary
 * types. `TimestampTime` (DEFAULT) and `CorrelationId` (MATERIALIZED) are the engine's to fill.
 * The resource and scope groups are the span rows' (rowbinary.ts's encodeResource/encodeScope:
 * the same columns under the same names), made once per batch.
 */
export const LOG_INSERT_COLUMNS: ReadonlyArray<[name: string, type: string]> = [
  ['Timestamp', 'DateTime64(9)'],
  ['TraceId', 'String'],
  ['SpanId', 'String'],
  ['TraceFlags', 'UInt8'],
  ['SeverityText', 'String'],
  ['SeverityNumber', 'UInt8'],
  ['Body', 'String'],
  ['ServiceName', 'String'],
  ['ResourceAttributes', 'Map(String, String)'],
  ['ResourceSchemaUrl', 'String'],
  ['ResourceDroppedAttributesCount', 'UInt32'],
  ['ScopeName', 'String'],
  ['ScopeVersion', 'String'],
  ['ScopeAttributes', 'Map(String, String)'],
  ['ScopeSchemaUrl', 'String'],
  ['ScopeDroppedAttributesCount', 'UInt32'],
  ['LogAttributes', 'Map(String, String)'],
  ['EventName', 'String'],
  ['ObservedTimestamp', 'DateTime64(9)'],
  ['Flags', 'UInt32'],
  ['DroppedAttributesCount', 'UInt32'],
  ['AttributeKinds', 'Map(String, String)'],
];

/** The key of the body's kind in `AttributeKinds` (attribute keys there all carry a `<where>:` prefix). */
export const BODY_KIND_KEY = 'body';

/** Log records as RowBinary rows for LOG_INSERT_COLUMNS; rows concatenate, as queue records must. */
export function encodeLogRows(records: readonly LogRecord[]): Buffer {
  const w = new RowBinaryWriter(records.length * 512);
  const resources = new Map<Resource, Buffer>();
  const scopes = new Map<InstrumentationScope, Buffer>();
  for (const r of records) {
    let resource = resources.get(r.resource);
    if (resource === undefined) resources.set(r.resource, (resource = encodeResource(r.resource)));
    let scope = scopes.get(r.scope);
    if (scope === undefined) scopes.set(r.scope, (scope = encodeScope(r.scope)));
    w.int64(storedTime(r));
    w.string(r.traceId);
    w.string(r.spanId);
    w.uint8(r.flags & 0xff);
    w.string(r.severityText);
    w.uint8(r.severityNumber);
    w.string(r.body);
    w.bytes(resource);
    w.bytes(scope);
    w.map(r.attributes);
    w.string(r.eventName);
    w.int64(r.observedTimeUnixNano);
    w.uint32(r.flags);
    w.uint32(r.droppedAttributesCount);
    const countAt = w.beginMap();
    let kinds = w.mapEntries(r.attributeKinds, 'log:') + w.mapEntries(r.resource.attributeKinds, 'resource:') + w.mapEntries(r.scope.attributeKinds, 'scope:');
    if (r.bodyKind !== undefined) kinds += w.mapEntries({ [BODY_KIND_KEY]: r.bodyKind }, '');
    w.endMap(countAt, kinds);
  }
  return w.finish();
}
