/**
 * The one error type the OTLP decoders throw. A receiver maps it to HTTP 400 /
 * gRPC INVALID_ARGUMENT and returns the message to the client, so the message must
 * name the problem and where it is (a byte offset for protobuf, a JSON path for JSON).
 */
export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

/**
 * A request that would take more memory as storage rows than the collector allows one request
 * (`receivers.otlp.max_in_flight_mib`): its resource or scope attributes repeat on every row, so
 * a small request of many spans under a large resource can make rows hundreds of times its size.
 * Receivers answer 413 / RESOURCE_EXHAUSTED without a retry hint: the same request would fail again.
 */
export class RequestTooLargeError extends Error {
  /** `noun`: what one row holds, `span` or `log record` (the logs path), as the message names it. */
  constructor(rowBytes: number, limitBytes: number, noun = 'span') {
    super(
      `the request would take more than ${limitBytes} bytes as storage rows (at least ${rowBytes}; every ${noun} repeats its resource's and scope's attributes), ` +
        `over receivers.otlp.max_in_flight_mib: send fewer ${noun}s per request or smaller resource attributes`,
    );
    this.name = 'RequestTooLargeError';
  }
}
