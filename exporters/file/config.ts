import { z } from 'zod';

/**
 * The `file` exporter's settings (`exporters: file/<name>: …`). Everything that can be checked
 * without the disk is checked here; the directory itself (exists or can be made, is not a
 * symbolic link) is checked when the exporter starts.
 */
const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

export const fileConfigSchema = z
  .object({
    /** Where the files go (created, mode 0700, when missing). Nothing is ever written outside it. */
    directory: z
      .string({ error: (issue) => (issue.input === undefined ? 'required: the directory the span files are written to' : 'expected a path (a string)') })
      .min(1, 'must not be empty')
      .refine((p) => !p.includes('\0'), 'must not contain NUL'),
    /**
     * The start of every file name: `<prefix>-<UTC time>-<n>.jsonl`. A name, not a path: no
     * separators and no leading dot, so that no setting can point a file outside `directory`.
     */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'expected a file-name prefix: letters, digits, _ . - (no / or leading dot), at most 64 characters')
      .default('flowtrace-spans'),
    /** A file is closed once it holds this many MiB (a batch is never split across files). */
    max_file_mib: positiveInt.default(100),
    /** A file is closed once it has been open this long, even if small (checked at least every 10 s). */
    max_file_age_seconds: positiveInt.default(3600),
    /** Closed files are gzipped (`.jsonl.gz`) and the plain file removed. */
    compress: z.boolean().default(true),
    /**
     * Retention: closed files kept, newest first; older ones are deleted after each rotation.
     * Only this exporter's own rotated files count (its prefix's exact name pattern, regular
     * files directly in `directory`); the file being written never does. 0: keep every file.
     */
    max_closed_files: z.number().int('expected a whole number').min(0, 'must be 0 (no limit) or more').default(0),
    /** Retention: closed files last written longer ago than this many hours are deleted (checked every ≤10 s). 0: no limit. */
    max_closed_age_hours: z.number().int('expected a whole number').min(0, 'must be 0 (no limit) or more').default(0),
  })
  .strict();

export type FileExporterConfig = z.infer<typeof fileConfigSchema>;
