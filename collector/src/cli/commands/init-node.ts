import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { endpointFlag } from './init-common.js';
import { extname, join, relative, resolve, sep } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';

const USAGE = `Usage: flowtrace init node [options] [DIR]

Prints how to run the Node.js application in DIR (default: the current folder)
under the FlowTrace agent: the install line, the settings and the exact start
command, with --require for CommonJS or --import for ES modules as the project
is. The include filter it proposes is the project's own source folders.

Options:
  --service NAME    service name (default: the name in package.json)
  --endpoint URL    the collector's OTLP/gRPC endpoint (default http://localhost:4317)
  --include LIST    comma-separated include filter (default: detected source folders)
  --entry FILE      the application's entry script (default: from package.json)
  --capture-args    also record method arguments (capped, secrets masked)
  --write           write flowtrace.config.json beside package.json
  --force           with --write, replace an existing flowtrace.config.json
  -h, --help        show this help
`;

export const AGENT_PACKAGE = '@flowtrace/agent-node';
const CONFIG_FILE = 'flowtrace.config.json';
const DEFAULT_ENDPOINT = 'http://localhost:4317';
/** Folders that usually hold an application's own code, in the order they are proposed. */
const SOURCE_FOLDERS = ['src', 'lib', 'app', 'server', 'api', 'routes', 'controllers', 'services', 'handlers', 'modules'];
/** Folders of compiled output: when the entry runs from one, that is the code that runs. */
const OUTPUT_FOLDERS = new Set(['dist', 'build', 'out']);
const JS_EXTENSIONS = new Set(['.js', '.mjs', '.cjs']);
const ENTRY_CANDIDATES = ['index.js', 'server.js', 'app.js', 'main.js', 'src/index.js', 'src/server.js', 'src/app.js', 'src/main.js'];

interface PackageJson {
  name?: string;
  type?: string;
  main?: string;
  scripts?: Record<string, string>;
}

export interface NodeProject {
  dir: string;
  name: string;
  /** Relative to dir, with forward slashes; undefined when none was found. */
  entry: string | undefined;
  esm: boolean;
  /** Include filter entries, e.g. `src/`; empty means the agent's default (the whole project). */
  include: string[];
}

