import { z } from 'zod';

/**
 * `storage.encryption:` encryption at rest of what FlowTrace writes under the data directory
 * (queues, journal, dead letters; the embedded engine's parts through its encrypted disk).
 * Off unless `key_file` or `key_env` is set. Keys never appear here: only where to read them.
 */
export const encryptionConfigSchema = z
  .object({
    /** File holding the primary key: 32 raw bytes, 64 hex digits or base64 (`openssl rand -hex 32`). Mode 0600 or stricter. */
    key_file: z.string().default(''),
    /** Environment variable holding the primary key (hex or base64), instead of key_file. */
    key_env: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, 'expected an environment variable name').default(''),
    /** Earlier primary keys, kept to read what was written under them (rotation). */
    previous_key_files: z.array(z.string().min(1, 'must not be empty')).max(16, 'at most 16 previous keys').default([]),
    previous_key_envs: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'))
      .max(16, 'at most 16 previous keys')
      .default([]),
    /**
     * Memory-backed directory (tmpfs) for the embedded engine's insert spool files, which the
     * engine reads with `file()` and so cannot be encrypted; refused when not memory-backed.
     */
    spool_dir: z.string().min(1, 'must not be empty').default('/dev/shm'),
  })
  .strict()
  .refine((e) => e.key_file === '' || e.key_env === '', { message: 'give key_file or key_env, not both', path: ['key_env'] })
  .refine((e) => e.key_file !== '' || e.key_env !== '' || (e.previous_key_files.length === 0 && e.previous_key_envs.length === 0), {
    message: 'previous keys need a primary key (key_file or key_env)',
    path: ['previous_key_files'],
  });

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;

export const encryptionEnabled = (c: EncryptionConfig): boolean => c.key_file !== '' || c.key_env !== '';
