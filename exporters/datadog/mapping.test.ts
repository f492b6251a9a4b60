import { describe, expect, it } from 'vitest';
import { SpanKind, StatusCode } from '../../collector/src/model/span.js';
import { DEFAULT_SERVICE, toDatadogSpan, topLevelFlags } from './mapping.js';
import { normalizeName, normalizeTagValue } from './semantics.js';
import { resource, span, T0 } from './spans.testing.js';

describe('IDs and times', () => {
  it('splits the 128-bit trace ID: low 64 bits as trace_id, high 64 bits in meta _dd.p.tid', () => {
    const dd = toDatadogSpan(span({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }));
    expect(dd.trace_id).toBe(9532127138774266268n); // 0x8448eb211c80319c, above 2^53
    expect(dd.trace_id > 2n ** 53n).toBe(true);
    expect(dd.meta['_dd.p.tid']).toBe('0af7651916cd43dd');
    expect(dd.meta['otel.trace_id']).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(dd.span_id).toBe(13235353014750950193n);
    expect(dd.parent_id).toBe(0n);
  });

  it('omits _dd.p.tid for a 64-bit trace ID (high bits zero), as Datadog tracers do', () => {
    const dd = toDatadogSpan(span({ traceId: '0000000000000000000000000000002a' }));
    expect(dd.trace_id).toBe(42n);
    expect(dd.meta).not.toHaveProperty('_dd.p.tid');
  });

  it('maps the parent span ID; start and duration in ns as int64, a negative duration as 0', () => {
    const dd = toDatadogSpan(span({ parentSpanId: 'ffffffffffffffff', startTimeUnixNano: T0, endTimeUnixNano: T0 + 1_234_567n }));
    expect(dd.parent_id).toBe(2n ** 64n - 1n);
    expect(dd.start).toBe(T0);
    expect(dd.duration).toBe(1_234_567n);
    expect(toDatadogSpan(span({ endTimeUnixNano: T0 - 5n })).duration).toBe(0n);
  });
});

describe('service', () => {
  it('is service.name, span attribute before resource attribute, normalised as the agent does', () => {
    expect(toDatadogSpan(span({ resource: resource('checkout') })).service).toBe('checkout');
    expect(toDatadogSpan(span({ resource: resource('checkout'), attributes: { 'service.name': 'override' } })).service).toBe('override');
    expect(toDatadogSpan(span({ resource: resource('My Service!') })).service).toBe('my_service');
  });

  it('falls back to otlpresourcenoservicename', () => {
    expect(toDatadogSpan(span({ resource: resource(undefined) })).service).toBe(DEFAULT_SERVICE);
    expect(DEFAULT_SERVICE).toBe('otlpresourcenoservicename');
  });

  it('does not repeat service.name in meta', () => {
    expect(toDatadogSpan(span()).meta).not.toHaveProperty('service.name');
  });
});

describe('operation name (the agent’s v2 operation name mapping)', () => {
  const name = (kind: number, attributes: Record<string, string> = {}, kinds?: Record<string, 'int'>) =>
    toDatadogSpan(span({ kind, attributes, attributeKinds: kinds })).name;

  it('names HTTP servers and clients by protocol', () => {
    expect(name(SpanKind.SERVER, { 'http.request.method': 'GET' })).toBe('http.server.request');
    expect(name(SpanKind.CLIENT, { 'http.method': 'POST' })).toBe('http.client.request');
  });

  it('names database, messaging, RPC, AWS, FaaS and GraphQL spans', () => {
    expect(name(SpanKind.CLIENT, { 'db.system': 'postgresql' })).toBe('postgresql.query');
    expect(name(SpanKind.CLIENT, { 'db.system.name': 'MySQL' })).toBe('mysql.query');
    expect(name(SpanKind.PRODUCER, { 'messaging.system': 'kafka', 'messaging.operation': 'publish' })).toBe('kafka.publish');
    expect(name(SpanKind.CONSUMER, { 'messaging.system': 'rabbitmq', 'messaging.operation': 'process' })).toBe('rabbitmq.process');
    expect(name(SpanKind.CLIENT, { 'rpc.system': 'grpc' })).toBe('grpc.client.request');
    expect(name(SpanKind.SERVER, { 'rpc.system': 'grpc' })).toBe('grpc.server.request');
    expect(name(SpanKind.CLIENT, { 'rpc.system': 'aws-api', 'rpc.service': 'S3' })).toBe('aws.s3.request');
    expect(name(SpanKind.CLIENT, { 'rpc.system': 'aws-api' })).toBe('aws.client.request');
    expect(name(SpanKind.CLIENT, { 'faas.invoked_provider': 'aws', 'faas.invoked_name': 'resize' })).toBe('aws.resize.invoke');
    expect(name(SpanKind.SERVER, { 'faas.trigger': 'http' })).toBe('http.invoke');
    expect(name(SpanKind.SERVER, { 'graphql.operation.type': 'query' })).toBe('graphql.server.request');
  });

  it('falls back to the protocol, then to the kind', () => {
    expect(name(SpanKind.SERVER, { 'network.protocol.name': 'amqp' })).toBe('amqp.server.request');
    expect(name(SpanKind.SERVER)).toBe('server.request');
    expect(name(SpanKind.CLIENT)).toBe('client.request');
    expect(name(SpanKind.INTERNAL)).toBe('Internal');
    expect(name(SpanKind.UNSPECIFIED)).toBe('Internal');
    expect(name(SpanKind.PRODUCER)).toBe('Producer');
    expect(name(SpanKind.CONSUMER)).toBe('Consumer');
  });

  it('takes operation.name as it is (normalised), and does not copy it to meta', () => {
    const dd = toDatadogSpan(span({ kind: SpanKind.SERVER, attributes: { 'operation.name': 'Web Request', 'http.method': 'GET' } }));
    expect(dd.name).toBe('web_request');
    expect(dd.meta).not.toHaveProperty('operation.name');
  });

  it('only string attributes count in lookups (the agent’s accessor)', () => {
    expect(name(SpanKind.CLIENT, { 'db.system': '7' }, { 'db.system': 'int' })).toBe('client.request');
  });
});

