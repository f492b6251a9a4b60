import { z } from 'zod';

/**
 * TLS for one listening port. Empty `cert_file` means plain text. With `client_ca_file`,
 * clients must present a certificate signed by it (mTLS). The files are re-read when they change.
 */
export const tlsConfigSchema = z
  .object({
    cert_file: z.string().default(''),
    key_file: z.string().default(''),
    client_ca_file: z.string().default(''),
  })
  .strict()
  .refine((t) => (t.cert_file === '') === (t.key_file === ''), { message: 'cert_file and key_file go together', path: ['key_file'] })
  .refine((t) => t.client_ca_file === '' || t.cert_file !== '', { message: 'client_ca_file needs cert_file and key_file', path: ['client_ca_file'] });

export type TlsConfig = z.infer<typeof tlsConfigSchema>;

/** Connection limits for one listening port. */
export const connectionLimitsSchema = z
  .object({
    max_connections: z.number().int().min(1).default(1024),
    /** A connection with no request in flight for this long is closed. */
    idle_timeout_seconds: z.number().int().min(1).default(60),
    /** The request head must arrive within this. */
    headers_timeout_seconds: z.number().int().min(1).default(10),
    /** The whole request (head and body) must arrive within this. */
    request_timeout_seconds: z.number().int().min(1).default(60),
  })
  .strict();

export type ConnectionLimits = z.infer<typeof connectionLimitsSchema>;

/** Browser origins allowed to call a port (CORS); empty means CORS is off. */
export const corsConfigSchema = z
  .object({
    allowed_origins: z.array(z.string().min(1)).default([]),
  })
  .strict();
