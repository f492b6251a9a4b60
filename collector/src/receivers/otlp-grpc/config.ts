import type { ConnectionLimits, TlsConfig } from '../../server/config.js';

export interface OtlpGrpcConfig {
  /** `host:port`. */
  endpoint: string;
  /** Largest message accepted, after decompression. */
  maxMessageBytes: number;
  /** TLS (and mTLS with a client CA); plain text (h2c) when absent or without `cert_file`. */
  tls?: TlsConfig;
  /** Connection cap and timeouts; none when absent (tests). */
  limits?: ConnectionLimits;
}
