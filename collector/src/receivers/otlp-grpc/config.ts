export interface OtlpGrpcConfig {
  /** `host:port`. */
  endpoint: string;
  /** Largest message accepted, after decompression. */
  maxMessageBytes: number;
}
