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
