import { z } from 'zod';

/**
 * The TLS settings every exporter's client shares (OTLP, Kafka): how it verifies the server
 * and, for mutual TLS, the certificate it presents. Each exporter adds its own switch.
 */
export const clientTlsFields = {
  /** PEM CA bundle that verifies the server, instead of the system's roots. */
  ca_file: z.string().min(1, 'must not be empty').optional(),
  /** PEM client certificate, for mutual TLS (with key_file). */
  cert_file: z.string().min(1, 'must not be empty').optional(),
  /** PEM private key of cert_file. */
  key_file: z.string().min(1, 'must not be empty').optional(),
  /** Accept any server certificate (no chain or host name check). For tests only. */
  insecure_skip_verify: z.boolean().default(false),
};

/** cert_file and key_file go together. */
export function checkClientCertPair(tls: { cert_file?: string; key_file?: string }, ctx: z.RefinementCtx): void {
  if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    const missing = tls.cert_file === undefined ? 'cert_file' : 'key_file';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'cert_file and key_file go together (mutual TLS needs both)' });
  }
}
