// `npm run bench:agent-go`: per-call cost of a function rewritten by flowtrace-go vs. a hand-written
// OpenTelemetry span with the same attributes vs. none, of an excluded function (not rewritten),
// and of the goroutine-local mechanism alone. Builds flowtrace-go, then runs the Go benchmarks of
// agents/go/bench with it; writes bench/results/agent-go.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(AGENT_DIR, '..', '..');
const tool = join(mkdtempSync(join(tmpdir(), 'flowtrace-go-bench-')), 'flowtrace-go');
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { cwd: AGENT_DIR, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    process.exit(1);
  }
  return r.stdout;
};
run('go', ['build', '-o', tool, './cmd/flowtrace-go']);
const count = Number(process.env.BENCH_COUNT ?? 5);
const out = run(tool, ['test', '-run', '^$', '-bench', '.', '-benchmem', '-count', String(count), './bench/'], {
  FLOWTRACE_EXCLUDE: '/\\.Excluded$/',
});
const samples = {};
for (const line of out.split('\n')) {
  const m = /^Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns\/op(?:\s+(\d+) B\/op\s+(\d+) allocs\/op)?/.exec(line);
  if (!m) continue;
  (samples[m[1]] ??= []).push({ ns: Number(m[2]), bytes: Number(m[3] ?? 0), allocs: Number(m[4] ?? 0) });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, {
  ns_per_call: median(s.map((x) => x.ns)), bytes_per_call: median(s.map((x) => x.bytes)), allocs_per_call: median(s.map((x) => x.allocs)), runs: s.length,
}]));
const labels = {
  None: 'no agent (plain function)',
  Excluded: 'excluded function (not rewritten), agent on',
  Traced: 'rewritten function: method span with code.* attributes and correlation ID',
  HandWritten: 'hand-written tracer.Start/End, same attributes',
  GoroutineLocalBind: 'goroutine-local set + restore (per request)',
  GoroutineLocalRead: 'goroutine-local read',
};
console.log('| case | ns/call | B/call | allocs/call |\n| --- | ---: | ---: | ---: |');
for (const [name, label] of Object.entries(labels)) {
  const r = results[name];
  if (r) console.log(`| ${label} | ${r.ns_per_call} | ${r.bytes_per_call} | ${r.allocs_per_call} |`);
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'agent-go.json'), JSON.stringify({ go: run('go', ['env', 'GOVERSION']).trim(), count, results }, null, 2) + '\n');