function readPackage(dir: string): PackageJson {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) throw new InitError(`no package.json in ${dir}: run this in a Node.js project, or name its folder`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (err) {
    throw new InitError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A problem with the project rather than with the command line: exit code 1. */
class InitError extends Error {}

function toSlashes(p: string): string {
  return p.split(sep).join('/');
}

/** The script `npm start` runs with node, if it is that simple. */
function entryFromStartScript(script: string | undefined): string | undefined {
  const m = script === undefined ? null : /(?:^|&&|;)\s*node\s+(?:--?[\w-]+(?:[= ]\S+)?\s+)*([^\s-][^\s]*\.[cm]?[jt]s)\b/.exec(script);
  return m?.[1];
}

function findEntry(dir: string, pkg: PackageJson, given: string | undefined): string | undefined {
  const candidates = [given, pkg.main, entryFromStartScript(pkg.scripts?.start), ...ENTRY_CANDIDATES];
  for (const c of candidates) {
    if (c === undefined) continue;
    const full = resolve(dir, c);
    if (existsSync(full) && statSync(full).isFile()) return toSlashes(relative(dir, full));
    if (c === given) throw new InitError(`entry ${c} does not exist in ${dir}`);
  }
  return undefined;
}

/** True when the folder holds JavaScript that runs (not only TypeScript sources), looking a few levels down. */
function holdsJavaScript(dir: string, depth = 3): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    if (e.isFile() && JS_EXTENSIONS.has(extname(e.name))) return true;
  }
  if (depth === 0) return false;
  return entries.some((e) => e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.') && holdsJavaScript(join(dir, e.name), depth - 1));
}

/** Looks at a project: its name, entry script, module system and source folders. */
export function detectNodeProject(dir: string, entryGiven?: string): NodeProject {
  const pkg = readPackage(dir);
  const entry = findEntry(dir, pkg, entryGiven);
  const ext = entry === undefined ? '' : extname(entry);
  const esm = ext === '.mjs' || ext === '.mts' || (ext !== '.cjs' && ext !== '.cts' && pkg.type === 'module');
  const entryFolder = entry !== undefined && entry.includes('/') ? entry.split('/')[0] : undefined;
  let include: string[];
  if (entryFolder !== undefined && OUTPUT_FOLDERS.has(entryFolder)) {
    include = [`${entryFolder}/`];
  } else {
    const folders = SOURCE_FOLDERS.filter((f) => holdsJavaScript(join(dir, f)));
    if (entryFolder !== undefined && !folders.includes(entryFolder)) folders.unshift(entryFolder);
    include = folders.map((f) => `${f}/`);
  }
  return { dir, name: pkg.name ?? 'node-app', entry, esm, include };
}

function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export function renderInstructions(p: NodeProject, opts: { service: string; endpoint: string; include: string[]; captureArgs: boolean; wroteConfig: string | undefined }): string {
  const flag = p.esm ? '--import' : '--require';
  const lines = [
    `# FlowTrace agent for ${p.name} (${p.esm ? 'ES modules' : 'CommonJS'}${p.entry ? `, entry ${p.entry}` : ''})`,
    `npm install ${AGENT_PACKAGE}`,
    '',
  ];
  if (opts.wroteConfig !== undefined) {
    lines.push(`# Settings written to ${opts.wroteConfig} (environment variables still override them)`);
  } else {
    lines.push('# Settings');
    lines.push(`export OTEL_SERVICE_NAME=${shellQuote(opts.service)}`);
    lines.push(`export OTEL_EXPORTER_OTLP_ENDPOINT=${shellQuote(opts.endpoint)}`);
    if (opts.include.length > 0) lines.push(`export FLOWTRACE_INCLUDE=${shellQuote(opts.include.join(','))}`);
    else lines.push("# FLOWTRACE_INCLUDE unset: every file of the project outside node_modules is traced");
    if (opts.captureArgs) lines.push('export FLOWTRACE_CAPTURE_ARGS=true');
  }
  lines.push('', '# Start');
  lines.push(`node ${flag} ${AGENT_PACKAGE}/register ${p.entry ?? '<your entry script>'}`);
  lines.push('# or, keeping the start command as it is:');
  lines.push(`export NODE_OPTIONS="${flag} ${AGENT_PACKAGE}/register"`);
  if (p.entry !== undefined && /\.[cm]?ts$/.test(p.entry)) {
    lines.push('', '# The entry is TypeScript: run the compiled JavaScript under the agent, or load your TypeScript loader after the agent.');
  }
  return `${lines.join('\n')}\n`;
}

export const initNodeCommand: Command = {
  path: ['init', 'node'],
  summary: 'print (or write) how to run a Node.js app under the FlowTrace agent',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      service: { type: 'string' },
      endpoint: { type: 'string' },
      include: { type: 'string' },
      entry: { type: 'string' },
      'capture-args': { type: 'boolean' },
      write: { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError('expected at most one project folder');
    if (values.force && !values.write) throw new UsageError('--force only makes sense with --write');
    const endpoint = endpointFlag(values.endpoint, DEFAULT_ENDPOINT);
    const dir = resolve(io.cwd, positionals[0] ?? '.');
    try {
      const project = detectNodeProject(dir, values.entry);
      const include = values.include !== undefined ? values.include.split(',').map((s) => s.trim()).filter((s) => s !== '') : project.include;
      const service = values.service ?? project.name;
      const captureArgs = values['capture-args'] === true;
      let wroteConfig: string | undefined;
      if (values.write) {
        const file = join(dir, CONFIG_FILE);
        if (existsSync(file) && !values.force) throw new InitError(`${file} exists; add --force to replace it`);
        const config: Record<string, unknown> = { serviceName: service, endpoint };
        if (include.length > 0) config.include = include;
        if (captureArgs) config.captureArgs = true;
        writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
        wroteConfig = file;
      }
      io.stdout.write(renderInstructions(project, { service, endpoint, include, captureArgs, wroteConfig }));
      return 0;
    } catch (err) {
      if (!(err instanceof InitError)) throw err;
      io.stderr.write(`flowtrace init node: ${err.message}\n`);
      return 1;
    }
  },
};
