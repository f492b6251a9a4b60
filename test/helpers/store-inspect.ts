import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** Runs in a child: opens the embedded store and prints each query's rows as one JSON line. */
const SCRIPT = `
import { Session } from 'chdb';
const [path, ...queries] = process.argv.slice(1);
const session = new Session(path);
try {
  for (const q of queries) {
    const text = (await session.queryAsync(q, { format: 'JSONEachRow' })).text();
    process.stdout.write(JSON.stringify(text.split('\\n').filter(Boolean).map((line) => JSON.parse(line))) + '\\n');
  }
} finally {
  session.close();
}
`;

/**
 * Reads a STOPPED collector's embedded store with the engine's full rights, for tests that
 * inspect what the guest SQL path rightly refuses (system tables, DDL, every table's rows).
 * It runs in a child process: the embedded engine binds one data directory per process.
 */
export async function inspectStore<T = Record<string, unknown>>(dataDir: string, queries: string[]): Promise<T[][]> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT, resolve(dataDir), ...queries], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T[]);
}
