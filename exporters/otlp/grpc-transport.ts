import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { grpcExportError } from './classify.js';
import type { TlsMaterial } from './tls.js';
import type { Transport } from './transport.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** grpc-js's compression algorithm numbers. */
const GZIP = 2;
const IDENTITY = 0;

export interface GrpcTransportOptions {
  /** `host:port`. */
  target: string;
  /** TLS material, or undefined for plain text. */
  tls: TlsMaterial | undefined;
  headers: Record<string, string>;
  gzip: boolean;
  timeoutMs: number;
  userAgent: string;
  /** The unary method to call; TraceService/Export when absent (LogsService/Export for logs). */
  path?: string;
}

/**
 * OTLP/gRPC with raw bytes: the payload is already an encoded request (concatenated
 * records), so the call serializes nothing, like the receiver's service definition.
 */
export class GrpcTransport implements Transport {
  private readonly client: Client;
  private readonly metadata: Metadata;

  constructor(private readonly options: GrpcTransportOptions) {
    this.client = new Client(options.target, channelCredentials(options.tls), {
      'grpc.default_compression_algorithm': options.gzip ? GZIP : IDENTITY,
      'grpc.primary_user_agent': options.userAgent,
      // Exports are batches: no reason to cap them below what the backend accepts.
      'grpc.max_send_message_length': -1,
    });
    this.metadata = new Metadata();
    for (const [name, value] of Object.entries(options.headers)) {
      const key = name.toLowerCase();
      // Binary metadata (`-bin`) carries bytes: the configured value is taken as base64.
      if (key.endsWith('-bin')) this.metadata.set(key, Buffer.from(value, 'base64'));
      else this.metadata.set(key, value);
    }
  }

  send(payload: Buffer): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        this.options.path ?? EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        payload,
        this.metadata.clone(),
        { deadline: Date.now() + this.options.timeoutMs },
        (err: ServiceError | null, response?: Buffer) => {
          if (err) {
            const details = err.metadata?.get('grpc-status-details-bin')[0];
            reject(grpcExportError(err.code, err.details, Buffer.isBuffer(details) ? details : undefined));
          } else {
            resolve(response ?? new Uint8Array(0));
          }
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

function channelCredentials(tls: TlsMaterial | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, { rejectUnauthorized: tls.rejectUnauthorized });
}
