import { FLAG_METHOD, type SkeletonJson } from './skeleton.js';

/** A span for test skeletons: times in ns from the trace start; parent '' for a root. */
export interface TestSpan {
  id: string;
  parent: string;
  start: number;
  end: number;
  service?: string;
  name?: string;
  error?: boolean;
  method?: boolean;
  kind?: number;
}

const KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];

/** Encodes spans the way the skeleton route does (sorted by start, string tables, parent indexes). */
export function skeletonOf(spans: readonly TestSpan[], extra: Partial<SkeletonJson> = {}): SkeletonJson {
  const sorted = [...spans].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const index = new Map<string, number>();
  sorted.forEach((s, i) => index.has(s.id) || index.set(s.id, i));
  const table = () => {
    const values: string[] = [];
    const at = new Map<string, number>();
    return { values, of: (v: string) => at.get(v) ?? (at.set(v, values.length), values.push(v) - 1) };
  };
  const services = table();
  const names = table();
  const missing = table();
  const min = sorted.length > 0 ? sorted[0]!.start : 0;
  return {
    traceId: 'a'.repeat(32),
    startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(min)),
    unitNs: 1,
    adjusted: false,
    spanCount: sorted.length,
    hiddenSpanCount: 0,
    readRestricted: false,
    correlationId: '',
    kinds: KINDS,
    statuses: ['Unset', 'Ok', 'Error'],
    spanId: sorted.map((s) => s.id),
    parent: sorted.map((s, i) => {
      if (s.parent === '') return -1;
      const p = index.get(s.parent);
      return p === undefined || p === i ? -2 - missing.of(s.parent) : p;
    }),
    start: sorted.map((s) => s.start - min),
    duration: sorted.map((s) => s.end - s.start),
    service: sorted.map((s) => services.of(s.service ?? 'svc')),
    name: sorted.map((s) => names.of(s.name ?? s.id)),
    kind: sorted.map((s) => s.kind ?? 1),
    status: sorted.map((s) => (s.error ? 2 : 0)),
    flags: sorted.map((s) => (s.method ? FLAG_METHOD : 0)),
    services: services.values,
    names: names.values,
    missingParentIds: missing.values,
    ...extra,
  };
}

/** Deterministic pseudo-random numbers (mulberry32), for generated traces. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A method-level trace of about `size` spans, shaped like what the agents send: a front server
 * span calling a few services over client/server pairs; each server runs a tree of method spans
 * (Class.method, code.function present) a few levels deep, with loops of repository calls issuing
 * one SELECT per item (the N+1 shape, IDs in the statement), and a few errors.
 */
export function methodLevelTrace(size: number, seed = 1): SkeletonJson {
  const rnd = random(seed);
  const spans: TestSpan[] = [];
  let nextId = 1;
  const id = () => (nextId++).toString(16).padStart(16, '0');
  const rootId = id();
  const services = ['front', 'orders', 'stock', 'billing', 'users'];
  spans.push({ id: rootId, parent: '', start: 0, end: 1, service: 'front', name: 'POST /checkout', kind: 2 });
  const classes = ['OrderService', 'StockRepository', 'PriceCalculator', 'InvoiceBuilder', 'UserCache', 'Validator', 'Mapper'];
  const methods = ['handle', 'load', 'compute', 'build', 'find', 'check', 'map', 'apply'];
  // Builds a subtree under `parent` starting at `t`; returns its end.
  const methodTree = (parent: string, service: string, t: number, depth: number): number => {
    let cursor = t + 1_000;
    const children = depth > 5 ? 0 : 1 + Math.floor(rnd() * 4);
    for (let c = 0; c < children && spans.length < size; c++) {
      const spanId = id();
      const name = `${classes[Math.floor(rnd() * classes.length)]}.${methods[Math.floor(rnd() * methods.length)]}`;
      const at = spans.push({ id: spanId, parent, start: cursor, end: cursor, service, name, method: true, error: rnd() < 0.002 }) - 1;
      let end: number;
      if (rnd() < 0.15) {
        // A loop: one SELECT per item.
        const items = 5 + Math.floor(rnd() * 40);
        let q = cursor + 500;
        for (let k = 0; k < items && spans.length < size; k++) {
          const d = 20_000 + Math.floor(rnd() * 200_000);
          spans.push({ id: id(), parent: spanId, start: q, end: q + d, service, name: `SELECT * FROM items WHERE id = ${1000 + k}`, kind: 3 });
          q += d + 1_000;
        }
        end = q + 2_000;
      } else {
        end = methodTree(spanId, service, cursor, depth + 1) + Math.floor(rnd() * 50_000);
      }
      spans[at]!.end = end;
      cursor = end + 500;
    }
    return cursor;
  };
  let t = 10_000;
  while (spans.length < size) {
    const service = services[1 + Math.floor(rnd() * (services.length - 1))]!;
    const client = id();
    const server = id();
    const clientAt = spans.push({ id: client, parent: rootId, start: t, end: t, service: 'front', name: `GET /${service}/${Math.floor(rnd() * 1e6)}`, kind: 3 }) - 1;
    const serverAt = spans.push({ id: server, parent: client, start: t + 100_000, end: t, service, name: `GET /${service}/{id}`, kind: 2 }) - 1;
    const end = methodTree(server, service, t + 100_000, 0);
    spans[serverAt]!.end = end;
    spans[clientAt]!.end = end + 100_000;
    t = end + 200_000;
  }
  spans[0]!.end = t;
  return skeletonOf(spans.slice(0, size));
}
