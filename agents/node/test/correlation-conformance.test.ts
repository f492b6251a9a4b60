import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTextMapGetter, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { correlationOf } from '../src/correlation.js';
import { memoryPipeline } from './helpers/memory.js';

/** agents/conformance/correlation/ids.json: which incoming correlation IDs are taken as they are. */
interface Ids {
  accepted: string[];
  trimmed: { value: string; id: string }[];
  refused: string[];
}
const ids = JSON.parse(readFileSync(join(__dirname, '../../conformance/correlation/ids.json'), 'utf8')) as Ids;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const mem = memoryPipeline();
afterAll(() => mem.pipeline.shutdown());

function extract(headers: Record<string, string>): string | undefined {
  return correlationOf(propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
}

describe('correlation IDs: shared conformance cases', () => {
  it.each(ids.accepted)('accepts %s', (id) => {
    expect(extract({ 'x-request-id': id })).toBe(id);
    expect(extract({ 'x-correlation-id': id })).toBe(id);
  });

  it.each(ids.trimmed.map((c) => [c.value, c] as const))('trims %s', (_, c) => {
    expect(extract({ 'x-request-id': c.value })).toBe(c.id);
  });

  it.each(ids.refused)('refuses %s', (id) => {
    for (const header of ['x-request-id', 'x-correlation-id']) {
      const got = extract({ [header]: id });
      expect(got).not.toBe(id);
      expect(got).toMatch(UUID);
    }
    // Nor from baggage (percent-encoded, as the baggage format carries it).
    const got = extract({ baggage: `flowtrace.correlation_id=${encodeURIComponent(id)}` });
    expect(got).not.toBe(id);
    expect(got).toMatch(UUID);
  });
});
