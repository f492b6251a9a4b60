import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authErrors, documentOnly, errorSchema } from '../query/route-schemas.js';
import { BackupRefusedError } from './backup.js';
import type { BackupService } from './backup-service.js';

/** A name only, never a path: the directory is always `storage.backup_dir` (backup-name.ts checks it). */
const body = z.object({ name: z.string().max(200).optional() }).strict().default({});

const tableSchema = { type: 'object', properties: { table: { type: 'string' }, rows: { type: 'integer' }, bytes: { type: 'integer' } } } as const;
const backupSchema = {
  summary: 'Back up the embedded store (every table of FlowTrace\'s database) into storage.backup_dir',
  description: 'Needs the admin scope. Runs while spans arrive; each table is consistent in itself. Only the embedded engine (a server: use its own BACKUP).',
  body: {
    type: 'object',
    additionalProperties: false,
    properties: { name: { type: 'string', maxLength: 100, description: 'the backup\'s directory name under storage.backup_dir (letters, digits, . _ -); default flowtrace-YYYYMMDD-HHMMSS' } },
  },
  response: {
    201: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        path: { type: 'string' },
        database: { type: 'string' },
        createdAt: { type: 'string', format: 'date-time' },
        clickhouseVersion: { type: 'string' },
        tables: { type: 'array', items: tableSchema },
        rows: { type: 'integer' },
        bytes: { type: 'integer' },
        durationMs: { type: 'integer' },
      },
    },
    400: { ...errorSchema, description: 'a bad name' },
    ...authErrors,
    409: {
      type: 'object',
      properties: { error: { type: 'string' }, reason: { type: 'string', enum: ['exists', 'busy', 'server'] } },
      description: 'a backup of that name exists, another backup is running, or storage is a server',
    },
  },
} as const;

/** `POST /api/admin/backup` — admin scope (auth/route-access.ts), audited as `storage.backup`. */
export function registerBackupRoutes(app: FastifyInstance, service: BackupService): void {
  app.post<{ Body: unknown }>('/api/admin/backup', { schema: backupSchema, validatorCompiler: documentOnly }, async (req, reply) => {
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply.code(400).send({ error: `${issue.path.join('.') || 'body'}: ${issue.message}` });
    }
    try {
      const summary = await service.backup(parsed.data.name);
      req.auditRows = summary.rows;
      req.log.info({ backup: summary.name, rows: summary.rows, bytes: summary.bytes, durationMs: summary.durationMs }, 'backup written');
      return reply.code(201).send(summary);
    } catch (err) {
      if (!(err instanceof BackupRefusedError)) throw err;
      return err.reason === 'bad-name' ? reply.code(400).send({ error: err.message }) : reply.code(409).send({ error: err.message, reason: err.reason });
    }
  });
}
