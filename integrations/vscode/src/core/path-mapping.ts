/**
 * Between the editor's files and the paths agents put in `code.file.path`.
 *
 * - To the collector (CodeLens): a file inside a workspace folder is sent workspace-relative
 *   (`src/orders/service.ts`), so it matches spans from any machine or container the code ran
 *   on; the collector matches by suffix at a segment boundary (collector/src/query/code-methods.ts).
 *   A file outside every folder is sent as its absolute path.
 * - From a span (jump to source): the reported path as it is when that file exists inside a
 *   workspace folder (never a file outside every folder); else, for
 *   each workspace folder, the reported path with its leading segments dropped one at a time
 *   (`/build/app/src/x.ts` → `<folder>/build/app/src/x.ts`, `<folder>/app/src/x.ts`,
 *   `<folder>/src/x.ts`, down to the last two segments): the longest suffix that exists wins, so a path reported from a CI
 *   runner or a container finds the checkout's file; last, a search for files ending with the
 *   reported path when it is relative (Java reports `com/acme/Foo.java` under `src/main/java/`) —
 *   only when exactly one file matches, never a guess between several.
 *
 * Paths are handled as POSIX text after `\` → `/`; the editor adapter gives file-system paths.
 */
import { posix } from 'node:path';

/** `\` → `/`, repeated slashes and leading `./` removed; a Windows drive letter kept. */
export function normalisePath(path: string): string {
  return path.replaceAll('\\', '/').replace(/\/{2,}/g, '/').replace(/^(\.\/)+/, '');
}

/** The path to ask the collector about for a file at `filePath` (absolute, file-system). */
export function requestPathFor(filePath: string, workspaceFolders: readonly string[]): string {
  const file = normalisePath(filePath);
  let best: string | undefined;
  for (const folder of workspaceFolders) {
    const root = normalisePath(folder).replace(/\/+$/, '');
    if (file.startsWith(`${root}/`) && (best === undefined || root.length > best.length)) best = root;
  }
  return best === undefined ? file : file.slice(best.length + 1);
}

export interface FileLookup {
  /** True when an absolute path names an existing file. */
  exists(path: string): Promise<boolean>;
  /** Files in the workspace whose path ends with `/<suffix>` (absolute paths), at most `max`. */
  findBySuffix(suffix: string, max: number): Promise<string[]>;
}

export type Resolution = { kind: 'file'; path: string } | { kind: 'ambiguous'; candidates: string[] } | { kind: 'missing' };

/** Paths tried per folder: how many leading segments of the reported path may be dropped. */
const MAX_SEGMENTS = 64;

/** Where the file a span names is in this workspace (see the module comment). */
export async function resolveSpanFile(reported: string, workspaceFolders: readonly string[], lookup: FileLookup): Promise<Resolution> {
  const path = normalisePath(reported.trim());
  if (path === '' || path.endsWith('/') || path.split('/').includes('..')) return { kind: 'missing' };
  // As reported only inside a workspace folder: a span (anyone with an ingest token can send one)
  // must not open `/etc/passwd` or `~/.ssh/id_rsa` in the editor.
  if (isAbsolute(path) && insideFolder(path, workspaceFolders) && (await lookup.exists(path))) return { kind: 'file', path };
  const segments = path.split('/').filter((s) => s !== '' && !/^[A-Za-z]:$/.test(s));
  // Down to the last two segments: a bare file name would find any file of that name.
  const lastDrop = Math.min(Math.max(segments.length - 2, 0), MAX_SEGMENTS);
  for (let drop = 0; drop <= lastDrop; drop++) {
    const tail = segments.slice(drop).join('/');
    for (const folder of workspaceFolders) {
      const candidate = posix.join(normalisePath(folder), tail);
      if (await lookup.exists(candidate)) return { kind: 'file', path: candidate };
    }
  }
  // Relative paths only (Java's package path, Rust's crate path): an absolute one was tried above
  // under every folder with any number of leading segments dropped.
  if (isAbsolute(path)) return { kind: 'missing' };
  const found = await lookup.findBySuffix(segments.join('/'), 2);
  if (found.length === 1) return { kind: 'file', path: found[0]! };
  if (found.length > 1) return { kind: 'ambiguous', candidates: found };
  return { kind: 'missing' };
}

/** True when a normalised absolute path is under one of the folders (drive letters compared case-insensitively). */
function insideFolder(path: string, workspaceFolders: readonly string[]): boolean {
  const fold = (p: string) => p.replace(/^[A-Za-z]:/, (drive) => drive.toLowerCase());
  return workspaceFolders.some((folder) => fold(path).startsWith(`${fold(normalisePath(folder)).replace(/\/+$/, '')}/`));
}

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:\//.test(path);
}
