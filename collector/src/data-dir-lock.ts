import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Thrown when another live collector holds the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dataDir} is in use by another flowtrace collector (pid ${pid}); give each collector its own --data`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * One collector per data directory: its durable queues (and the embedded ClickHouse) would be
 * corrupted by a second writer. A lock file holds the owner's pid; a lock left by a process
 * that is gone (a crash, SIGKILL) is taken over.
 */
export class DataDirLock {
  private readonly file: string;
  private held = false;

  constructor(dataDir: string) {
    this.file = join(resolve(dataDir), 'flowtrace.lock');
  }

  acquire(): void {
    mkdirSync(resolve(this.file, '..'), { recursive: true });
    for (;;) {
      try {
        writeFileSync(this.file, `${process.pid}\n`, { flag: 'wx' });
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(readLock(this.file), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) throw new DataDirInUseError(resolve(this.file, '..'), owner);
      rmSync(this.file, { force: true }); // stale: its process is gone
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    rmSync(this.file, { force: true });
  }
}

function readLock(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
