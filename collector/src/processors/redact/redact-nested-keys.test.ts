import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { encodeRowBinary } from '../../../../exporters/clickhouse/rowbinary.js';
import type { Span } from '../../model/span.js';
import { RecordedDrops } from '../../pipeline/drops.testing.js';
import { takesRows, type RowBatch, type RowConsumer } from '../../pipeline/row-batch.js';
import type { ProcessorContext } from '../processor.js';
import { redactConfigSchema } from './config.js';
import { RedactProcessor } from './redact.js';
import { HASH_KEY, resource, scope, setup, span } from './redact-fixtures.js';

/** Key rules inside kvlist and array attribute values (the JSON text the span keeps), as for log bodies. */
describe('redact processor: key rules inside kvlist and array attributes', () => {
  const SECRETS = ['tok-4f1e9a', 'sess-77b2', 'sid=c00k1e', 'rc-9d8e', 'sc-5a5a', 'ev-1234', 'ln-abcd'];

  function nestedSpan(): Span {
    const res = { ...resource({ 'service.name': 'shop', 'deploy.ctx': '{"auth":{"cookie":"rc-9d8e"}}' }), attributeKinds: { 'deploy.ctx': 'kvlist' as const } };
    const scp = { ...scope({ 'lib.cfg': '{"apiSecret":"sc-5a5a","retries":3}' }), attributeKinds: { 'lib.cfg': 'kvlist' as const } };
    return span({
      resource: res,
      scope: scp,
      attributes: {
        ctx: '{"user":{"accessToken":"tok-4f1e9a","id":9223372036854775807,"name":"jane"},"n":1.5}',
        items: '[{"sessionId":"sess-77b2","qty":2},{"keep":"x"}]',
        headers: '{"Set-Cookie":"sid=c00k1e","Content-Type":"text/html"}',
        plain: 'ok',
      },
      attributeKinds: { ctx: 'kvlist', items: 'array', headers: 'kvlist' },
      events: [{ timeUnixNano: 1n, name: 'login', attributes: { payload: '{"refreshToken":"ev-1234"}' }, attributeKinds: { payload: 'kvlist' }, droppedAttributesCount: 0 }],
      links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: '', flags: 0, attributes: { ctx: '[{"jsessionid":"ln-abcd"}]' }, attributeKinds: { ctx: 'array' }, droppedAttributesCount: 0 }],
    });
  }

  it('masks nested secrets in span, resource, scope, event and link values; keeps the rest and the kind; counts them', async () => {
    const { processor, next, drops } = setup();
    const original = nestedSpan();
    const sharedResource = structuredClone(original.resource);
    await processor.consume([original]);
    const [s] = next.all as [Span];

    expect(s.attributes.ctx).toBe('{"user":{"accessToken":"[REDACTED:key]","id":9223372036854775807,"name":"jane"},"n":1.5}');
    expect(s.attributes.items).toBe('[{"sessionId":"[REDACTED:key]","qty":2},{"keep":"x"}]');
    expect(s.attributes.headers).toBe('{"Set-Cookie":"[REDACTED:key]","Content-Type":"text/html"}');
    expect(s.attributes.plain).toBe('ok');
    expect(s.attributeKinds).toEqual({ ctx: 'kvlist', items: 'array', headers: 'kvlist', 'flowtrace.redacted': 'int' });
    expect(s.resource.attributes['deploy.ctx']).toBe('{"auth":{"cookie":"[REDACTED:key]"}}');
    expect(s.resource.attributeKinds).toEqual({ 'deploy.ctx': 'kvlist' });
    expect(s.resource.serviceName).toBe('shop');
    expect(s.scope.attributes['lib.cfg']).toBe('{"apiSecret":"[REDACTED:key]","retries":3}');
    expect(s.events[0]!.attributes.payload).toBe('{"refreshToken":"[REDACTED:key]"}');
    expect(s.events[0]!.attributeKinds).toEqual({ payload: 'kvlist' });
    expect(s.links[0]!.attributes.ctx).toBe('[{"jsessionid":"[REDACTED:key]"}]');
    expect(s.links[0]!.attributeKinds).toEqual({ ctx: 'array' });
    // Still parseable as their kind.
    expect(JSON.parse(s.attributes.ctx!)).toMatchObject({ user: { accessToken: '[REDACTED:key]', name: 'jane' }, n: 1.5 });
    expect(Array.isArray(JSON.parse(s.attributes.items!))).toBe(true);
    // The shared resource the decoder made is copied, not changed.
    expect(original.resource).not.toBe(sharedResource);
    expect(sharedResource.attributes['deploy.ctx']).toContain('rc-9d8e');

    // Nothing of it reaches the rows the storage queue holds.
    const row = encodeRowBinary([s]).toString('utf8');
    for (const secret of SECRETS) expect(row).not.toContain(secret);

    expect(s.attributes['flowtrace.redacted']).toBe('7');
    expect(s.attributes['flowtrace.redacted.keys']!.split(',').sort()).toEqual(
      ['resource.deploy.ctx', 'scope.lib.cfg', 'ctx', 'items', 'headers', 'event[login].payload', 'link.ctx'].sort(),
    );
    expect(drops.altered).toEqual({ 'redact/masked': 7 });
  });

  it('hashes as the top-level key would, and masks where the key rule drops', async () => {
    const { redact, registry } = setup({ hash_key: HASH_KEY, keys: { extra_deny: [{ key: 'email', action: 'hash' }, { key: 'sessionId', action: 'drop' }] } });
    const s = await redact(
      span({
        attributes: { email: 'jane@example.org', sessionId: 's-1', ctx: '{"email":"jane@example.org","sessionId":"s-1","big":18446744073709551615}' },
        attributeKinds: { ctx: 'kvlist' },
      }),
    );
    expect(s.attributes.email).toMatch(/^\[HASHED:key:[0-9a-f]{16}\]$/);
    expect(s.attributes.sessionId).toBeUndefined();
    expect(s.attributes.ctx).toBe(`{"email":"${s.attributes.email}","sessionId":"[REDACTED:key]","big":18446744073709551615}`);
    expect(s.attributeKinds).toEqual({ ctx: 'kvlist', 'flowtrace.redacted': 'int' });
    const metrics = await registry.metrics();
    expect(metrics).toContain('flowtrace_processor_redact_redactions_total{kind="key",action="hash"} 2');
    expect(metrics).toContain('flowtrace_processor_redact_redactions_total{kind="key",action="mask"} 1');
  });

  it('is never passed over by the storage-rows path: it takes span objects even when the stage after it takes rows', () => {
    const rowsNext: RowConsumer = { takesRows: true, consume: async () => {}, consumeRows: async (_batch: RowBatch) => {} };
    const context = { logger: pino({ level: 'silent' }), registry: new Registry(), drops: new RecordedDrops() } as unknown as ProcessorContext;
    const processor = new RedactProcessor(redactConfigSchema.parse({}), rowsNext, context);
    expect(takesRows(rowsNext)).toBe(true);
    expect(takesRows(processor)).toBe(false);
  });
});
