import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Which modules get their functions wrapped. Entries are prefixes of a module's
 * path relative to the project root (`src/`, `./lib/orders`), prefixes of a
 * package path (`@acme/`, `lodash/fp`), absolute path prefixes, or `/regex/flags`
 * tested against the absolute file path.
 */
export type FilterEntry =
  | { kind: 'project' }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'path'; abs: string }
  | { kind: 'regex'; re: RegExp };

const REGEX_ENTRY = /^\/(.+)\/([dgimsuy]*)$/;

/** Parses a comma-separated list (or an array) of entries; problems name the setting. */
export function parseFilterEntries(raw: string | readonly string[], setting: string): { entries: FilterEntry[]; problems: string[] } {
  const items = typeof raw === 'string' ? raw.split(',') : raw;
  const entries: FilterEntry[] = [];
  const problems: string[] = [];
  for (const item of items) {
    const text = item.trim();
    if (text === '') continue;
    const m = REGEX_ENTRY.exec(text);
    if (m) {
      try {
        // The global and sticky flags make test() stateful: drop them.
        entries.push({ kind: 'regex', re: new RegExp(m[1], m[2].replace(/[gy]/g, '')) });
      } catch (err) {
        problems.push(`${setting}: invalid regular expression ${text} (${(err as Error).message})`);
      }
    } else if (isAbsolute(text)) {
      entries.push({ kind: 'path', abs: toSlashes(text) });
    } else {
      entries.push({ kind: 'prefix', prefix: toSlashes(text).replace(/^(\.\/)+/, '') });
    }
  }
  return { entries, problems };
}

// Never wrapped, whatever the filter says: the agent and what it runs on.
const NEVER_PACKAGES = [
  '@opentelemetry/',
  '@flowtrace/',
  '@fastify/otel/',
  '@grpc/',
  '@protobufjs/',
  'protobufjs/',
  'import-in-the-middle/',
  'require-in-the-middle/',
  'module-details-from-path/',
  'cjs-module-lexer/',
  'es-module-lexer/',
];

const NODE_MODULES = '/node_modules/';

function toSlashes(p: string): string {
  return p.replace(/\\/g, '/');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export interface FilterOptions {
  include: readonly FilterEntry[];
  exclude: readonly FilterEntry[];
  /** The application's folder (where its package.json is): the base of relative entries. */
  root: string;
  /** The agent's own folder, excluded always. */
  agentDir?: string;
}

export class ModuleFilter {
  private readonly include: readonly FilterEntry[];
  private readonly exclude: readonly FilterEntry[];
  private readonly root: string;
  private readonly agentDir: string | undefined;

  constructor(opts: FilterOptions) {
    // No include list means "the application's own code": every file under the
    // project root that is not inside node_modules.
    this.include = opts.include.length > 0 ? opts.include : [{ kind: 'project' }];
    this.exclude = opts.exclude;
    this.root = toSlashes(opts.root).replace(/\/+$/, '') + '/';
    this.agentDir = opts.agentDir === undefined ? undefined : toSlashes(opts.agentDir).replace(/\/+$/, '') + '/';
  }

  /** True when the functions of the module at this absolute path are to be traced. */
  matches(file: string): boolean {
    const path = toSlashes(file);
    if (!path.startsWith('/') && !/^[A-Za-z]:\//.test(path)) return false; // builtins, data: URLs
    if (this.agentDir !== undefined && path.startsWith(this.agentDir)) return false;
    const nm = path.lastIndexOf(NODE_MODULES);
    const inPackage = nm >= 0;
    const id = inPackage ? path.slice(nm + NODE_MODULES.length) : path.startsWith(this.root) ? path.slice(this.root.length) : path;
    if (inPackage && NEVER_PACKAGES.some((p) => id.startsWith(p))) return false;
    const hit = (e: FilterEntry): boolean => this.entryMatches(e, path, id, inPackage);
    return this.include.some(hit) && !this.exclude.some(hit);
  }

  private entryMatches(e: FilterEntry, path: string, id: string, inPackage: boolean): boolean {
    switch (e.kind) {
      case 'project':
        return !inPackage && path.startsWith(this.root);
      case 'prefix':
        return id.startsWith(e.prefix);
      case 'path':
        return path.startsWith(e.abs);
      case 'regex':
        return e.re.test(path);
    }
  }

  /**
   * Patterns for the ESM loader hook, tested against file URLs: a superset of
   * what matches() accepts, so that the loader only shims modules that may be
   * wrapped, and matches() makes the exact decision afterwards.
   */
  loaderPatterns(): RegExp[] {
    const rootUrl = pathToFileURL(this.root).href.replace(/\/?$/, '/');
    const out: RegExp[] = [];
    for (const e of this.include) {
      switch (e.kind) {
        case 'project':
          out.push(new RegExp(`^${escapeRegex(rootUrl)}(?!(?:.*/)?node_modules/)`));
          break;
        case 'prefix': {
          const url = pathToFileURL(join(this.root, e.prefix)).href;
          const exact = e.prefix.endsWith('/') && !url.endsWith('/') ? `${url}/` : url;
          out.push(new RegExp(`^${escapeRegex(exact)}`));
          out.push(new RegExp(escapeRegex(`${NODE_MODULES}${e.prefix}`)));
          break;
        }
        case 'path':
          out.push(new RegExp(`^${escapeRegex(pathToFileURL(e.abs).href)}`));
          break;
        case 'regex':
          out.push(/^file:\/\//);
          break;
      }
    }
    return out;
  }
}
