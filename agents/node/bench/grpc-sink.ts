// An OTLP/gRPC endpoint that accepts trace exports and discards them without
// decoding, in its own process, so that the benchmark measures the agent only.
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;
const server = new grpc.Server();
let requests = 0;
let bytes = 0;
server.addService(
  {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      requests++;
      bytes += call.request.length;
      callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse
    },
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${port}\n`);
});
process.on('SIGTERM', () => {
  process.stderr.write(`sink: ${requests} exports, ${bytes} bytes\n`);
  server.forceShutdown();
  process.exit(0);
});
