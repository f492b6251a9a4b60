import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../model/log-record.js';
import { RecordedDrops } from '../pipeline/drops.testing.js';
import { redactConfigSchema } from '../processors/redact/config.js';
import { LogMetrics } from './log-metrics.js';
import { LogRedaction } from './log-redaction.js';

function record(body: string, attributes: Record<string, string>, resource: LogRecord['resource']): LogRecord {
  return {
    resource,
    scope: { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    timeUnixNano: 1n,
    observedTimeUnixNano: 1n,
    severityNumber: 9,
    severityText: 'INFO',
    body,
    attributes,
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
  };
}

describe('log redaction', () => {
  it('applies the redact processor rules to the body and every attribute, counts them, and never changes a shared resource', async () => {
    const drops = new RecordedDrops();
    const registry = new Registry();
    const redaction = new LogRedaction(redactConfigSchema.parse({}), drops, new LogMetrics(registry));
    const resource = { attributes: { 'service.name': 'checkout', owner: 'ops@example.com' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'checkout' };
    const records = [
      record('login failed for alice@example.com', { password: 'hunter2', 'flowtrace.correlation_id': 'corr-1', note: 'plain' }, resource),
      record('nothing to see', {}, resource),
    ];
    redaction.redact(records);
    const [first, second] = records;
    expect(first!.body).toBe('login failed for [REDACTED:email]');
    expect(first!.attributes).toMatchObject({ password: '[REDACTED:key]', 'flowtrace.correlation_id': 'corr-1', note: 'plain' });
    expect(first!.resource.attributes.owner).toBe('[REDACTED:email]');
    expect(resource.attributes.owner).toBe('ops@example.com'); // the shared original is untouched
    expect(second!.resource).toBe(first!.resource); // one copy per original
    expect(first!.attributes['flowtrace.redacted']).toBe('3');
    expect(first!.attributes['flowtrace.redacted.keys']!.split(',').sort()).toEqual(['body', 'password', 'resource.owner']);
    expect(first!.attributeKinds?.['flowtrace.redacted']).toBe('int');
    // The second record carries the masked resource attribute too: it counts once per stored record.
    expect(second!.attributes['flowtrace.redacted']).toBe('1');
    expect(drops.altered['logs/redact/masked']).toBe(4);
    expect(await registry.getSingleMetricAsString('flowtrace_logs_redactions_total')).toContain('kind="email",action="mask"} 2');
  });
});
