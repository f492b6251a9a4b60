export interface OtlpHttpConfig {
  /** `host:port`. */
  endpoint: string;
  /** Largest body accepted, measured after decompression. */
  maxBodyBytes: number;
}
