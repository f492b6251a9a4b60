// npm run bench:agent-node — the cost of one traced call, in ns, against a plain
// call and the same call with a hand-written @opentelemetry/api span, both in a
// sampled request context carrying a correlation ID. Two runs, each in its own
// process: "otlp" exports over OTLP/gRPC to a sink in another process and flushes
// every 512 calls (span start + end + export, amortised); "spans" hands spans to
// an exporter that drops them (span start + end + batching only).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { context, propagation, SpanKind, trace, type Attributes, type Context } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../src/config.js';
import { installCjsHook } from '../src/cjs-hook.js';
import { ModuleFilter } from '../src/filter.js';
import { MethodTracer } from '../src/method-tracer.js';
import { createPipeline, type Pipeline } from '../src/pipeline.js';
import { ModuleSource } from '../src/source.js';
import { isWrapper, makeCallSite, wrapFunction } from '../src/wrap.js';

const ROUND = 512; // the batch processor's export batch size
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 400);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);

type Work = (a: number, b: number) => number;

function work(a: number, b: number): number {
  return (a * 31 + b) | 0;
}

async function startSink(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(__dirname, 'grpc-sink.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolveLine, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return { port: Number(line), child };
}

/** ns per call over ROUNDS rounds of ROUND calls, each round followed by a flush. */
async function measure(pipeline: Pipeline, ctx: Context, fn: Work): Promise<number> {
  let total = 0n;
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    sink += context.with(ctx, () => {
      let acc = 0;
      for (let i = 0; i < ROUND; i++) acc += fn(i, r);
      return acc;
    });
    await pipeline.processor.forceFlush();
    total += process.hrtime.bigint() - t0;
  }
  if (sink === 0.5) console.log(sink); // keep the loop's result alive
  return Number(total) / (ROUNDS * ROUND);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

type Mode = 'otlp' | 'spans';
type CaseResults = Record<string, number>;

const dropAll: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: () => Promise.resolve(),
};

async function runMode(mode: Mode): Promise<CaseResults> {
  const sink = mode === 'otlp' ? await startSink() : undefined;
  const loaded = loadConfig({
    env: { OTEL_SERVICE_NAME: 'bench', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink?.port ?? 4317}` },
    cwd: resolve(__dirname, '..', '..'),
  });
  if (!loaded.ok || 'disabled' in loaded) throw new Error('bench config rejected');
  const config = loaded.config;
  const pipeline = createPipeline(config, { exporter: mode === 'spans' ? dropAll : undefined });
  const file = __filename;
  const info = { file, moduleName: 'agent-bench', source: ModuleSource.read(file) };
  const site = makeCallSite('Calc.add', 'Calc', work, info);
  const traced = wrapFunction(pipeline.methods, work, site);
  const withArgs = wrapFunction(
    new MethodTracer({
      storage: pipeline.contextManager.storage,
      sink: pipeline.processor,
      sdkTracer: pipeline.provider.getTracer('bench'),
      followsParent: true,
      captureArgs: true,
      captureReturn: true,
      maxValueBytes: config.maxValueBytes,
    }),
    work,
    site,
  );
  // The hand-written span carries the same attributes the agent puts on its own.
  const tracer = trace.getTracer('hand-written');
  const options = { kind: SpanKind.INTERNAL, attributes: site.attributes as Attributes };
  const handWritten: Work = (a, b) =>
    tracer.startActiveSpan('Calc.add', options, (span) => {
      try {
        return work(a, b);
      } finally {
        span.end();
      }
    });

  // A module outside the include filter, loaded through the require hook: it comes back untouched.
  const fixtures = resolve(__dirname, '..', '..', 'bench', 'fixtures');
  const hook = installCjsHook(pipeline.methods, new ModuleFilter({ include: [{ kind: 'prefix', prefix: 'src/' }], exclude: [], root: fixtures }), () => {});
  const untraced = (createRequire(__filename)(join(fixtures, 'untraced.cjs')) as { work: Work }).work;
  hook.unhook();

  // Every call runs inside a sampled request span that carries a correlation ID, as in a server.
  const request = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER });
  let ctx = trace.setSpan(context.active(), request);
  ctx = propagation.setBaggage(ctx, propagation.createBaggage({ 'flowtrace.correlation_id': { value: 'bench-correlation-id' } }));

  const cases: [string, Work][] = [
    ['plain', work],
    ['traced', traced],
    ['handWrittenOtel', handWritten],
    ['tracedWithArgsAndReturn', withArgs],
    ['untracedModule', untraced],
  ];
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (const [, fn] of cases) await measure(pipeline, ctx, fn); // warm-up
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const [name, fn] of cases) samples.get(name)!.push(await measure(pipeline, ctx, fn));
  }
  request.end();
  await pipeline.shutdown();
  sink?.child.kill('SIGTERM');
  if (!isWrapper(traced) || isWrapper(untraced)) throw new Error('the wrapper is not what the benchmark assumes');
  return Object.fromEntries(cases.map(([name]) => [name, Math.round(median(samples.get(name)!) * 10) / 10]));
}

/** Each mode in a fresh process: the API globals can be installed once per process. */
function runChild(mode: Mode): Promise<CaseResults> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [__filename], { env: { ...process.env, BENCH_MODE: mode }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out) as CaseResults) : reject(new Error(`${mode} run exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const mode = process.env.BENCH_MODE as Mode | undefined;
  if (mode !== undefined) {
    process.stdout.write(JSON.stringify(await runMode(mode)));
    return;
  }
  const otlp = await runChild('otlp');
  const spans = await runChild('spans');
  const ratio = (r: CaseResults): number => Math.round((r.traced / r.handWrittenOtel) * 100) / 100;
  const report = {
    benchmark: 'agent-node',
    unit: 'ns/call',
    node: process.version,
    callsPerCase: ROUNDS * ROUND,
    repeats: REPEATS,
    otlp: { description: 'span start + end + OTLP/gRPC export to a sink process, flushed every 512 calls', ...otlp },
    spans: { description: 'span start + end + batching, exporter drops the spans', ...spans },
    tracedVsHandWritten: { otlp: ratio(otlp), spans: ratio(spans) },
  };
  console.log(`${'case'.padEnd(26)}${'otlp export'.padStart(14)}${'spans only'.padStart(14)}   (ns/call, median of ${REPEATS})`);
  for (const name of Object.keys(otlp)) {
    console.log(`${name.padEnd(26)}${String(otlp[name]).padStart(14)}${String(spans[name]).padStart(14)}`);
  }
  console.log(`traced / hand-written OTel span: ${report.tracedVsHandWritten.otlp} with export, ${report.tracedVsHandWritten.spans} without`);
  const out = resolve(process.env.BENCH_OUT ?? join(findRepoRoot(), 'bench', 'results', 'agent-node.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${out}`);
}

function findRepoRoot(): string {
  // dist/bench → agents/node → agents → repository root
  return resolve(__dirname, '..', '..', '..', '..');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
