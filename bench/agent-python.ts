/**
 * `npm run bench:agent-python`: what the FlowTrace Python agent costs, per traced call and at start-up.
 *
 * Per call (agents/python/bench/agent_bench.py, run in the newest Python 3.9–3.13 under pyenv, in
 * the test virtual environment, ~/.cache/flowtrace/python/<version>/): median nanoseconds per call
 * of `work(x) = x + 1` over --rounds rounds (the variants taking turns) of --calls calls, every span made and OTLP-encoded by a
 * batch span processor (the encoding is what the OTLP exporter does short of the network):
 *
 *   no_agent              the function, loaded before the agent
 *   excluded              the same function in a module FLOWTRACE_EXCLUDE / the filter leaves out
 *   traced                the agent's wrapper (import hook): span with code.* attributes and correlation ID
 *   hand_written_span     `with tracer.start_as_current_span(…)` around the function, same SDK pipeline
 *   hand_written_same_attributes  the same, with the agent's code.* attributes
 *   setprofile_*          the alternative: a sys.setprofile hook making the same span, and what it costs
 *                         every other (excluded) call in the process
 *   monitoring_*          the alternative on 3.12+: sys.monitoring PY_START/PY_RETURN on that code object
 *
 * Start-up: wall time of `python -c "import bench_traced"` with and without `flowtrace-instrument`
 * (which loads the SDK and every installed official instrumentation), median of --startup-runs.
 *
 * Prints a table and writes bench/results/agent-python.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_DIR, ensureVenv, oldestAndNewest } from '../agents/python/scripts/venv.mjs';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '7' },
    'startup-runs': { type: 'string', default: '7' },
  },
});

const ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench/results/agent-python.json');
const BENCH_DIR = join(AGENT_DIR, 'bench');

const newest = oldestAndNewest().at(-1);
if (newest === undefined) throw new Error('no Python 3.9–3.13 under ~/.pyenv/versions');
const python = ensureVenv(newest);
const bin = dirname(python);
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OTEL_|FLOWTRACE_)/.test(k)));

function runBench(): Record<string, number | string> {
  const r = spawnSync(python, [join(BENCH_DIR, 'agent_bench.py')], {
    cwd: BENCH_DIR,
    env: { ...cleanEnv, BENCH_CALLS: values.calls, BENCH_ROUNDS: values.rounds },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`agent_bench.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
}

/** Median wall milliseconds of a command that imports the benchmark module and exits. */
function startup(withAgent: boolean, runs: number): number {
  const cmd = withAgent ? join(bin, 'flowtrace-instrument') : python;
  const args = withAgent ? [python, '-c', 'import bench_traced'] : ['-c', 'import bench_traced'];
  // No collector here: the agent must start and exit without one (its exporter is made lazily).
  const env = { ...cleanEnv, PYTHONPATH: BENCH_DIR, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'none' };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: BENCH_DIR, env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`start-up run failed:\n${r.stderr}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}

const perCall = runBench();
const runs = Number(values['startup-runs']);
// The variants take turns so that a busy moment of the machine hits both.
const plain: number[] = [];
const agent: number[] = [];
for (let i = 0; i < runs; i++) {
  plain.push(startup(false, 1));
  agent.push(startup(true, 1));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', loadavg: loadavg() },
  perCall,
  startupMs: { noAgent: median(plain), flowtraceInstrument: median(agent), added: Math.round((median(agent) - median(plain)) * 10) / 10, runs },
};
mkdirSync(dirname(RESULTS), { recursive: true });
writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);

const us = (k: string): string => (typeof perCall[k] === 'number' ? `${((perCall[k] as number) / 1000).toFixed(2)} µs` : 'n/a');
console.log(`Python ${String(perCall.python)}, ${String(perCall.calls_per_round)} calls × ${String(perCall.rounds)} rounds, median per call:`);
for (const [label, key] of [
  ['no agent', 'no_agent_ns'],
  ['excluded function (agent on)', 'excluded_ns'],
  ['traced (import hook, FlowTrace)', 'traced_ns'],
  ['hand-written OTel span', 'hand_written_span_ns'],
  ['hand-written, same attributes', 'hand_written_same_attributes_ns'],
  ['sys.setprofile, traced', 'setprofile_traced_ns'],
  ['sys.setprofile, any other call', 'setprofile_excluded_ns'],
  ['sys.monitoring, traced', 'monitoring_traced_ns'],
  ['sys.monitoring, any other call', 'monitoring_excluded_ns'],
] as const) {
  console.log(`  ${label.padEnd(34)} ${us(key)}`);
}
console.log(`start-up: ${result.startupMs.noAgent} ms without, ${result.startupMs.flowtraceInstrument} ms with flowtrace-instrument (+${result.startupMs.added} ms)`);
console.log(`wrote ${RESULTS}`);
