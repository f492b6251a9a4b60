import { describe, expect, it } from 'vitest';
import { StatusCode, type Resource, type Span } from '../../model/span.js';
import { testSpan } from '../../model/span.testing.js';
import { QueueFullError, type Consumer } from '../../pipeline/stage.js';
import { TailFullError, TailHub, type TailMetrics } from './tail-hub.js';
import { MAX_LINE_BYTES, tailLine, type TailFilter, type TailSpan } from './tail-line.js';
import { TailTap, tailTapPosition } from './tail-tap.js';

const scope = { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
function resource(service: string, attributes: Record<string, string> = {}): Resource {
  return { attributes: { 'service.name': service, ...attributes }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service };
}
const SHOP = resource('shop', { 'deployment.environment.name': 'prod' });
const PAY = resource('pay', { 'deployment.environment': 'staging' });

let next = 1;
function span(res: Resource, fields: Partial<Span> = {}): Span {
  const n = next++;
  return testSpan({
    resource: res,
    scope,
    traceId: 'a'.repeat(31) + (n % 10),
    spanId: n.toString(16).padStart(16, '0'),
    name: 'GET /cart',
    kind: 2,
    startTimeUnixNano: 1_000_000_000n,
    endTimeUnixNano: 1_000_000_000n + 5_000_000n, // 5 ms
    ...fields,
  });
}

const ALL: TailFilter = { minDurationNs: 0n, errorsOnly: false, rules: {} };
const noop = (): void => {};

/** A batch that counts every read of its elements or length: the hub's work on it. */
function countingBatch(spans: Span[]): { batch: Span[]; reads: () => number } {
  let reads = 0;
  const batch = new Proxy(spans, {
    get(target, key, receiver) {
      if (key === 'length' || (typeof key === 'string' && /^\d+$/.test(key))) reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { batch, reads: () => reads };
}

function names(lines: string[]): string[] {
  return lines.map((l) => (JSON.parse(l) as TailSpan).spanId);
}

describe('TailHub', () => {
  it('does no work per span while no client listens', () => {
    const hub = new TailHub();
    const { batch, reads } = countingBatch(Array.from({ length: 10_000 }, () => span(SHOP)));
    expect(hub.prepare(batch)).toBeUndefined();
    hub.publish(batch);
    expect(reads()).toBe(0);
    expect(hub.encodedLines).toBe(0);
  });

  it('encodes each span once however many clients receive it', () => {
    const hub = new TailHub();
    const clients = Array.from({ length: 5 }, () => hub.subscribe(ALL, noop));
    const spans = Array.from({ length: 100 }, () => span(SHOP));
    const { batch, reads } = countingBatch(spans);
    hub.publish(batch);
    expect(hub.encodedLines).toBe(100);
    // One pass over the batch: its length is read once per loop test, each element once.
    expect(reads()).toBeLessThanOrEqual(2 * spans.length + 1);
    for (const c of clients) expect(c.take().lines).toHaveLength(100);
  });

  it('sends each client only what its filter and its read rules let through', () => {
    const hub = new TailHub();
    const slow = span(SHOP, { name: 'slow', endTimeUnixNano: 1_000_000_000n + 2_000_000_000n });
    const failed = span(SHOP, { name: 'failed', statusCode: StatusCode.ERROR });
    const other = span(PAY, { name: 'pay' });
    const plain = span(SHOP, { name: 'plain' });
    const c = {
      all: hub.subscribe(ALL, noop),
      shop: hub.subscribe({ ...ALL, service: 'shop' }, noop),
      op: hub.subscribe({ ...ALL, operation: 'pay' }, noop),
      minDuration: hub.subscribe({ ...ALL, minDurationNs: 1_000_000_000n }, noop),
      errors: hub.subscribe({ ...ALL, errorsOnly: true }, noop),
      payOnly: hub.subscribe({ ...ALL, rules: { services: ['pay'] } }, noop),
      // Asks for shop but may read only pay: gets nothing.
      asksOther: hub.subscribe({ ...ALL, service: 'shop', rules: { services: ['pay'] } }, noop),
      staging: hub.subscribe({ ...ALL, rules: { environments: ['staging'] } }, noop),
      prod: hub.subscribe({ ...ALL, rules: { environments: ['prod'] } }, noop),
    };
    hub.publish([slow, failed, other, plain]);
    const got = Object.fromEntries(Object.entries(c).map(([k, s]) => [k, names(s.take().lines)]));
    expect(got).toEqual({
      all: [slow.spanId, failed.spanId, other.spanId, plain.spanId],
      shop: [slow.spanId, failed.spanId, plain.spanId],
      op: [other.spanId],
      minDuration: [slow.spanId],
      errors: [failed.spanId],
      payOnly: [other.spanId],
      asksOther: [],
      staging: [other.spanId],
      prod: [slow.spanId, failed.spanId, plain.spanId],
    });
  });

  it('bounds each client\'s queue and counts what it drops', () => {
    const hub = new TailHub({ maxClients: 4, queueSpans: 3 });
    const slow = hub.subscribe(ALL, noop);
    const fast = hub.subscribe(ALL, noop);
    hub.publish([span(SHOP), span(SHOP)]);
    expect(fast.take().lines).toHaveLength(2);
    hub.publish([span(SHOP), span(SHOP), span(SHOP)]);
    expect(fast.take()).toMatchObject({ dropped: 0 });
    expect(slow.waiting).toBe(3);
    const first = slow.take();
    expect(first.lines).toHaveLength(3);
    expect(first.dropped).toBe(2);
    expect(slow.droppedTotal).toBe(2);
    hub.publish([span(SHOP)]);
    expect(slow.take()).toMatchObject({ dropped: 0, lines: [expect.any(String)] });
    expect(fast.droppedTotal).toBe(0);
  });

  it('spends no encoding on a client whose queue is full', () => {
    const hub = new TailHub({ maxClients: 4, queueSpans: 2 });
    const stuck = hub.subscribe(ALL, noop);
    hub.publish([span(SHOP), span(SHOP), span(SHOP), span(SHOP), span(SHOP)]);
    expect(hub.encodedLines).toBe(2);
    expect(stuck.take()).toMatchObject({ dropped: 3, lines: [expect.any(String), expect.any(String)] });
  });

  it('encodes at most maxSpansPerSecond spans for all clients, dropping and counting the rest', () => {
    let now = 0;
    const hub = new TailHub({ maxClients: 4, queueSpans: 10_000, maxSpansPerSecond: 100, now: () => now });
    const a = hub.subscribe(ALL, noop);
    const b = hub.subscribe(ALL, noop);
    hub.publish(Array.from({ length: 250 }, () => span(SHOP)));
    expect(hub.encodedLines).toBe(100);
    expect(a.take()).toMatchObject({ dropped: 150 });
    expect(b.take().lines).toHaveLength(100);
    now += 500; // half a second: half the budget back
    hub.publish(Array.from({ length: 250 }, () => span(SHOP)));
    expect(hub.encodedLines).toBe(150);
    expect(a.take().lines).toHaveLength(50);
    now += 60_000; // never more than one second's worth
    hub.publish(Array.from({ length: 250 }, () => span(SHOP)));
    expect(hub.encodedLines).toBe(250);
  });

  it('refuses clients beyond its limit and takes new ones once others leave', () => {
    const hub = new TailHub({ maxClients: 2, queueSpans: 10 });
    const a = hub.subscribe(ALL, noop);
    hub.subscribe(ALL, noop);
    expect(() => hub.subscribe(ALL, noop)).toThrow(TailFullError);
    hub.unsubscribe(a);
    expect(hub.clients).toBe(1);
    expect(() => hub.subscribe(ALL, noop)).not.toThrow();
  });

  it('lets one principal hold at most maxClientsPerPrincipal streams, so that others still get a slot', () => {
    const hub = new TailHub({ maxClients: 8, maxClientsPerPrincipal: 2, queueSpans: 10 });
    const first = hub.subscribe(ALL, noop, 'token:a');
    hub.subscribe(ALL, noop, 'token:a');
    expect(() => hub.subscribe(ALL, noop, 'token:a')).toThrow('you have 2 live tail streams open already');
    expect(() => hub.subscribe(ALL, noop, 'token:b')).not.toThrow();
    hub.unsubscribe(first);
    hub.unsubscribe(first); // twice: counted once
    expect(() => hub.subscribe(ALL, noop, 'token:a')).not.toThrow();
    expect(() => hub.subscribe(ALL, noop, 'token:a')).toThrow(TailFullError);
    expect(hub.clients).toBe(3);
    // Callers that cannot be told apart (no principal ID): only the global cap.
    for (let i = 0; i < 5; i++) hub.subscribe(ALL, noop);
    expect(hub.clients).toBe(8);
  });

  it('counts clients, spans sent, spans dropped by reason and refused clients for its metrics', () => {
    const now = 0; // a stopped clock: the encoding budget never refills
    const counts = { clients: -1, sent: 0, slow_client: 0, rate_limit: 0, refused: 0 };
    const metrics: TailMetrics = {
      clients: (n) => (counts.clients = n),
      sent: (n) => (counts.sent += n),
      dropped: (reason, n) => (counts[reason] += n),
      refused: () => counts.refused++,
    };
    const hub = new TailHub({ maxClients: 2, queueSpans: 3, maxSpansPerSecond: 4, now: () => now, metrics });
    expect(counts.clients).toBe(0);
    const slow = hub.subscribe(ALL, noop);
    const fast = hub.subscribe(ALL, noop);
    expect(counts.clients).toBe(2);
    expect(() => hub.subscribe(ALL, noop)).toThrow(TailFullError);
    expect(counts.refused).toBe(1);
    // 5 spans, queues of 3: each client gets 3, and 2 are dropped for each as it is slow.
    hub.publish(Array.from({ length: 5 }, () => span(SHOP)));
    expect(counts).toMatchObject({ slow_client: 4, rate_limit: 0, sent: 0 });
    expect(fast.take().lines).toHaveLength(3);
    expect(counts.sent).toBe(3);
    // The slow client has no room (7 dropped as slow); the fast one has, but the three shared
    // encodings of the first batch left one of 4 this second: 1 sent, 6 dropped at the rate cap.
    hub.publish(Array.from({ length: 7 }, () => span(SHOP)));
    expect(counts).toMatchObject({ slow_client: 4 + 7, rate_limit: 6 });
    expect(fast.take().lines).toHaveLength(1);
    expect(slow.take()).toMatchObject({ lines: [expect.any(String), expect.any(String), expect.any(String)], dropped: 2 + 7 });
    expect(counts.sent).toBe(3 + 1 + 3);
    hub.unsubscribe(slow);
    hub.unsubscribe(slow); // twice: counted once
    expect(counts.clients).toBe(1);
  });

  it('counts a span dropped at delivery when the client\'s queue filled after matching', () => {
    const dropped: number[] = [];
    const hub = new TailHub({ maxClients: 1, queueSpans: 2, metrics: { clients: noop, sent: noop, refused: noop, dropped: (_reason, n) => dropped.push(n) } });
    const client = hub.subscribe(ALL, noop);
    const first = hub.prepare([span(SHOP), span(SHOP)]);
    const second = hub.prepare([span(SHOP)]);
    first!.deliver();
    second!.deliver();
    expect(dropped).toEqual([1]);
    expect(client.take()).toMatchObject({ dropped: 1 });
  });

  it('hands nothing to a client that left between matching and delivery', () => {
    const hub = new TailHub();
    const a = hub.subscribe(ALL, noop);
    const delivery = hub.prepare([span(SHOP)]);
    hub.unsubscribe(a);
    expect(hub.listening).toBe(false);
    delivery?.deliver();
    expect(a.waiting).toBe(0);
  });
});

describe('TailTap', () => {
  it('shows a batch once the next stage accepted it, as it was when it passed', async () => {
    const hub = new TailHub();
    const client = hub.subscribe(ALL, noop);
    const s = span(SHOP, { attributes: { user: '[REDACTED]' } });
    let release!: () => void;
    const next: Consumer = {
      consume: () => {
        s.attributes.user = 'changed later'; // a later stage's change is not shown
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
    const accepted = new TailTap(hub, next).consume([s]);
    expect(client.waiting).toBe(0);
    release();
    await accepted;
    const [line] = client.take().lines;
    expect((JSON.parse(line!) as TailSpan).attributes).toEqual({ user: '[REDACTED]' });
  });

  it('does not show a batch the next stage refused (the sender retries it)', async () => {
    const hub = new TailHub();
    const client = hub.subscribe(ALL, noop);
    const refusing: Consumer = { consume: () => Promise.reject(new QueueFullError('full', 1)) };
    await expect(new TailTap(hub, refusing).consume([span(SHOP)])).rejects.toThrow(QueueFullError);
    expect(client.waiting).toBe(0);
  });

  it('sits right after redaction, before stitch and sample', () => {
    expect(tailTapPosition(['filter', 'redact', 'stitch', 'sample'])).toBe(2);
    expect(tailTapPosition(['redact'])).toBe(1);
    expect(tailTapPosition(['filter', 'stitch', 'sample'])).toBe(1);
    expect(tailTapPosition(['sample'])).toBe(0);
    expect(tailTapPosition(['filter'])).toBe(1);
    expect(tailTapPosition([])).toBe(0);
  });
});

describe('tailLine', () => {
  it('is one compact JSON line with the span\'s essentials', () => {
    const s = span(SHOP, { statusCode: StatusCode.ERROR, statusMessage: 'boom\nagain', attributes: { 'http.route': '/cart' } });
    const line = tailLine(s);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: '',
      service: 'shop',
      name: 'GET /cart',
      kind: 'Server',
      startTimeUnixNano: '1000000000',
      durationNano: '5000000',
      status: { code: 'Error', message: 'boom\nagain' },
      attributes: { 'http.route': '/cart' },
    });
  });

  it('leaves out attributes that would make the line too long', () => {
    const line = tailLine(span(SHOP, { attributes: { big: 'x'.repeat(MAX_LINE_BYTES) } }));
    expect(Buffer.byteLength(line)).toBeLessThan(MAX_LINE_BYTES);
    expect(JSON.parse(line)).toMatchObject({ attributes: {}, attributesOmitted: true });
  });
});
