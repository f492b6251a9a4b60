import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface GrpcOutcome {
  error?: ServiceError;
  response?: Buffer;
}

/** One raw `TraceService/Export` call with the given bytes, as any OTLP client would make it. */
export function grpcExport(endpoint: string, body: Buffer, options: { gzip?: boolean } = {}): Promise<GrpcOutcome> {
  const client = new Client(endpoint.replace(/^http:\/\//, ''), credentials.createInsecure(), {
    'grpc.default_compression_algorithm': options.gzip ? 2 : 0,
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new Metadata(),
      (error, response) => {
        client.close();
        resolve(error ? { error } : { response: response! });
      },
    );
  });
}
