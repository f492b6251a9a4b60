// Virtual environments for the Python agent's tests, made from PyPI by the test set-up itself and
// cached outside the repository (~/.cache/flowtrace/python/<version>/), so that a clean machine
// passes and a warm run installs nothing: a venv is remade only when pyproject.toml changes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = process.env.FLOWTRACE_PYTHON_CACHE ?? join(homedir(), '.cache', 'flowtrace', 'python');
const SUPPORTED = [[3, 9], [3, 10], [3, 11], [3, 12], [3, 13]];

/** The pyenv interpreters of the supported minor versions, oldest first: [{version, python}]. */
export function supportedPythons() {
  const root = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  const found = new Map();
  const names = existsSync(root) ? readdirSync(root) : [];
  for (const name of names) {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(name);
    if (!m) continue;
    const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!SUPPORTED.some(([a, b]) => a === major && b === minor)) continue;
    const python = join(root, name, 'bin', 'python');
    if (!existsSync(python)) continue;
    const key = `${major}.${minor}`;
    const prev = found.get(key);
    if (prev === undefined || prev.patch < patch) found.set(key, { version: name, minor, patch, python });
  }
  return [...found.values()].sort((a, b) => a.minor - b.minor).map(({ version, python }) => ({ version, python }));
}

/** The oldest and the newest supported interpreter (one when only one is there). */
export function oldestAndNewest() {
  const all = supportedPythons();
  if (all.length <= 1) return all;
  return [all[0], all[all.length - 1]];
}

function stampOf(python) {
  const h = createHash('sha256');
  h.update(readFileSync(join(AGENT_DIR, 'pyproject.toml')));
  h.update(python);
  return h.digest('hex');
}

/**
 * The venv for one interpreter, with the agent installed editable and its test extras; returns the
 * venv's python. Made (or remade) only when missing or when pyproject.toml changed; pointed at this
 * checkout (the agent alone, no dependencies) when it was made from another.
 */
export function ensureVenv({ version, python }, log = (line) => process.stderr.write(`${line}\n`)) {
  const dir = join(CACHE_DIR, version);
  const venv = join(dir, 'venv');
  const venvPython = join(venv, 'bin', 'python');
  const stampFile = join(dir, 'stamp');
  const sourceFile = join(dir, 'source');
  const stamp = stampOf(python);
  if (existsSync(venvPython) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    // The agent is installed editable: a venv made from another checkout (a CI clone since removed)
    // would import that one's sources, or none. Point it at this checkout; its dependencies stay.
    if (!existsSync(sourceFile) || readFileSync(sourceFile, 'utf8') !== AGENT_DIR) {
      log(`python ${version}: installing the agent from ${AGENT_DIR} into the cached venv`);
      execFileSync(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '-e', AGENT_DIR], { stdio: 'inherit', timeout: 600_000 });
      writeFileSync(sourceFile, AGENT_DIR);
    }
    return venvPython;
  }
  log(`python ${version}: making ${venv} (pip, from PyPI)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-e', `${AGENT_DIR}[test]`], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  writeFileSync(stampFile, stamp);
  writeFileSync(sourceFile, AGENT_DIR);
  return venvPython;
}
