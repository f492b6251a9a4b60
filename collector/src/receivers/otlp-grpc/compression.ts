import type { Reservation } from '../in-flight-budget.js';
import { inflateWithin, MessageTooLargeError, type ZlibFormat } from '../inflate.js';

export { MessageTooLargeError };

/**
 * Inflates one message, never producing more than `maxBytes` (a bomb is refused, not inflated),
 * and reserving its output in the call's in-flight `reservation` as it is produced.
 */
export type Decompressor = (message: Buffer, maxBytes: number, reservation: Reservation) => Promise<Buffer>;

function zlibDecompressor(format: ZlibFormat): Decompressor {
  return async (message, maxBytes, reservation) => {
    try {
      return await inflateWithin(message, format, maxBytes, reservation);
    } catch (err) {
      if (err instanceof MessageTooLargeError) throw new MessageTooLargeError(`decompressed message exceeds the limit of ${maxBytes} bytes`);
      throw err;
    }
  };
}

/**
 * `grpc-encoding` → decompressor. A registry rather than a switch so that codecs the gRPC
 * libraries do not offer (zstd, snappy, which OpenTelemetry Collectors send) are one entry each.
 */
export class Decompressors {
  private readonly byName = new Map<string, Decompressor>();

  constructor() {
    this.register('gzip', zlibDecompressor('gzip'));
    this.register('deflate', zlibDecompressor('deflate'));
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
