/**
 * `npm run bench:agent-java`: what the FlowTrace Java agent costs, per traced call and at start-up.
 *
 * Builds the agent (agents/java) and the JMH benchmark (agents/java/bench, which also fetches the
 * official OpenTelemetry Java agent 2.31.1 as published), starts an OTLP/HTTP sink in its own process
 * (bench/otlp-http-sink.ts), then times one call of `com.acme.bench.Work.checksum(int)` with JMH,
 * each case in its own forked JVMs started with that case's `-javaagent` and `-D` flags:
 *
 *   none                no agent
 *   official            the official agent, `otel.instrumentation.methods.include` on the method
 *   flowtrace           the FlowTrace agent, `flowtrace.include` on the method's class
 *   flowtrace-excluded  the FlowTrace agent, the class excluded by `flowtrace.exclude`
 *   flowtrace-capture   as flowtrace, with `flowtrace.capture.args` and `flowtrace.capture.return`
 *
 * Both agents export over OTLP/HTTP (protobuf) to the sink, with the same batch span processor
 * settings (the SDK defaults, spelled out below); metrics and logs exporters are off for both.
 * With `--spans-only`, official and flowtrace run once more with `otel.traces.exporter=none`
 * (see the README's Cost section for what that compares).
 *
 * Start-up: the time from launching `java … com.acme.bench.Ready` to its `ready` line, with no
 * agent, the official agent and the FlowTrace agent (default include, so `com.acme` is traced),
 * median of --startup-runs launches, the variants taking turns.
 *
 * Prints a table and writes bench/results/agent-java.json.
 * Flags: --no-build, --rounds N (2: the cases take turns, one JMH fork each per round), --warmup N (5 × 1 s), --iterations N (5) of --iteration-seconds S (1),
 * --startup-runs N (7), --spans-only / --no-spans-only (on), --only CASE[,CASE].
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'no-build': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '5' },
    'iteration-seconds': { type: 'string', default: '1' },
    'startup-runs': { type: 'string', default: '7' },
    'spans-only': { type: 'boolean', default: true },
    'no-spans-only': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

const ROOT = resolve(import.meta.dirname, '..');
const AGENT_POM = join(ROOT, 'agents/java/pom.xml');
const BENCH_DIR = join(ROOT, 'agents/java/bench');
const FLOWTRACE_JAR = join(ROOT, 'agents/java/target/flowtrace-agent.jar');
const OFFICIAL_JAR = join(BENCH_DIR, 'target/official/opentelemetry-javaagent.jar');
const RESULTS = join(ROOT, 'bench/results/agent-java.json');
const METHOD_CLASS = 'com.acme.bench.Work';
const BENCHMARK = 'dev.flowtrace.bench.MethodCallBenchmark';

/** The batch span processor, the same for both agents: the SDK's defaults, written out. */
const BATCH = ['-Dotel.bsp.schedule.delay=5000', '-Dotel.bsp.max.queue.size=2048', '-Dotel.bsp.max.export.batch.size=512', '-Dotel.bsp.export.timeout=30000'];

interface Case {
  name: string;
  label: string;
  jvmArgs: string[];
}

function otlp(port: number): string[] {
  return [
    '-Dotel.service.name=agent-java-bench',
    `-Dotel.exporter.otlp.endpoint=http://127.0.0.1:${port}`,
    '-Dotel.exporter.otlp.protocol=http/protobuf',
    '-Dotel.metrics.exporter=none',
    '-Dotel.logs.exporter=none',
    ...BATCH,
  ];
}

function cases(port: number, spansOnly: boolean): Case[] {
  const official = [`-javaagent:${OFFICIAL_JAR}`, `-Dotel.instrumentation.methods.include=${METHOD_CLASS}[checksum]`];
  const flowtrace = [`-javaagent:${FLOWTRACE_JAR}`, `-Dflowtrace.include=${METHOD_CLASS}`];
  const list: Case[] = [
    { name: 'none', label: 'no agent', jvmArgs: [] },
    { name: 'official', label: 'official agent 2.31.1, methods.include', jvmArgs: [...official, ...otlp(port)] },
    { name: 'flowtrace', label: 'FlowTrace, method traced', jvmArgs: [...flowtrace, ...otlp(port)] },
    {
      name: 'flowtrace-excluded',
      label: 'FlowTrace, class excluded',
      jvmArgs: [`-javaagent:${FLOWTRACE_JAR}`, '-Dflowtrace.include=com.acme', `-Dflowtrace.exclude=${METHOD_CLASS}`, ...otlp(port)],
    },
    {
      name: 'flowtrace-capture',
      label: 'FlowTrace, traced + args/return',
      jvmArgs: [...flowtrace, '-Dflowtrace.capture.args=true', '-Dflowtrace.capture.return=true', ...otlp(port)],
    },
  ];
  if (spansOnly) {
    list.push(
      { name: 'official-none', label: 'official, traces.exporter=none', jvmArgs: [...official, ...otlp(port), '-Dotel.traces.exporter=none'] },
      { name: 'flowtrace-none', label: 'FlowTrace, traces.exporter=none', jvmArgs: [...flowtrace, ...otlp(port), '-Dotel.traces.exporter=none'] },
    );
  }
  const only = values.only?.split(',');
  return only === undefined ? list : list.filter((c) => only.includes(c.name));
}

