import { describe, expect, it } from 'vitest';
import { StatusCode, type Span } from '../../model/span.js';
import { HASH_KEY, resource, scope, setup, span } from './redact-fixtures.js';

const CARD = '4111111111111111';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('redact processor', () => {
  it('passes spans through untouched when disabled', async () => {
    const { processor, next } = setup({ enabled: false });
    const s = span({ name: 'GET /u/a@b.com', attributes: { 'user.email': 'a@b.com', password: 'hunter2' } });
    const before = structuredClone(s);
    const batch = [s];
    await processor.consume(batch);
    expect(next.got[0]).toBe(batch);
    expect(s).toEqual(before);
  });

  it('hands the batch on unchanged and adds nothing when nothing matches', async () => {
    const { redact, registry } = setup();
    const s = span({ attributes: { 'http.route': '/orders/:id', 'url.path': '/orders/42', 'http.response.status_code': '200' }, attributeKinds: { 'http.response.status_code': 'int' } });
    const before = structuredClone(s);
    expect(await redact(s)).toEqual(before);
    expect(await registry.getSingleMetricAsString('flowtrace_processor_redact_spans_total')).toContain('flowtrace_processor_redact_spans_total 0');
  });

  it('redacts span attributes, method arguments and return values, and records what it did', async () => {
    const { redact } = setup();
    const s = await redact(
      span({
        attributes: {
          'enduser.contact': 'mail jane@example.org please',
          'payment.card': CARD,
          'flowtrace.args.0': JSON.stringify({ email: 'bob@example.com', qty: 2 }),
          'flowtrace.args.password': 'hunter2',
          'flowtrace.return': `{"card":"${CARD}","ok":true}`,
          'http.request.header.authorization': `Bearer ${JWT}`,
          'flowtrace.correlation_id': 'req-jane@example.org',
          'http.route': '/users/:email',
          'cache.hit': 'true',
        },
        attributeKinds: { 'payment.card': 'int', 'cache.hit': 'bool' },
      }),
    );
    expect(s.attributes).toEqual({
      'enduser.contact': 'mail [REDACTED:email] please',
      'payment.card': '[REDACTED:credit_card]',
      'flowtrace.args.0': '{"email":"[REDACTED:email]","qty":2}',
      'flowtrace.args.password': '[REDACTED:key]',
      'flowtrace.return': '{"card":"[REDACTED:credit_card]","ok":true}',
      'http.request.header.authorization': '[REDACTED:key]',
      // Correlation IDs are allowed: stitching joins on them.
      'flowtrace.correlation_id': 'req-jane@example.org',
      'http.route': '/users/:email',
      'cache.hit': 'true',
      'flowtrace.redacted': '6',
      'flowtrace.redacted.keys': 'enduser.contact,payment.card,flowtrace.args.0,flowtrace.args.password,flowtrace.return,http.request.header.authorization',
    });
    // The masked int is text now; the count is an int.
    expect(s.attributeKinds).toEqual({ 'cache.hit': 'bool', 'flowtrace.redacted': 'int' });
  });

  it('copies a shared resource and scope instead of changing them, once per original', async () => {
    const { processor, next, registry } = setup();
    const shared = resource({ 'service.name': 'shop', 'deployment.owner': 'ops@example.com' });
    const sharedScope = scope({ 'library.contact': 'dev@example.com' });
    const before = structuredClone(shared);
    const spans = [span({ resource: shared, scope: sharedScope }), span({ resource: shared, scope: sharedScope })];
    await processor.consume(spans);
    const [a, b] = next.all as [Span, Span];
    expect(shared).toEqual(before);
    expect(sharedScope.attributes['library.contact']).toBe('dev@example.com');
    expect(a.resource).not.toBe(shared);
    expect(a.resource).toBe(b.resource);
    expect(a.resource.attributes).toEqual({ 'service.name': 'shop', 'deployment.owner': '[REDACTED:email]' });
    expect(a.resource.serviceName).toBe('shop');
    expect(a.scope.attributes['library.contact']).toBe('[REDACTED:email]');
    expect(a.scope).toBe(b.scope);
    for (const s of [a, b]) {
      expect(s.attributes['flowtrace.redacted']).toBe('2');
      expect(s.attributes['flowtrace.redacted.keys']).toBe('resource.deployment.owner,scope.library.contact');
    }
    // Each redaction happened once; both spans carry one.
    const metrics = await registry.metrics();
    expect(metrics).toContain('flowtrace_processor_redact_redactions_total{kind="email",action="mask"} 2');
    expect(metrics).toContain('flowtrace_processor_redact_spans_total 2');
    // A later batch with the same resource reuses the copy.
    const c = span({ resource: shared });
    await processor.consume([c]);
    expect(c.resource).toBe(a.resource);
    expect(await registry.metrics()).toContain('flowtrace_processor_redact_redactions_total{kind="email",action="mask"} 2');
  });

  it('redacts span names, status messages, events, exceptions and links', async () => {
    const { redact } = setup();
    const s = await redact(
      span({
        name: 'GET /users/jane@example.org',
        statusCode: StatusCode.ERROR,
        statusMessage: 'card 4111 1111 1111 1111 declined',
        events: [
          { timeUnixNano: 1n, name: 'login jane@example.org', attributes: { session: 'abc123' }, droppedAttributesCount: 0 },
          {
            timeUnixNano: 2n,
            name: 'exception',
            attributes: {
              'exception.type': 'PaymentError',
              'exception.message': `declined ${CARD} for jane@example.org`,
              'exception.stacktrace': 'PaymentError: bad card\n    at charge (pay.js:10:5) token=AKIAIOSFODNN7EXAMPLE',
            },
            droppedAttributesCount: 0,
          },
        ],
        links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: '', flags: 0, attributes: { 'peer.api_key': 'k-123', note: 'ok' }, droppedAttributesCount: 0 }],
      }),
    );
    expect(s.name).toBe('GET /users/[REDACTED:email]');
    expect(s.statusMessage).toBe('card [REDACTED:credit_card] declined');
    expect(s.events[0]!.name).toBe('login [REDACTED:email]');
    expect(s.events[0]!.attributes).toEqual({ session: '[REDACTED:key]' });
    expect(s.events[1]!.attributes).toEqual({
      'exception.type': 'PaymentError',
      'exception.message': 'declined [REDACTED:credit_card] for [REDACTED:email]',
      'exception.stacktrace': 'PaymentError: bad card\n    at charge (pay.js:10:5) token=[REDACTED:aws_key]',
    });
    expect(s.links[0]!.attributes).toEqual({ 'peer.api_key': '[REDACTED:key]', note: 'ok' });
    expect(s.attributes['flowtrace.redacted']).toBe('8');
    expect(s.attributes['flowtrace.redacted.keys']!.split(',')).toEqual([
      'span.name',
      'status.message',
      'event.name',
      'event[login [REDACTED:email]].session',
      'event[exception].exception.message',
      'event[exception].exception.stacktrace',
      'link.peer.api_key',
    ]);
  });

  it('leaves span names alone when span_names is off', async () => {
    const { redact } = setup({ span_names: false });
    const s = await redact(span({ name: 'GET /users/jane@example.org' }));
    expect(s.name).toBe('GET /users/jane@example.org');
    expect(s.attributes).toEqual({});
  });

  it('hashes to the same pseudonym for the same value, and another for another key', async () => {
    const config = (key: string) => ({ hash_key: key, detectors: { email: { action: 'hash' } }, keys: { action: 'hash' } });
    const { redact } = setup(config(HASH_KEY));
    const a = await redact(span({ attributes: { to: 'Jane@Example.org', password: 'hunter2' } }));
    const b = await redact(span({ attributes: { note: 'from jane@example.org', 'db.password': 'hunter2' } }));
    const pseudonym = a.attributes.to!;
    expect(pseudonym).toMatch(/^\[HASHED:email:[0-9a-f]{16}\]$/);
    expect(b.attributes.note).toBe(`from ${pseudonym}`);
    expect(a.attributes.password).toMatch(/^\[HASHED:key:[0-9a-f]{16}\]$/);
    expect(b.attributes['db.password']).toBe(a.attributes.password);
    const other = setup(config('another-key-0123456789'));
    const c = await other.redact(span({ attributes: { to: 'jane@example.org' } }));
    expect(c.attributes.to).toMatch(/^\[HASHED:email:[0-9a-f]{16}\]$/);
    expect(c.attributes.to).not.toBe(pseudonym);
    const longer = setup({ ...config(HASH_KEY), hash_length: 32 });
    expect((await longer.redact(span({ attributes: { to: 'jane@example.org' } }))).attributes.to).toMatch(/^\[HASHED:email:[0-9a-f]{32}\]$/);
  });

  it('drops attributes whose detector or key rule says drop, and masks drops in names', async () => {
    const { redact, registry } = setup({ detectors: { email: { action: 'drop' } }, keys: { extra_deny: [{ key: 'enduser.id', action: 'drop' }] } });
    const s = await redact(
      span({
        name: 'notify jane@example.org',
        attributes: { 'user.email': 'jane@example.org', 'enduser.id': '42', 'card.last_user': `${CARD} jane@example.org`, keep: 'x' },
        attributeKinds: { 'enduser.id': 'int' },
        events: [{ timeUnixNano: 1n, name: 'mail to jane@example.org', attributes: {}, droppedAttributesCount: 0 }],
      }),
    );
    expect(s.name).toBe('notify [REDACTED:email]');
    expect(s.events[0]!.name).toBe('mail to [REDACTED:email]');
    expect(s.attributes).toEqual({
      keep: 'x',
      'flowtrace.redacted': '5',
      'flowtrace.redacted.keys': 'user.email,enduser.id,card.last_user,span.name,event.name',
    });
    expect(s.attributeKinds).toEqual({ 'flowtrace.redacted': 'int' });
    const metrics = await registry.metrics();
    expect(metrics).toContain('flowtrace_processor_redact_redactions_total{kind="email",action="drop"} 2');
    expect(metrics).toContain('flowtrace_processor_redact_redactions_total{kind="key",action="drop"} 1');
    expect(metrics).toContain('flowtrace_processor_redact_redactions_total{kind="email",action="mask"} 2');
  });

  it('applies custom patterns with their own action', async () => {
    const { redact, registry } = setup({
      hash_key: HASH_KEY,
      custom: [
        { name: 'employee_id', pattern: 'EMP-\\d{6}' },
        { name: 'ticket', pattern: 'tkt_[a-z0-9]+', ignore_case: true, action: 'hash' },
      ],
    });
    const s = await redact(span({ attributes: { who: 'EMP-123456 opened TKT_ab12', keep: 'EMP-12' } }));
    expect(s.attributes.who).toMatch(/^\[REDACTED:employee_id\] opened \[HASHED:ticket:[0-9a-f]{16}\]$/);
    expect(s.attributes.keep).toBe('EMP-12');
    expect(await registry.metrics()).toContain('flowtrace_processor_redact_redactions_total{kind="employee_id",action="mask"} 1');
  });

  it('searches int, array and kvlist values but not bools, doubles or bytes', async () => {
    const { redact } = setup();
    const s = await redact(
      span({
        attributes: { attempts: `[${CARD},7]`, blob: 'AKIAIOSFODNN7EXAMPLE', ratio: '4111111111111111', emails: '["a@example.com"]' },
        attributeKinds: { attempts: 'array', blob: 'bytes', ratio: 'double', emails: 'array' },
      }),
    );
    expect(s.attributes.attempts).toBe('[[REDACTED:credit_card],7]');
    expect(s.attributes.emails).toBe('["[REDACTED:email]"]');
    expect(s.attributes.blob).toBe('AKIAIOSFODNN7EXAMPLE');
    expect(s.attributes.ratio).toBe('4111111111111111');
    expect(s.attributeKinds).toEqual({ blob: 'bytes', ratio: 'double', 'flowtrace.redacted': 'int' });
  });

  it('keeps numeric IDs (ints, and strings under ID-named keys) and their int kind; masks an int only under a card key', async () => {
    // Luhn-valid and in Visa's 19-digit range: masked as a card before issue 10.
    const ID = '4986947095633979044';
    const { redact } = setup({ hash_key: HASH_KEY, detectors: { credit_card: { action: 'hash' } } });
    const s = await redact(
      span({
        attributes: { 'app.order_id': ID, 'app.amount': ID, 'order.id': ID, userId: '4111111111111111', 'payment.card': CARD },
        attributeKinds: { 'app.order_id': 'int', 'app.amount': 'int', 'payment.card': 'int' },
        events: [{ timeUnixNano: 1n, name: 'charge', attributes: { 'card.pan': CARD, attempt: ID }, attributeKinds: { 'card.pan': 'int', attempt: 'int' }, droppedAttributesCount: 0 }],
      }),
    );
    expect(s.attributes).toMatchObject({ 'app.order_id': ID, 'app.amount': ID, 'order.id': ID, userId: '4111111111111111' });
    // The masked ints are text now, and their kind says so (no entry: a string).
    expect(s.attributes['payment.card']).toMatch(/^\[HASHED:credit_card:[0-9a-f]{16}\]$/);
    expect(s.attributeKinds).toEqual({ 'app.order_id': 'int', 'app.amount': 'int', 'flowtrace.redacted': 'int' });
    expect(s.events[0]!.attributes).toEqual({ 'card.pan': s.attributes['payment.card'], attempt: ID });
    expect(s.events[0]!.attributeKinds).toEqual({ attempt: 'int' });
    expect(s.attributes['flowtrace.redacted.keys']).toBe('payment.card,event[charge].card.pan');
  });

  it('reports every redacted value to the drop ledger, per service, and drops no span', async () => {
    const { processor, next, drops } = setup();
    const calls: Array<[string, string, string, number]> = [];
    const values = drops.values.bind(drops);
    drops.values = (stage, reason, service, n) => {
      calls.push([stage, reason, service, n]);
      values(stage, reason, service, n);
    };
    const shop = resource({ 'service.name': 'shop', 'deployment.owner': 'ops@example.com' });
    const spans = [
      span({ resource: shop, attributes: { to: 'jane@example.org', password: 'x' } }),
      span({ resource: shop }),
      span({ resource: resource({ 'service.name': 'billing' }), attributes: { note: `card ${CARD}` } }),
      span({ resource: resource({ 'service.name': 'billing' }), attributes: { 'app.order_id': '4986947095633979044' } }),
    ];
    await processor.consume(spans);
    expect(next.all).toHaveLength(4);
    // shop: 2 on the first span + the resource's e-mail on both spans; billing: the card.
    expect(calls.sort()).toEqual([
      ['redact', 'masked', 'billing', 1],
      ['redact', 'masked', 'shop', 4],
    ]);
    expect(drops.dropped).toEqual({});
  });

  it('does not count values already redacted upstream, and adds to an earlier count', async () => {
    const { redact } = setup();
    const s = await redact(
      span({ attributes: { password: '[REDACTED]', token: 'abc', 'flowtrace.redacted': '2', 'flowtrace.redacted.keys': 'secret' } }),
    );
    expect(s.attributes).toEqual({ password: '[REDACTED]', token: '[REDACTED:key]', 'flowtrace.redacted': '3', 'flowtrace.redacted.keys': 'secret,token' });
  });

  it('rejects the batch rather than pass on spans it could not redact', async () => {
    const { processor, next } = setup();
    const broken = span();
    (broken as unknown as { events: null }).events = null;
    await expect(processor.consume([broken])).rejects.toThrow();
    expect(next.got).toEqual([]);
  });

  it('starts and shuts down', async () => {
    const { processor } = setup();
    await processor.start();
    await processor.shutdown();
  });
});
