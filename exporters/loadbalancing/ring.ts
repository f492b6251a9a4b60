/**
 * Consistent hashing of trace IDs over backends. Each backend owns many points on a 32-bit
 * ring; a trace goes to the owner of the first point at or after its hash. Adding a backend
 * takes over about 1/N of the traces; removing one hands only its own to the others.
 *
 * Every collector must route alike: points depend only on the backends' canonical `host:port`
 * (never on the order they were listed or resolved in), and ties between equal points go to
 * the lower endpoint by string order.
 */

/** Points per backend: the share of each backend varies by about 1/sqrt(this) (here ±6 %). */
export const POINTS_PER_BACKEND = 256;

/**
 * A stable, well-mixed 32-bit hash of a string: FNV-1a over its UTF-16 units, then
 * MurmurHash3's finaliser, so that strings differing in one character land far apart.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HashRing {
  /** The backends, sorted. */
  readonly endpoints: readonly string[];
  private readonly points: Uint32Array;
  /** Index into `endpoints` of each point's owner. */
  private readonly owners: Uint16Array;

  constructor(endpoints: Iterable<string>, pointsPerBackend = POINTS_PER_BACKEND) {
    this.endpoints = [...new Set(endpoints)].sort();
    if (this.endpoints.length > 0xffff) throw new Error(`too many backends for one ring (${this.endpoints.length})`);
    const all: Array<{ point: number; owner: number }> = [];
    this.endpoints.forEach((endpoint, owner) => {
      for (let i = 0; i < pointsPerBackend; i++) all.push({ point: hash32(`${endpoint}#${i}`), owner });
    });
    all.sort((a, b) => a.point - b.point || a.owner - b.owner);
    this.points = Uint32Array.from(all, (p) => p.point);
    this.owners = Uint16Array.from(all, (p) => p.owner);
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** The backend a trace ID (hex, as the span model holds it) goes to; undefined on an empty ring. */
  owner(traceId: string): string | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const h = hash32(traceId.toLowerCase());
    // First point ≥ h, wrapping to the first point.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.endpoints[this.owners[lo === n ? 0 : lo]!];
  }

  /** Whether `other` holds the same backends. */
  sameAs(other: Iterable<string>): boolean {
    const sorted = [...new Set(other)].sort();
    return sorted.length === this.endpoints.length && sorted.every((e, i) => e === this.endpoints[i]);
  }
}
