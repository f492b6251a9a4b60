import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { endpointFlag, flowtraceRoot } from './init-common.js';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';

const USAGE = `Usage: flowtrace init python [options] [DIR]

Prints how to run the Python application in DIR (default: the current folder)
under the FlowTrace agent: the install line, the settings and the exact start
command for what it finds (FastAPI under uvicorn, Flask or Django under
gunicorn, a package run with python -m). The include filter it proposes is the
project's own top-level packages and modules, as the agent's own default.

The Python agent reads environment variables only, so there is nothing to
write: copy the lines.

Options:
  --service NAME    service name (default: the pyproject.toml name, else the folder's name)
  --endpoint URL    the collector's OTLP/gRPC endpoint (default http://localhost:4317)
  --include LIST    comma-separated include filter (default: the project's packages)
  --capture-args    also record method arguments (capped, secrets masked)
  -h, --help        show this help
`;

const DEFAULT_ENDPOINT = 'http://localhost:4317';
/** Folders never searched: environments, caches, build output, tests. */
const SKIPPED_FOLDERS = new Set(['venv', 'env', 'node_modules', 'build', 'dist', 'site-packages', 'tests', 'test', 'docs', 'migrations', '__pycache__']);
const MAX_DEPTH = 4;
const MAX_FILES = 2000;
const MODULE_NAME = /^[A-Za-z_]\w*$/;
/** Top-level files that are tooling, not the application. */
const NOT_APPLICATION = new Set(['setup', 'manage', 'conftest', 'noxfile', 'fabfile']);

export type Framework = 'fastapi' | 'flask' | 'django' | 'none';

export interface PythonProject {
  dir: string;
  name: string;
  framework: Framework;
  /** `pkg.module:app` for uvicorn/gunicorn, or the Django WSGI module; undefined when not found. */
  appTarget: string | undefined;
  /** Where it was found, for the reader. */
  appFrom: string | undefined;
  /** The project's own top-level packages and modules (the include proposed). */
  packages: string[];
  /** A package with __main__.py, run with python -m. */
  mainPackage: string | undefined;
}

/** A problem with the folder (missing, not a Python project): exit code 2. */
class InitError extends Error {}

function readText(file: string): string {
  try {
    return statSync(file).size > 1_000_000 ? '' : readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every .py file of the project, relative paths with '/', skipping environments and tests. */
function pythonFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string, depth: number): void => {
    if (depth > MAX_DEPTH || found.length >= MAX_FILES) return;
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(folder, e.name);
      if (e.isDirectory()) {
        if (SKIPPED_FOLDERS.has(e.name) || e.name.startsWith('.') || existsSync(join(full, 'pyvenv.cfg'))) continue;
        walk(full, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.py') && found.length < MAX_FILES) {
        found.push(relative(dir, full).split(sep).join('/'));
      }
    }
  };
  walk(dir, 0);
  return found.sort();
}

/** 'src/shop/api/main.py' → 'shop.api.main' (a src/ layout's folder is not part of the name). */
export function moduleName(file: string): string | undefined {
  const parts = file.replace(/\.py$/, '').split('/');
  if (parts[0] === 'src' && parts.length > 1) parts.shift();
  if (parts[parts.length - 1] === '__init__') parts.pop();
  return parts.length > 0 && parts.every((p) => MODULE_NAME.test(p)) ? parts.join('.') : undefined;
}

