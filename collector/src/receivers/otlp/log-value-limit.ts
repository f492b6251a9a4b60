import type { LogRecord } from '../../model/log-record.js';
import { limitHolder, type AttributeHolder, type ValueTruncation } from './value-limit.js';

/**
 * `storage.max_attribute_value_bytes` on log records, as limitAttributeValues does it on spans
 * (value-limit.ts): attribute values of records, resources and scopes cut, their original size
 * kept beside them, counted per service. The body is the record's message and is not cut (the
 * request's size limit bounds it).
 */
export function limitLogValues(records: readonly LogRecord[], maxBytes: number): ValueTruncation[] {
  const byService = new Map<string, number>();
  const seen = new Set<AttributeHolder>();
  const add = (service: string, n: number) => {
    if (n > 0) byService.set(service, (byService.get(service) ?? 0) + n);
  };
  for (const record of records) {
    const service = record.resource.serviceName;
    for (const shared of [record.resource, record.scope]) {
      if (seen.has(shared)) continue;
      seen.add(shared);
      add(service, limitHolder(shared, maxBytes));
    }
    add(service, limitHolder(record, maxBytes));
  }
  return [...byService].map(([service, values]) => ({ service, values }));
}