/** The environment of every JVM here: nothing the agents would read from the caller's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OTEL_|FLOWTRACE_|JAVA_TOOL_OPTIONS$|_JAVA_OPTIONS$|JDK_JAVA_OPTIONS$)/.test(k)) env[k] = v;
  }
  return env;
}

function build(): void {
  const mvn = (pom: string) => execFileSync('nice', ['-n', '10', 'mvn', '-q', '-f', pom, 'package', '-DskipTests'], { stdio: 'inherit' });
  process.stdout.write('building agents/java and agents/java/bench…\n');
  mvn(AGENT_POM);
  mvn(join(BENCH_DIR, 'pom.xml'));
}

async function startSink(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/otlp-http-sink.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error('the sink did not start within 30 s')), 30_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolveLine(l);
    });
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return { port: Number(line), child };
}

async function sinkStats(port: number): Promise<{ requests: number; bytes: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  return (await res.json()) as { requests: number; bytes: number };
}

interface JmhResult {
  benchmark: string;
  primaryMetric: { score: number; scoreError: number; scoreConfidence: [number, number]; scoreUnit: string; rawData: number[][] };
}

interface Stats {
  nsPerOp: number;
  error: number;
  confidence: [number, number];
  medianNsPerOp: number;
  /** ns/op of each measurement iteration, one array per fork. */
  iterations: number[][];
}

/** The two benchmark methods: the call under an open request span, and the call that starts a trace. */
const METHODS = ['inRequest', 'rootCall'] as const;
type Method = (typeof METHODS)[number];

interface CaseResult {
  name: string;
  label: string;
  inRequest: Stats;
  rootCall: Stats;
  exports: number;
  exportedBytes: number;
  /** The fork's `flowtrace:` start-up line, the proof of what FlowTrace was told to trace. */
  agentLine: string | undefined;
  jvmArgs: string[];
}

function runJmh(c: Case, classpath: string, work: string): Promise<{ results: JmhResult[]; output: string }> {
  const out = join(work, `${c.name}.json`);
  const args = [
    '-cp',
    classpath,
    'org.openjdk.jmh.Main',
    BENCHMARK,
    '-f', '1',
    '-wi', values.warmup!, '-w', '1s',
    '-i', values.iterations!, '-r', `${values['iteration-seconds']}s`,
    '-rf', 'json', '-rff', out,
  ];
  // JMH splits an -jvmArgsAppend value at spaces: one flag per value keeps paths whole.
  for (const a of c.jvmArgs) args.push('-jvmArgsAppend', a);
  return new Promise((resolveRun, reject) => {
    const child = spawn('java', args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`JMH for ${c.name} exited with ${code}:\n${output.slice(-4000)}`));
        return;
      }
      const results = JSON.parse(readFileSync(out, 'utf8')) as JmhResult[];
      if (results.length !== METHODS.length) reject(new Error(`JMH for ${c.name} wrote no result (a fork failed):\n${output.slice(-4000)}`));
      else resolveRun({ results, output });
    });
  });
}

