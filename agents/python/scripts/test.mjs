// `npm run test:python`: the agent's pytest suite on the oldest and the newest Python 3.9–3.13
// found under pyenv, each in its cached virtual environment (see venv.mjs).
import { spawnSync } from 'node:child_process';
import { AGENT_DIR, ensureVenv, oldestAndNewest, supportedPythons } from './venv.mjs';

const all = supportedPythons();
const chosen = oldestAndNewest();
if (chosen.length === 0) {
  console.error('test:python: no Python 3.9–3.13 under ~/.pyenv/versions; install one with pyenv');
  process.exit(1);
}
const missing = ['3.9', '3.13'].filter((v) => !all.some((p) => p.version.startsWith(`${v}.`)));
if (missing.length > 0) console.log(`test:python: Python ${missing.join(' and ')} not found; testing on ${chosen.map((p) => p.version).join(' and ')}`);
let failed = false;
for (const install of chosen) {
  const python = ensureVenv(install);
  console.log(`test:python: pytest on Python ${install.version}`);
  const r = spawnSync(python, ['-m', 'pytest', '-q', 'tests'], { cwd: AGENT_DIR, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
