import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Makes a directory's entries (files created, renamed) durable: fsync on a file only covers its
 * contents. Platforms that cannot open a directory (Windows) persist entries with the file.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    if (isCode(err, 'EISDIR', 'EPERM', 'EACCES')) return;
    throw err;
  }
  try {
    await fh.sync();
  } catch (err) {
    if (!isCode(err, 'EINVAL', 'EBADF', 'EPERM')) throw err;
  } finally {
    await fh.close();
  }
}

/** Writes all buffers at `position`, finishing short writes. */
export async function writeAll(fh: FileHandle, buffers: readonly Uint8Array[], position: number): Promise<void> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  let written = (await fh.writev(buffers, position)).bytesWritten;
  if (written >= total) return;
  // Rare (libuv already retries): write the rest from one contiguous copy.
  const rest = Buffer.concat(buffers).subarray(written);
  for (let off = 0; off < rest.length; ) {
    const { bytesWritten } = await fh.write(rest, off, rest.length - off, position + written + off);
    if (bytesWritten === 0) throw new Error('write made no progress');
    off += bytesWritten;
  }
}

/** Appends to a file (created if missing) and fsyncs its contents. */
export async function appendDurably(path: string, data: Uint8Array): Promise<void> {
  const fh = await open(path, 'a', 0o600);
  try {
    await fh.write(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Replaces `path` atomically: readers see the old or the new content whole, also after a crash. */
export async function replaceDurably(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}

export function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes(String((err as { code?: unknown }).code));
}
