import { constants } from 'node:fs';
import { once } from 'node:events';
import { lstat, mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';

export interface RotatingFileOptions {
  /** An absolute directory; every file is made directly inside it. */
  directory: string;
  prefix: string;
  maxBytes: number;
  maxAgeMs: number;
  compress: boolean;
  /** Closed files kept, newest first; older ones are deleted. 0: no limit. */
  maxClosedFiles?: number;
  /** Closed files last written longer ago than this are deleted. 0: no limit. */
  maxClosedAgeMs?: number;
  /** A closed file retention could not delete (never fails a write: retention is best effort). */
  onRetentionError?: (err: unknown, path: string) => void;
  now?: () => number;
}

/** New files: created, never opened if they exist or are symbolic links, readable by the owner only. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_NOFOLLOW;
const READ = constants.O_RDONLY | constants.O_NOFOLLOW;
const FILE_MODE = 0o600;

/** The directory is not one FlowTrace may write to. */
export class UnsafeDirectoryError extends Error {
  override name = 'UnsafeDirectoryError';
}

/**
 * Appends whole lines to `<prefix>-<UTC time>-<n, 6 digits>.jsonl` (names sort in write order within a run) in one directory, closing the file
 * when the next write would take it past `maxBytes` or it is older than `maxAgeMs`, then
 * gzipping it to `.jsonl.gz` (written under a temporary name, renamed when complete, the plain
 * file removed after). Every write is whole lines and is fsynced before it resolves, so that a
 * crash leaves at most one unfinished line at the end of the open file; `open` cuts such a
 * line off every `.jsonl` file of this prefix left behind, and compresses them.
 *
 * Retention (`maxClosedFiles`, `maxClosedAgeMs`) deletes closed files after each rotation, on
 * the age timer and at open, and only ever its own: a name this prefix's pattern makes
 * (`<prefix>-<YYYYMMDDTHHMMSSZ>-<nnnnnn>.jsonl[.gz]`, checked whole), directly inside the
 * directory, that is a regular file (a symbolic link is never followed nor counted), and not the
 * file being written.
 */
export class RotatingFile {
  private handle: FileHandle | undefined;
  private path = '';
  private size = 0;
  private openedAt = 0;
  private sequence = 0;
  private readonly now: () => number;

  constructor(private readonly options: RotatingFileOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Checks and prepares the directory and finishes what a previous run left open. */
  async open(): Promise<void> {
    const { directory } = this.options;
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const stat = await lstat(directory);
    if (stat.isSymbolicLink()) throw new UnsafeDirectoryError(`${directory} is a symbolic link; give the real directory`);
    if (!stat.isDirectory()) throw new UnsafeDirectoryError(`${directory} is not a directory`);
    const names = (await readdir(directory)).filter((name) => this.ours(name)).sort();
    // Compressions that did not finish go first (their .jsonl is still there and is compressed again).
    for (const name of names) if (name.endsWith('.jsonl.gz.tmp') && (await this.plainFile(name))) await unlink(join(directory, name));
    for (const name of names) {
      if (!name.endsWith('.jsonl') || !(await this.plainFile(name))) continue;
      const path = join(directory, name);
      await cutUnfinishedLine(path);
      if (this.options.compress) await this.compress(path);
    }
    await this.prune();
  }

  /** A regular file, not a link planted among ours (never followed). */
  private async plainFile(name: string): Promise<boolean> {
    return (await lstat(join(this.options.directory, name))).isFile();
  }

  /** Appends `lines` (whole lines, each ending in '\n') to the current file, rotating first when due. */
  async append(lines: Uint8Array): Promise<void> {
    if (lines.length === 0) return;
    if (this.handle && (this.size + lines.length > this.options.maxBytes || this.now() - this.openedAt >= this.options.maxAgeMs)) await this.rotate();
    const handle = this.handle ?? (await this.create());
    await writeAll(handle, lines);
    await handle.datasync();
    this.size += lines.length;
  }

  /** Closes the current file if it is older than `maxAgeMs` (for a timer: a quiet file still rotates). */
  async rotateIfOld(): Promise<void> {
    if (this.handle && this.now() - this.openedAt >= this.options.maxAgeMs) await this.rotate();
    // Closed files age out on the timer too, when nothing is written.
    else await this.prune();
  }

  /** Closes (and compresses) the current file; the next append starts a new one. */
  async rotate(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    this.handle = undefined;
    await handle.close();
    if (this.options.compress) await this.compress(this.path);
    await this.prune();
  }

  /**
   * Applies retention: deletes this file's own closed files beyond `maxClosedFiles` (the oldest
   * by name, which sorts in write order) and those last written more than `maxClosedAgeMs` ago.
   * Returns the names deleted. A file that cannot be deleted is reported to `onRetentionError`,
   * never thrown: retention must not fail a write.
   */
  async prune(): Promise<string[]> {
    const { maxClosedFiles = 0, maxClosedAgeMs = 0, directory } = this.options;
    if (maxClosedFiles <= 0 && maxClosedAgeMs <= 0) return [];
    const report = this.options.onRetentionError ?? (() => undefined);
    let names: string[];
    try {
      names = (await readdir(directory)).filter((name) => this.rotatedName.test(name) && join(directory, name) !== this.current).sort();
    } catch (err) {
      report(err, directory);
      return [];
    }
    const closed: Array<{ name: string; mtimeMs: number }> = [];
    for (const name of names) {
      // lstat: a link planted under one of our names is neither followed nor deleted.
      const stat = await lstat(join(directory, name)).catch(() => undefined);
      if (stat?.isFile()) closed.push({ name, mtimeMs: stat.mtimeMs });
    }
    const now = this.now();
    const doomed = closed.filter((f, i) => (maxClosedFiles > 0 && i < closed.length - maxClosedFiles) || (maxClosedAgeMs > 0 && now - f.mtimeMs > maxClosedAgeMs));
    const deleted: string[] = [];
    for (const { name } of doomed) {
      try {
        await unlink(join(directory, name));
        deleted.push(name);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(err, join(directory, name));
      }
    }
    return deleted;
  }

  /** Exactly the names `create` makes (plain or compressed), for this prefix and no other. */
  private get rotatedName(): RegExp {
    return this.namePattern('(?:\\.gz)?');
  }

  /** `<prefix>-<YYYYMMDDTHHMMSSZ>-<nnnnnn>.jsonl` then `suffix` (a regular expression), anchored. */
  private namePattern(suffix: string): RegExp {
    const prefix = this.options.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`^${prefix}-\\d{8}T\\d{6}Z-\\d{6,}\\.jsonl${suffix}$`);
  }

  /** The file being written, '' when none is open. */
  get current(): string {
    return this.handle ? this.path : '';
  }

  private async create(): Promise<FileHandle> {
    const stamp = new Date(this.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    // O_EXCL: a name taken (by an earlier run in the same second) moves on to the next number.
    for (;;) {
      const path = join(this.options.directory, `${this.options.prefix}-${stamp}-${String(++this.sequence).padStart(6, '0')}.jsonl`);
      // A name whose compressed file exists (an earlier run's, in the same second) is taken too.
      if (await exists(`${path}.gz`)) continue;
      try {
        this.handle = await open(path, CREATE, FILE_MODE);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      this.path = path;
      this.size = 0;
      this.openedAt = this.now();
      return this.handle;
    }
  }

  private async compress(path: string): Promise<void> {
    const target = `${path}.gz`;
    const temporary = `${target}.tmp`;
    // Never replace a compressed file (create() keeps names apart; this guards against anything else).
    if (await exists(target)) throw new Error(`${target} exists already; ${path} is left uncompressed`);
    const source = await open(path, READ);
    const { atime, mtime } = await source.stat().catch(async (err: unknown) => {
      await source.close();
      throw err;
    });
    const sink = await open(temporary, CREATE & ~constants.O_APPEND, FILE_MODE).catch(async (err: unknown) => {
      await source.close();
      throw err;
    });
    try {
      const gzip = createGzip();
      const written = (async () => {
        for await (const chunk of gzip as AsyncIterable<Buffer>) await writeAll(sink, chunk);
      })();
      for (;;) {
        const chunk = Buffer.allocUnsafe(256 * 1024); // a new one each time: zlib may hold on to it
        const { bytesRead } = await source.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        if (!gzip.write(chunk.subarray(0, bytesRead))) await once(gzip, 'drain');
      }
      gzip.end();
      await written;
      // Retention ages a file from its last write, not from its compression.
      await sink.utimes(atime, mtime);
      await sink.datasync();
    } finally {
      await sink.close();
      await source.close();
    }
    await rename(temporary, target);
    await unlink(path);
  }

  /**
   * A file a previous run left open or half-compressed: exactly a name `create` makes, so that
   * another prefix sharing the directory (`spans` and `spans-other`) is never touched.
   */
  private ours(name: string): boolean {
    return this.namePattern('(?:\\.gz\\.tmp)?').test(name);
  }
}

/** Cuts a file after its last '\n': what a crash left of an unfinished write goes, every whole line stays. */
export async function cutUnfinishedLine(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (at >= 0) {
        if (start + at + 1 < size) await handle.truncate(start + at + 1);
        return;
      }
      end = start;
    }
    if (size > 0) await handle.truncate(0);
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += (await handle.write(bytes, written)).bytesWritten;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