describe('resource', () => {
  const res = (kind: number, attributes: Record<string, string>, spanName = 'span-name') => toDatadogSpan(span({ kind, name: spanName, attributes })).resource;

  it('is the HTTP method and route for servers, the URL template for clients', () => {
    expect(res(SpanKind.SERVER, { 'http.request.method': 'GET', 'http.route': '/orders/:id' })).toBe('GET /orders/:id');
    expect(res(SpanKind.CLIENT, { 'http.request.method': 'GET', 'url.template': '/users/{id}', 'http.route': '/ignored' })).toBe('GET /users/{id}');
    expect(res(SpanKind.CLIENT, { 'http.method': 'DELETE' })).toBe('DELETE');
    expect(res(SpanKind.SERVER, { 'http.request.method': '_OTHER' })).toBe('HTTP');
  });

  it('is the messaging operation and destination, the RPC method and service, the GraphQL operation', () => {
    expect(res(SpanKind.PRODUCER, { 'messaging.operation': 'publish', 'messaging.destination.name': 'orders' })).toBe('publish orders');
    expect(res(SpanKind.CLIENT, { 'rpc.method': 'Charge', 'rpc.service': 'payments.Payments' })).toBe('Charge payments.Payments');
    expect(res(SpanKind.SERVER, { 'graphql.operation.type': 'query', 'graphql.operation.name': 'GetUser' })).toBe('query GetUser');
  });

  it('is the database statement (db.statement or db.query.text) when there is a db.system', () => {
    expect(res(SpanKind.CLIENT, { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM orders WHERE id = $1' })).toBe('SELECT * FROM orders WHERE id = $1');
    expect(res(SpanKind.CLIENT, { 'db.system.name': 'mysql', 'db.query.text': 'SELECT 1' })).toBe('SELECT 1');
    expect(res(SpanKind.CLIENT, { 'db.statement': 'SELECT 1' })).toBe('span-name');
  });

  it('is resource.name when set, else the span name', () => {
    expect(res(SpanKind.SERVER, { 'resource.name': 'custom', 'http.method': 'GET' })).toBe('custom');
    expect(res(SpanKind.INTERNAL, {}, 'OrderService.place')).toBe('OrderService.place');
  });
});

describe('type', () => {
  const type = (kind: number, attributes: Record<string, string> = {}) => toDatadogSpan(span({ kind, attributes })).type;

  it('is web for servers, http for clients, the database type for database clients, custom otherwise', () => {
    expect(type(SpanKind.SERVER)).toBe('web');
    expect(type(SpanKind.CLIENT)).toBe('http');
    expect(type(SpanKind.CLIENT, { 'db.system': 'postgresql' })).toBe('sql');
    expect(type(SpanKind.CLIENT, { 'db.system': 'redis' })).toBe('redis');
    expect(type(SpanKind.CLIENT, { 'db.system': 'memcached' })).toBe('memcached');
    expect(type(SpanKind.CLIENT, { 'db.system': 'mongodb' })).toBe('mongodb');
    expect(type(SpanKind.CLIENT, { 'db.system': 'somethingelse' })).toBe('db');
    expect(type(SpanKind.CLIENT, { 'db.system': 'constructor' })).toBe('db');
    expect(type(SpanKind.INTERNAL)).toBe('custom');
    expect(type(SpanKind.PRODUCER)).toBe('custom');
    expect(type(SpanKind.SERVER, { 'span.type': 'worker' })).toBe('worker');
  });
});

describe('meta and metrics', () => {
  it('puts strings, booleans, bytes and arrays in meta and numbers in metrics', () => {
    const dd = toDatadogSpan(
      span({
        attributes: { s: 'text', b: 'true', raw: 'AAEC', list: '["a",1]', i: '42', big: '9007199254740993', d: '0.25', nan: 'json: unsupported value: NaN' },
        attributeKinds: { b: 'bool', raw: 'bytes', list: 'array', i: 'int', big: 'int', d: 'double', nan: 'double' },
      }),
    );
    expect(dd.meta).toMatchObject({ s: 'text', b: 'true', raw: 'AAEC', list: '["a",1]' });
    expect(dd.metrics).toMatchObject({ i: 42, d: 0.25, big: 9007199254740992 }); // float64, as in the agent
    expect(dd.metrics.nan).toBeNaN();
    for (const k of ['i', 'd', 'big', 'nan']) expect(dd.meta).not.toHaveProperty(k);
  });

  it('renames OTel HTTP attributes to Datadog’s conventions and reads the status code as a metric', () => {
    const dd = toDatadogSpan(
      span({
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': 'GET',
          'url.full': 'https://shop/orders/7',
          'http.response.status_code': '200',
          'user_agent.original': 'curl/8',
          'http.request.header.x-tenant': 'acme',
          'server.address': 'shop',
        },
        attributeKinds: { 'http.response.status_code': 'int' },
      }),
    );
    expect(dd.meta).toMatchObject({ 'http.method': 'GET', 'http.url': 'https://shop/orders/7', 'http.useragent': 'curl/8', 'http.request.headers.x-tenant': 'acme', 'http.server_name': 'shop' });
    expect(dd.metrics['http.status_code']).toBe(200);
    expect(dd.meta).not.toHaveProperty('http.request.method');
  });

  it('adds resource attributes to meta (numbers as text), span attributes winning', () => {
    const dd = toDatadogSpan(
      span({ resource: resource('checkout', { 'host.name': 'web-1', 'host.cpus': '8', shared: 'from-resource' }, { 'host.cpus': 'int' }), attributes: { shared: 'from-span' } }),
    );
    expect(dd.meta).toMatchObject({ 'host.name': 'web-1', 'host.cpus': '8', shared: 'from-span' });
  });

  it('adds span.kind, otel.status_code/description, the scope, version, env, tracestate and db.name', () => {
    const dd = toDatadogSpan(
      span({
        kind: SpanKind.CLIENT,
        statusCode: StatusCode.OK,
        statusMessage: 'fine',
        traceState: 'dd=s:1,vendor=x',
        resource: resource('checkout', { 'service.version': '1.4.2', 'deployment.environment.name': 'Prod' }),
        scope: { name: 'my-lib', version: '2.0', attributes: { 'scope.attr': 'v' }, droppedAttributesCount: 0, schemaUrl: '' },
        attributes: { 'db.namespace': 'orders' },
      }),
    );
    expect(dd.meta).toMatchObject({
      'span.kind': 'client',
      'otel.status_code': 'Ok',
      'otel.status_description': 'fine',
      'otel.library.name': 'my-lib',
      'otel.library.version': '2.0',
      'otel.scope.name': 'my-lib',
      'otel.scope.version': '2.0',
      'scope.attr': 'v',
      version: '1.4.2',
      env: 'prod',
      'w3c.tracestate': 'dd=s:1,vendor=x',
      'db.name': 'orders',
    });
    expect(toDatadogSpan(span()).meta['otel.status_code']).toBe('Unset');
  });

  it('sets _sampling_priority_v1 to 1 (auto keep) unless sampling.priority says otherwise', () => {
    expect(toDatadogSpan(span()).metrics._sampling_priority_v1).toBe(1);
    expect(toDatadogSpan(span({ attributes: { 'sampling.priority': '2' }, attributeKinds: { 'sampling.priority': 'int' } })).metrics._sampling_priority_v1).toBe(2);
  });

  it('marks client, server, producer and consumer spans measured, not internal ones', () => {
    for (const kind of [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]) expect(toDatadogSpan(span({ kind })).metrics['_dd.measured']).toBe(1);
    expect(toDatadogSpan(span({ kind: SpanKind.INTERNAL })).metrics).not.toHaveProperty('_dd.measured');
  });

  it('never takes _top_level from an attribute: it is computed per batch', () => {
    expect(toDatadogSpan(span({ attributes: { _top_level: '1' }, attributeKinds: { _top_level: 'int' } })).metrics).not.toHaveProperty('_top_level');
  });

  it('keeps an attribute named __proto__ as an ordinary key', () => {
    const dd = toDatadogSpan(span({ attributes: JSON.parse('{"__proto__":"x"}') as Record<string, string> }));
    expect(Object.keys(dd.meta)).toContain('__proto__');
  });
});

describe('errors and events', () => {
  const exception = { timeUnixNano: T0 + 1_000n, name: 'exception', attributes: { 'exception.type': 'TypeError', 'exception.message': 'card declined', 'exception.stacktrace': 'TypeError: card declined\n    at pay (pay.js:1:1)' }, droppedAttributesCount: 0 };

  it('sets error = 1 and error.msg/type/stack from the exception event when the status is ERROR', () => {
    const dd = toDatadogSpan(span({ statusCode: StatusCode.ERROR, statusMessage: 'payment failed', events: [exception] }));
    expect(dd.error).toBe(1);
    expect(dd.meta).toMatchObject({
      'error.msg': 'card declined',
      'error.type': 'TypeError',
      'error.stack': 'TypeError: card declined\n    at pay (pay.js:1:1)',
      'otel.status_code': 'Error',
      'otel.status_description': 'payment failed',
      '_dd.span_events.has_exception': 'true',
    });
  });

  it('falls back to the status message, then to the HTTP status', () => {
    expect(toDatadogSpan(span({ statusCode: StatusCode.ERROR, statusMessage: 'boom' })).meta['error.msg']).toBe('boom');
    const http = toDatadogSpan(span({ statusCode: StatusCode.ERROR, attributes: { 'http.response.status_code': '503' }, attributeKinds: { 'http.response.status_code': 'int' } }));
    expect(http.meta['error.msg']).toBe('503 Service Unavailable');
  });

  it('leaves error at 0 without ERROR status, even with an exception event', () => {
    const dd = toDatadogSpan(span({ statusCode: StatusCode.UNSET, events: [exception] }));
    expect(dd.error).toBe(0);
    expect(dd.meta).not.toHaveProperty('error.msg');
    expect(dd.meta['_dd.span_events.has_exception']).toBe('true');
  });

  it('writes events as JSON in meta `events`, attribute values typed, 64-bit ints exact', () => {
    const dd = toDatadogSpan(
      span({
        events: [
          { timeUnixNano: 1_767_225_600_123_456_789n, name: 'cache "miss"', attributes: { key: 'k', n: '9007199254740993', ok: 'true', ratio: '0.5', tags: '["a","b"]' }, attributeKinds: { n: 'int', ok: 'bool', ratio: 'double', tags: 'array' }, droppedAttributesCount: 2 },
          { timeUnixNano: 0n, name: '', attributes: {}, droppedAttributesCount: 0 },
        ],
      }),
    );
    expect(dd.meta.events).toBe(
      '[{"time_unix_nano":1767225600123456789,"name":"cache \\"miss\\"","attributes":{"key":"k","n":9007199254740993,"ok":true,"ratio":0.5,"tags":["a","b"]},"dropped_attributes_count":2},{}]',
    );
  });

  it('writes links as JSON in meta `_dd.span_links`', () => {
    const dd = toDatadogSpan(span({ links: [{ traceId: '11111111111111111111111111111111', spanId: '2222222222222222', traceState: 'a=1', flags: 1, attributes: { why: 'retry' }, droppedAttributesCount: 0 }] }));
    expect(JSON.parse(dd.meta['_dd.span_links'])).toEqual([{ trace_id: '11111111111111111111111111111111', span_id: '2222222222222222', tracestate: 'a=1', attributes: { why: 'retry' } }]);
  });
});

describe('top-level detection', () => {
  it('marks roots, spans whose parent is in another service, and spans whose parent is absent', () => {
    const flags = topLevelFlags([
      { spanId: 1n, parentId: 0n, service: 'frontend' }, // root
      { spanId: 2n, parentId: 1n, service: 'frontend' }, // same service as parent
      { spanId: 3n, parentId: 2n, service: 'payments' }, // parent in another service
      { spanId: 4n, parentId: 3n, service: 'payments' }, // same service
      { spanId: 5n, parentId: 99n, service: 'payments' }, // parent not here
    ]);
    expect(flags).toEqual([true, false, true, false, true]);
  });
});

describe('normalisation helpers (ports of the agent’s)', () => {
  it('normalizeTagValue lower-cases and collapses invalid runs', () => {
    expect(normalizeTagValue('Checkout-Service')).toBe('checkout-service');
    expect(normalizeTagValue('a  b!!')).toBe('a_b');
    expect(normalizeTagValue('ns:name/v1.2')).toBe('ns:name/v1.2');
  });

  it('normalizeName keeps metric-safe names and replaces the rest', () => {
    expect(normalizeName('http.server.request')).toBe('http.server.request');
    expect(normalizeName('123 My op!')).toBe('My_op');
    expect(normalizeName('a_.b')).toBe('a.b');
    expect(normalizeName('!!!')).toBe('unnamed_operation');
  });
});
