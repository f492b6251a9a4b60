import type { Reservation } from '../in-flight-budget.js';
import { decompressWithin, MessageTooLargeError, type Codec } from '../inflate.js';

export { MessageTooLargeError };

/**
 * Inflates one message, never producing more than `maxBytes` (a bomb is refused, not inflated),
 * and reserving its output in the call's in-flight `reservation` as it is produced.
 */
export type Decompressor = (message: Buffer, maxBytes: number, reservation: Reservation) => Promise<Buffer>;

function codecDecompressor(codec: Codec): Decompressor {
  return async (message, maxBytes, reservation) => {
    try {
      return await decompressWithin(message, codec, maxBytes, reservation);
    } catch (err) {
      if (err instanceof MessageTooLargeError) throw new MessageTooLargeError(`decompressed message exceeds the limit of ${maxBytes} bytes`);
      throw err;
    }
  };
}

/**
 * `grpc-encoding` → decompressor: gzip and deflate (grpc-go's and grpc-js's), and zstd, snappy
 * (framed) and lz4, the names github.com/mostynb/go-grpc-compression registers, which the
 * OpenTelemetry Collector's `otlp` exporter uses for `compression: zstd | snappy`.
 */
export class Decompressors {
  private readonly byName = new Map<string, Decompressor>();

  constructor() {
    for (const codec of ['gzip', 'deflate', 'zstd', 'snappy', 'lz4'] as const) this.register(codec, codecDecompressor(codec));
  }

  register(name: string, decompressor: Decompressor): void {
    this.byName.set(name, decompressor);
  }

  get(name: string): Decompressor | undefined {
    return this.byName.get(name);
  }

  /** For `grpc-accept-encoding`. */
  names(): string[] {
    return ['identity', ...this.byName.keys()];
  }
}
