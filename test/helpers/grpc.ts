import { Client, credentials, Metadata, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';

const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** `TraceService/Export` with raw bytes in and out, for grpc-js test servers standing in for an OTLP peer. */
export const traceService: ServiceDefinition = {
  Export: {
    path: EXPORT,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

export interface GrpcOutcome {
  error?: ServiceError;
  response?: Buffer;
}

/** One raw `TraceService/Export` call with the given bytes, as any OTLP client would make it. */
export function grpcExport(endpoint: string, body: Buffer, options: { gzip?: boolean; authorization?: string } = {}): Promise<GrpcOutcome> {
  const client = new Client(endpoint.replace(/^http:\/\//, ''), credentials.createInsecure(), {
    'grpc.default_compression_algorithm': options.gzip ? 2 : 0,
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadataOf(options.authorization),
      (error, response) => {
        client.close();
        resolve(error ? { error } : { response: response! });
      },
    );
  });
}

function metadataOf(authorization: string | undefined): Metadata {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return metadata;
}
