// Tests that start applications under the agent need its compiled output. This
// builds it when the sources are newer than the last build; test files running
// in parallel (here and in the repository's test/) take turns through a lock
// folder, so only one compiles. Plain JavaScript so that both TypeScript
// projects (the agent's CommonJS one and the repository's ESM one) can use it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENT_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const REGISTER_CJS = join(AGENT_DIR, 'dist', 'src', 'register.js');
export const REGISTER_ESM = join(AGENT_DIR, 'dist', 'src', 'register.mjs');

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function ensureAgentBuilt() {
  const stamp = join(AGENT_DIR, 'dist', '.build-stamp');
  const lock = join(AGENT_DIR, '.build-lock');
  const sourcesTime = () =>
    String(Math.max(newestMtime(join(AGENT_DIR, 'src')), newestMtime(join(AGENT_DIR, 'bench')), newestMtime(join(AGENT_DIR, 'tsconfig.json'))));
  const fresh = () => existsSync(stamp) && readFileSync(stamp, 'utf8') === sourcesTime() && existsSync(REGISTER_CJS) && existsSync(REGISTER_ESM);
  for (;;) {
    if (fresh()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is building: wait for it, unless it died holding the lock.
      const owner = Number(existsSync(join(lock, 'pid')) ? readFileSync(join(lock, 'pid'), 'utf8') : NaN);
      if (Number.isInteger(owner) && !processAlive(owner)) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      if (fresh()) return;
      const before = sourcesTime();
      const tsc = join(dirname(createRequire(join(AGENT_DIR, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
      const r = spawnSync(process.execPath, [tsc, '-p', join(AGENT_DIR, 'tsconfig.json')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building the agent failed:\n${r.stdout}${r.stderr}`);
      writeFileSync(stamp, before);
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
