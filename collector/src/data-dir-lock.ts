import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

/**
 * `fs-native-extensions` (Holepunch): an exclusive non-blocking lock on an open file, from the
 * prebuilt binary inside the package (Linux: an open-file-description lock, F_OFD_SETLK, which
 * behaves as flock: held by the open file, released by the kernel when the process exits
 * however it exits). Node has no flock of its own.
 */
const { tryLock } = createRequire(import.meta.url)('fs-native-extensions') as { tryLock(fd: number): boolean };

/** Thrown when another live collector holds the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder's pid as it wrote it, when readable. */
    readonly pid: number | undefined,
  ) {
    super(`data directory ${dataDir} is in use by another flowtrace collector (pid ${pid ?? 'unknown'}); give each collector its own --data`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * One collector per data directory: its durable queues (and the embedded ClickHouse) would be
 * corrupted by a second writer. The collector holds an OS lock on `flowtrace.lock` for its whole
 * life; the kernel drops it on any exit (a crash, SIGKILL), so there is no stale lock to judge
 * and no pid to trust. The pid written into the file only names the holder in the error message.
 */
export class DataDirLock {
  private readonly dir: string;
  private readonly file: string;
  private fd: number | undefined;

  constructor(dataDir: string) {
    this.dir = resolve(dataDir);
    this.file = join(this.dir, 'flowtrace.lock');
  }

  acquire(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const fd = openSync(this.file, constants.O_RDWR | constants.O_CREAT, 0o600);
    let locked = false;
    try {
      locked = tryLock(fd);
    } finally {
      if (!locked) closeSync(fd);
    }
    if (!locked) throw new DataDirInUseError(this.dir, readPid(this.file));
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    this.fd = fd;
  }

  /** Releases the lock. The file stays: removing it would let a second collector lock a new file beside one still held. */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
