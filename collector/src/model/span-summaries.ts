/**
 * Per row of a transcoded request (receivers/otlp/rowbinary-transcoder.ts), in typed arrays:
 * what ingest, the live tail and RED read of spans that travel as storage rows, not objects.
 * Trace IDs are kept as 16 raw bytes per span (four word copies); a hex string per span
 * measured +0.2 µs/span (~10 % of the transcoding) on bench/hot-path.ts's request, so
 * `traceIdHex` makes it on demand.
 */
export class SpanSummaries {
  constructor(
    /** The rows, which hold the span names. */
    private readonly rowBinary: Buffer,
    readonly count: number,
    /** Service name of each resource of the request, indexed by `resourceIndex`. */
    readonly services: readonly string[],
    readonly resourceIndex: Uint32Array,
    /** OTLP SpanKind and StatusCode numbers as sent. */
    readonly kind: Int32Array,
    readonly statusCode: Int32Array,
    /** Start time and duration in ns since the epoch, interleaved: [start₀, duration₀, start₁, …]. */
    readonly times: BigUint64Array,
    /** 16 bytes per span. */
    readonly traceIds: Uint8Array,
    /** Where each span's name (a length-prefixed string) is in `rowBinary`. */
    private readonly nameAt: Uint32Array,
  ) {}

  /**
   * The summaries of rows that were concatenated in this order (`rows` is their concatenation):
   * what a request transcoded in slices hands on as one.
   */
  static concat(rows: Buffer, parts: readonly SpanSummaries[]): SpanSummaries {
    if (parts.length === 1) return parts[0]!;
    let count = 0;
    for (const p of parts) count += p.count;
    const services: string[] = [];
    const resourceIndex = new Uint32Array(count);
    const kind = new Int32Array(count);
    const statusCode = new Int32Array(count);
    const times = new BigUint64Array(2 * count);
    const traceIds = new Uint8Array(16 * count);
    const nameAt = new Uint32Array(count);
    let at = 0;
    let rowsAt = 0;
    for (const p of parts) {
      const firstService = services.length;
      services.push(...p.services);
      for (let i = 0; i < p.count; i++) {
        resourceIndex[at + i] = p.resourceIndex[i]! + firstService;
        nameAt[at + i] = p.nameAt[i]! + rowsAt;
      }
      kind.set(p.kind, at);
      statusCode.set(p.statusCode, at);
      times.set(p.times, 2 * at);
      traceIds.set(p.traceIds, 16 * at);
      at += p.count;
      rowsAt += p.rowBinary.length;
    }
    return new SpanSummaries(rows, count, services, resourceIndex, kind, statusCode, times, traceIds, nameAt);
  }

  serviceName(i: number): string {
    return this.services[this.resourceIndex[i]!]!;
  }

  spanName(i: number): string {
    let at = this.nameAt[i]!;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.rowBinary[at++]!;
      length |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    return this.rowBinary.toString('utf8', at, at + length);
  }

  startNs(i: number): bigint {
    return this.times[2 * i]!;
  }

  durationNs(i: number): bigint {
    return this.times[2 * i + 1]!;
  }

  traceIdHex(i: number): string {
    return Buffer.from(this.traceIds.buffer, this.traceIds.byteOffset + 16 * i, 16).toString('hex');
  }

  /** Spans per service name (what quotas and the drop ledger count). */
  countsByService(): Map<string, number> {
    const counts = new Map<string, number>();
    // Spans of one resource are consecutive: one map update per run.
    let i = 0;
    while (i < this.count) {
      const resource = this.resourceIndex[i]!;
      let end = i + 1;
      while (end < this.count && this.resourceIndex[end] === resource) end++;
      const service = this.services[resource]!;
      counts.set(service, (counts.get(service) ?? 0) + end - i);
      i = end;
    }
    return counts;
  }

  /**
   * For each run of spans of one resource: its service and the latest end time (what
   * sender-clocks.ts reads). An end before its start counts as the start (duration 0).
   */
  *resourceRuns(): Generator<{ service: string; newestEndNs: bigint }> {
    let i = 0;
    while (i < this.count) {
      const resource = this.resourceIndex[i]!;
      let newest = 0n;
      for (; i < this.count && this.resourceIndex[i] === resource; i++) {
        const end = this.times[2 * i]! + this.times[2 * i + 1]!;
        if (end > newest) newest = end;
      }
      yield { service: this.services[resource]!, newestEndNs: newest };
    }
  }
}
