import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, type Config } from './schema.js';

/** A configuration mistake, naming the key (as the user wrote it) and the problem. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

/**
 * Short names for the settings people change most, each usable as a CLI flag
 * (`--otlp-grpc`) and an environment variable (`FLOWTRACE_OTLP_GRPC`); every key also has
 * its long environment name, `FLOWTRACE_` + the path in upper case (`FLOWTRACE_STORAGE_RETENTION_DAYS`).
 */
export const SHORTCUTS: ReadonlyArray<{ flag: string; env: string; path: string; help: string }> = [
  { flag: 'role', env: 'FLOWTRACE_ROLE', path: 'role', help: 'all, ingest, process or query (README "Scaling out")' },
  { flag: 'otlp-grpc', env: 'FLOWTRACE_OTLP_GRPC', path: 'receivers.otlp.grpc.endpoint', help: 'OTLP/gRPC listen address' },
  { flag: 'otlp-http', env: 'FLOWTRACE_OTLP_HTTP', path: 'receivers.otlp.http.endpoint', help: 'OTLP/HTTP listen address' },
  { flag: 'api', env: 'FLOWTRACE_API', path: 'api.endpoint', help: 'query API listen address' },
  { flag: 'data', env: 'FLOWTRACE_DATA', path: 'storage.data_dir', help: 'embedded ClickHouse data directory' },
  { flag: 'clickhouse-url', env: 'CLICKHOUSE_URL', path: 'storage.clickhouse.url', help: 'ClickHouse server URL (embedded when empty)' },
  { flag: 'retention-days', env: 'FLOWTRACE_RETENTION_DAYS', path: 'storage.retention_days', help: 'days spans are kept (the default; storage.retention_rules for exceptions)' },
];

/** The ClickHouse client's usual variables, honoured as they are. */
const ENV_ALIASES: Record<string, string> = {
  CLICKHOUSE_USER: 'storage.clickhouse.username',
  CLICKHOUSE_PASSWORD: 'storage.clickhouse.password',
  CLICKHOUSE_DATABASE: 'storage.clickhouse.database',
  FLOWTRACE_REDACT_HASH_KEY: 'processors.redact.hash_key',
};

export interface LoadOptions {
  /** YAML file path; none means defaults + environment + overrides. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from the command line, by dotted path; strings are converted like env values. */
  overrides?: Array<{ path: string; value: string; source: string }>;
}

type Tree = { [key: string]: unknown };

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const defaults = configSchema.parse({}) as unknown as Tree;
  const leaves = leafPaths(defaults);
  const raw: Tree = options.file ? expandEnvReferences(readConfigFile(options.file), env, '') : {};
  // Where each value came from, so that an error names the key the user actually wrote.
  const sources = new Map<string, string>();

  const set = (path: string, text: string, source: string) => {
    const fallback = getPath(defaults, path);
    setPath(raw, path, coerce(text, fallback, source));
    sources.set(path, source);
  };
  for (const path of leaves) {
    const name = envName(path);
    if (env[name] !== undefined) set(path, env[name]!, name);
  }
  for (const [name, path] of Object.entries(ENV_ALIASES)) {
    if (env[name] !== undefined) set(path, env[name]!, name);
  }
  for (const s of SHORTCUTS) {
    if (env[s.env] !== undefined) set(s.path, env[s.env]!, s.env);
  }
  for (const o of options.overrides ?? []) {
    if (!leaves.includes(o.path)) throw new ConfigError(o.source, `unknown setting ${o.path}`);
    set(o.path, o.value, o.source);
  }

  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = [path, issue.keys[0]].filter(Boolean).join('.');
    throw new ConfigError(key, `unknown setting${suggestion(key, leaves)}`);
  }
  const where = sources.get(path) ?? path;
  throw new ConfigError(where, issue.message);
}

/** The long environment variable for a dotted path. */
export function envName(path: string): string {
  return 'FLOWTRACE_' + path.replace(/\./g, '_').toUpperCase();
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` line ${err.linePos[0].line}` : '';
    throw new ConfigError(file, `invalid YAML${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(file, 'expected a mapping of settings at the top level');
  return doc as Tree;
}

/**
 * `${env:NAME}` (or `${env:NAME:-default}`) in a config file's string values is replaced by the
 * environment variable, as in the OpenTelemetry Collector's configuration: secrets such as an
 * exporter's API key or authorization header then live in the environment (a Kubernetes Secret,
 * a Compose secret), never in the file. `$${` is a literal `${`. An unset variable without a
 * default is an error naming the key and the variable.
 */
function expandEnvReferences<T>(value: T, env: NodeJS.ProcessEnv, path: string): T {
  if (typeof value === 'string') {
    return value.replace(/\$(\$?)\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, escaped: string, name: string, fallback: string | undefined) => {
      if (escaped) return whole.slice(1);
      const v = env[name];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(path, `\${env:${name}} is not set in the environment`);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnvReferences(v, env, `${path}.${i}`)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnvReferences(v, env, path ? `${path}.${k}` : k)])) as T;
  }
  return value;
}

/** Environment and flag values are text: convert them to the type the setting has. */
function coerce(text: string, fallback: unknown, source: string): unknown {
  if (typeof fallback === 'number') {
    const n = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(n)) throw new ConfigError(source, `expected a number, got ${JSON.stringify(text)}`);
    return n;
  }
  if (Array.isArray(fallback)) {
    // Lists (allowed hosts, origins, processors) are comma-separated in the environment.
    return text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  if (typeof fallback === 'boolean') {
    const t = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(t)) return true;
    if (['false', '0', 'no', 'off'].includes(t)) return false;
    throw new ConfigError(source, `expected true or false, got ${JSON.stringify(text)}`);
  }
  return text;
}

function leafPaths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? leafPaths(v as Tree, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function getPath(tree: Tree, path: string): unknown {
  return path.split('.').reduce<unknown>((node, k) => (node as Tree | undefined)?.[k], tree);
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[k] = {};
    node = node[k] as Tree;
  }
  node[keys[keys.length - 1]!] = value;
}

/** "did you mean …" for a misspelt key: the known key sharing the same parent and last word. */
function suggestion(key: string, leaves: string[]): string {
  const last = key.split('.').pop()!.toLowerCase();
  const near = leaves.find((l) => l.toLowerCase().endsWith('.' + last) || l.split('.').pop()!.startsWith(last.slice(0, 4)));
  return near ? ` (did you mean ${near}?)` : '';
}