/** Launches the start-up probe once; resolves to the milliseconds until its `ready` line. */
function timeStartup(jvmArgs: string[], classes: string): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('java', [...jvmArgs, '-cp', classes, 'com.acme.bench.Ready'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let ms: number | undefined;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (ms === undefined && line.startsWith('ready')) ms = Number(process.hrtime.bigint() - started) / 1e6;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 || ms === undefined) reject(new Error(`start-up probe exited with ${code} before ready:\n${stderr.slice(-2000)}`));
      else resolveRun(ms);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Student's t at 99.9% (two-sided), by degrees of freedom: JMH's error bars, pooled over forks. */
const T999 = [636.62, 31.6, 12.92, 8.61, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587, 4.437, 4.318, 4.221, 4.14, 4.073, 4.015, 3.965, 3.922, 3.883, 3.85, 3.819, 3.792, 3.768, 3.745, 3.725, 3.707, 3.69, 3.674, 3.659, 3.646];

function meanAndError(xs: number[]): { mean: number; error: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, error: Number.NaN };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const t = T999[n - 2] ?? (n - 1 <= 60 ? 3.46 : 3.291);
  return { mean, error: (t * sd) / Math.sqrt(n) };
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  const spansOnly = values['spans-only'] === true && values['no-spans-only'] !== true;
  if (!values['no-build']) build();
  const classes = join(BENCH_DIR, 'target/classes');
  const classpath = `${classes}:${readFileSync(join(BENCH_DIR, 'target/classpath.txt'), 'utf8').trim()}`;
  const work = mkdtempSync(join(tmpdir(), 'flowtrace-bench-java-'));
  const sink = await startSink();
  try {
    const javaVersion = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.trim();
    // The cases take turns, one fork each, round after round: on a shared machine a burst of
    // load then lands on every case alike instead of on whichever case was running.
    const list = cases(sink.port, spansOnly);
    const samples = new Map<string, { forks: Record<Method, number[][]>; exports: number; bytes: number; agentLine: string | undefined }>(
      list.map((c) => [c.name, { forks: { inRequest: [], rootCall: [] }, exports: 0, bytes: 0, agentLine: undefined }]),
    );
    const rounds = Number(values.rounds);
    for (let round = 1; round <= rounds; round++) {
      for (const c of list) {
        const before = await sinkStats(sink.port);
        const { results, output } = await runJmh(c, classpath, work);
        const after = await sinkStats(sink.port);
        const s = samples.get(c.name)!;
        const score: Partial<Record<Method, number>> = {};
        for (const r of results) {
          const method = r.benchmark.slice(r.benchmark.lastIndexOf('.') + 1) as Method;
          s.forks[method].push(...r.primaryMetric.rawData);
          score[method] = r.primaryMetric.score;
        }
        s.exports += after.requests - before.requests;
        s.bytes += after.bytes - before.bytes;
        s.agentLine ??= /^flowtrace: .*$/m.exec(output)?.[0];
        process.stdout.write(`round ${round}/${rounds} ${c.name.padEnd(18)} in a request ${fmt(score.inRequest ?? NaN, 2)} ns/op, starting a trace ${fmt(score.rootCall ?? NaN, 2)} ns/op, ${after.requests - before.requests} OTLP exports\n`);
      }
    }
    const stats = (forks: number[][]): Stats => {
      const all = forks.flat();
      const { mean, error } = meanAndError(all);
      return { nsPerOp: mean, error, confidence: [mean - error, mean + error], medianNsPerOp: median(all), iterations: forks };
    };
    const results: CaseResult[] = list.map((c) => {
      const s = samples.get(c.name)!;
      return {
        name: c.name,
        label: c.label,
        inRequest: stats(s.forks.inRequest),
        rootCall: stats(s.forks.rootCall),
        exports: s.exports,
        exportedBytes: s.bytes,
        agentLine: s.agentLine,
        jvmArgs: c.jvmArgs,
      };
    });

    const runs = Number(values['startup-runs']);
    const variants: { name: string; label: string; jvmArgs: string[] }[] = [
      { name: 'none', label: 'no agent', jvmArgs: [] },
      { name: 'official', label: 'official agent 2.31.1, methods.include', jvmArgs: [`-javaagent:${OFFICIAL_JAR}`, `-Dotel.instrumentation.methods.include=${METHOD_CLASS}[checksum]`, ...otlp(sink.port)] },
      { name: 'flowtrace', label: 'FlowTrace (default include: com.acme)', jvmArgs: [`-javaagent:${FLOWTRACE_JAR}`, ...otlp(sink.port)] },
    ];
    const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    process.stdout.write(`start-up: ${runs} launches per variant…\n`);
    await timeStartup([], classes); // a first launch to warm the file cache, not counted
    for (let i = 0; i < runs; i++) {
      for (const v of variants) times.get(v.name)!.push(await timeStartup(v.jvmArgs, classes));
    }
    const base = median(times.get('none')!);
    const startup = variants.map((v) => ({ name: v.name, label: v.label, medianMs: median(times.get(v.name)!), addedMs: median(times.get(v.name)!) - base, runsMs: times.get(v.name)! }));

    const cell = (x: Stats) => `${fmt(x.nsPerOp)} ± ${fmt(x.error)} | ${fmt(x.medianNsPerOp)}`;
    const lines = [
      '',
      `| case | in a request: ns/op ± 99.9% CI | median | starting a trace: ns/op ± 99.9% CI | median | OTLP exports |`,
      `| --- | --- | --- | --- | --- | --- |`,
      ...results.map((r) => `| ${r.label} | ${cell(r.inRequest)} | ${cell(r.rootCall)} | ${r.exports} |`),
      '',
      `| start-up (to "ready", median of ${runs}) | ms | added |`,
      `| --- | --- | --- |`,
      ...startup.map((s) => `| ${s.label} | ${fmt(s.medianMs, 0)} | ${s.name === 'none' ? '' : `+${fmt(s.addedMs, 0)}`} |`),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n(${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end)\n`);
    for (const r of results) if (r.agentLine) process.stdout.write(`${r.name}: ${r.agentLine}\n`);

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(
      RESULTS,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          java: javaVersion.split('\n')[0],
          cpus: cpus().length,
          // Other work on the machine during the run widens the error bars: the 1-minute load average at the end.
          loadAverage: loadavg()[0],
          jmh: { rounds: Number(values.rounds), forksPerRound: 1, warmupIterations: `${values.warmup} x 1 s`, iterations: `${values.iterations} x ${values['iteration-seconds']} s`, mode: 'avgt', error: '99.9% confidence' },
          method: `${METHOD_CLASS}.checksum(int)`,
          batch: BATCH,
          calls: results,
          startup,
        },
        null,
        2,
      )}\n`,
    );
    process.stdout.write(`wrote ${RESULTS}\n`);
  } finally {
    sink.child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
