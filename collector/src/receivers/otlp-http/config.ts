import type { ConnectionLimits, TlsConfig } from '../../server/config.js';

export interface OtlpHttpConfig {
  /** `host:port`. */
  endpoint: string;
  /** Largest body accepted, measured after decompression. */
  maxBodyBytes: number;
  /** TLS (and mTLS with a client CA); plain HTTP when absent or without `cert_file`. */
  tls?: TlsConfig;
  /** Connection cap and timeouts; Node's defaults when absent (tests). */
  limits?: ConnectionLimits;
  /** Browser origins allowed to POST /v1/traces (`*` for any); CORS is off when empty. */
  corsOrigins?: string[];
}
