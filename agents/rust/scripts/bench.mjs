// `npm run bench:agent-rust`: the Rust agent's per-call cost (flowtrace/benches/agent.rs, built
// with cargo's bench profile), written to bench/results/agent-rust.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
env.CARGO_TARGET_DIR ??= join(homedir(), '.cache', 'flowtrace', 'cargo-target');
const r = spawnSync('cargo', ['bench', '-p', 'flowtrace', '--bench', 'agent', '--locked'], {
  cwd: WORKSPACE,
  env,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (r.status !== 0) process.exit(r.status ?? 1);
const result = JSON.parse(r.stdout);
const out = join(WORKSPACE, '..', '..', 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'agent-rust.json'), `${JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2)}\n`);
for (const row of result.results) console.log(`${row.case.padEnd(28)} ${row.ns_per_call.toFixed(1).padStart(8)} ns`);