function projectName(dir: string): string {
  const text = readText(join(dir, 'pyproject.toml'));
  const project = /^\[project\]([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(text)?.[1] ?? '';
  // One line: a TOML string has no line break, and a name that spans lines would print a line of its
  // own into the instructions the user copies into a shell.
  return /^name\s*=\s*["']([^"'\r\n]+)["']/m.exec(project)?.[1] ?? /^name\s*=\s*["']([^"'\r\n]+)["']/m.exec(text)?.[1] ?? basename(dir);
}

/** The first module that makes an application object: `<name> = FastAPI(` / `Flask(`. */
function findApp(dir: string, files: string[], ctor: 'FastAPI' | 'Flask'): { target: string; from: string } | undefined {
  const re = new RegExp(`^([A-Za-z_]\\w*)\\s*(?::[^=]+)?=\\s*(?:\\w+\\.)?${ctor}\\(`, 'm');
  for (const f of files) {
    const m = re.exec(readText(join(dir, f)));
    const mod = moduleName(f);
    if (m && mod !== undefined) return { target: `${mod}:${m[1]}`, from: f };
  }
  return undefined;
}

export function detectPythonProject(dir: string): PythonProject {
  if (!existsSync(dir)) throw new InitError(`${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new InitError(`${dir} is not a folder`);
  const files = pythonFiles(dir);
  if (files.length === 0) throw new InitError(`no Python files in ${dir}: run this in a Python project, or name its folder`);

  const packages = new Set<string>();
  for (const f of files) {
    const parts = (f.startsWith('src/') ? f.slice(4) : f).split('/');
    const top = parts.length === 1 ? parts[0]!.replace(/\.py$/, '') : parts[0]!;
    // A top-level module, or a folder holding Python files (a package, namespace packages too).
    if (MODULE_NAME.test(top) && !NOT_APPLICATION.has(top)) packages.add(top);
  }
  const mainPackage = files.map((f) => /^(?:src\/)?([A-Za-z_]\w*)\/__main__\.py$/.exec(f)?.[1]).find((p) => p !== undefined);

  let framework: Framework = 'none';
  let appTarget: string | undefined;
  let appFrom: string | undefined;
  if (existsSync(join(dir, 'manage.py'))) {
    framework = 'django';
    const wsgi = files.find((f) => f.endsWith('/wsgi.py') && /get_wsgi_application/.test(readText(join(dir, f))));
    if (wsgi !== undefined) {
      appTarget = `${moduleName(wsgi)}:application`;
      appFrom = wsgi;
    }
  } else {
    const fastapi = findApp(dir, files, 'FastAPI');
    const flask = fastapi === undefined ? findApp(dir, files, 'Flask') : undefined;
    const found = fastapi ?? flask;
    if (found !== undefined) {
      framework = fastapi !== undefined ? 'fastapi' : 'flask';
      appTarget = found.target;
      appFrom = found.from;
    }
  }
  return { dir, name: projectName(dir), framework, appTarget, appFrom, packages: [...packages].sort(), mainPackage };
}

function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

const LABEL: Record<Framework, string> = { fastapi: 'FastAPI', flask: 'Flask', django: 'Django', none: 'no web framework found' };

export function renderPythonInstructions(p: PythonProject, opts: { service: string; endpoint: string; include: string[]; captureArgs: boolean; agentDir: string }): string {
  const lines = [`# FlowTrace agent for ${p.name} (${LABEL[p.framework]}${p.appTarget ? `, ${p.appTarget}` : ''})`];
  if (p.appFrom !== undefined) lines.push(`# application found in ${p.appFrom}`);
  lines.push('', '# Install (in the application\'s virtual environment)');
  lines.push(`pip install ${shellQuote(opts.agentDir)}`);
  lines.push('# more official instrumentations for the libraries installed (psycopg, SQLAlchemy, redis, celery…):');
  lines.push('opentelemetry-bootstrap -a install');

  lines.push('', '# Settings');
  lines.push(`export OTEL_SERVICE_NAME=${shellQuote(opts.service)}`);
  lines.push(`export OTEL_EXPORTER_OTLP_ENDPOINT=${shellQuote(opts.endpoint)}`);
  if (opts.include.length > 0) lines.push(`export FLOWTRACE_INCLUDE=${shellQuote(opts.include.join(','))}`);
  else lines.push('# FLOWTRACE_INCLUDE unset: every module under the folder you start from, outside site-packages, is traced');
  if (opts.captureArgs) lines.push('export FLOWTRACE_CAPTURE_ARGS=true');

  lines.push('', `# Start (from ${p.dir})`);
  const target = p.appTarget;
  switch (p.framework) {
    case 'fastapi':
      lines.push(`flowtrace-instrument uvicorn ${target} --host 0.0.0.0 --port 8000`);
      lines.push('# or with workers (each re-creates its exporter after fork):');
      lines.push(`flowtrace-instrument gunicorn -k uvicorn.workers.UvicornWorker -w 4 ${target}`);
      break;
    case 'flask':
      lines.push(`flowtrace-instrument gunicorn -w 4 -b 0.0.0.0:8000 ${target}`);
      lines.push('# or the development server (the reloader would start a second, untraced process):');
      lines.push(`flowtrace-instrument flask --app ${target} run --no-reload`);
      break;
    case 'django':
      lines.push(target !== undefined ? `flowtrace-instrument gunicorn -w 4 -b 0.0.0.0:8000 ${target}` : 'flowtrace-instrument gunicorn -w 4 -b 0.0.0.0:8000 <project>.wsgi:application');
      lines.push('# or the development server (the reloader would start a second, untraced process):');
      lines.push('flowtrace-instrument python manage.py runserver --noreload');
      break;
    case 'none':
      lines.push(p.mainPackage !== undefined ? `flowtrace-instrument python -m ${p.mainPackage}` : 'flowtrace-instrument python <your script>.py');
      break;
  }
  lines.push('# or, keeping the start command as it is: opentelemetry-instrument <command> (FlowTrace\'s distro is installed)');
  return `${lines.join('\n')}\n`;
}

export const initPythonCommand: Command = {
  path: ['init', 'python'],
  summary: 'print how to run a Python app (FastAPI, Flask, Django) under the FlowTrace agent',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      service: { type: 'string' },
      endpoint: { type: 'string' },
      include: { type: 'string' },
      'capture-args': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError('expected at most one project folder');
    const endpoint = endpointFlag(values.endpoint, DEFAULT_ENDPOINT);
    const include = values.include?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const entry of include ?? []) {
      if (/[\s'"]/.test(entry)) throw new UsageError(`--include entries must not contain spaces or quotes, got "${entry}"`);
    }
    const dir = resolve(io.cwd, positionals[0] ?? '.');
    try {
      const project = detectPythonProject(dir);
      const agentDir = join(flowtraceRoot() ?? io.cwd, 'agents/python');
      io.stdout.write(
        renderPythonInstructions(project, {
          service: values.service ?? project.name,
          endpoint,
          include: include ?? project.packages,
          captureArgs: values['capture-args'] === true,
          agentDir,
        }),
      );
      return 0;
    } catch (err) {
      if (!(err instanceof InitError)) throw err;
      io.stderr.write(`flowtrace init python: ${err.message}\n`);
      return 2;
    }
  },
};
