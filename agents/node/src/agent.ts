import { resolve } from 'node:path';
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { installCjsHook } from './cjs-hook.js';
import { loadConfig, type AgentConfig } from './config.js';
import { installEsmHook } from './esm-hook.js';
import { installExitHooks } from './exit.js';
import { ModuleFilter } from './filter.js';
import { enableInstrumentations } from './instrumentations.js';
import { startLogs, type LogPipeline } from './logs.js';
import { createPipeline, type Pipeline } from './pipeline.js';

export interface AgentOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The application's entry script; defaults to process.argv[1]. */
  entry?: string;
  /** The folder of the agent's compiled code (dist), never instrumented. */
  agentDir?: string;
  /** Replaces the OTLP exporter (tests, benchmarks). */
  exporter?: SpanExporter;
  /** Replaces the OTLP logs exporter (tests). */
  logExporter?: LogRecordExporter;
  /** Flush on beforeExit and SIGTERM/SIGINT. Default true. */
  exitHooks?: boolean;
  /** Enable the HTTP, framework and logger instrumentations (and log export). Default true. */
  instrumentations?: boolean;
}

export interface StartOptions {
  /** Also instrument ES modules (the import-in-the-middle loader is registered). */
  esm?: boolean;
}

export interface Agent {
  readonly config: AgentConfig;
  readonly filter: ModuleFilter;
  readonly pipeline: Pipeline;
  /** Log correlation and export; undefined when instrumentations are off. */
  readonly logs: LogPipeline | undefined;
  /** Whether ES modules are instrumented (the import-in-the-middle hook is installed). */
  readonly esm: boolean;
  /** Installs the ES module hook, once; the loader must already be registered. */
  enableEsm(): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface PreparedAgent {
  readonly config: AgentConfig;
  readonly filter: ModuleFilter;
  start(opts?: StartOptions): Agent | undefined;
}

const RUNNING = Symbol.for('flowtrace.agent-node.running');
type GlobalWithAgent = typeof globalThis & { [RUNNING]?: Agent };

export const WARNING_PREFIX = 'flowtrace:';

const WARNED = Symbol.for('flowtrace.agent-node.warned');
type GlobalWithWarned = typeof globalThis & { [WARNED]?: boolean };

const NOTICED = Symbol.for('flowtrace.agent-node.noticed');
type GlobalWithNoticed = typeof globalThis & { [NOTICED]?: Set<string> };

/** One line on stderr for a refused value whose default applies, once per process. */
export function notice(message: string): void {
  const g = globalThis as GlobalWithNoticed;
  const seen = (g[NOTICED] ??= new Set<string>());
  if (seen.has(message)) return;
  seen.add(message);
  process.stderr.write(`${WARNING_PREFIX} ${message}\n`);
}

/** One line on stderr, once per process (both entry points may look at a bad setting): the application goes on, untraced. */
export function warnUntraced(problems: string[]): void {
  const g = globalThis as GlobalWithWarned;
  if (g[WARNED] === true) return;
  g[WARNED] = true;
  process.stderr.write(`${WARNING_PREFIX} the agent is off, the application runs untraced: ${problems.join('; ')}\n`);
}

function defaultAgentDir(): string | undefined {
  return typeof __dirname === 'string' ? resolve(__dirname, '..') : undefined;
}

export function runningAgent(): Agent | undefined {
  return (globalThis as GlobalWithAgent)[RUNNING];
}

/**
 * Reads and checks the configuration. Undefined when the agent is already
 * running, disabled (OTEL_SDK_DISABLED), or misconfigured (after one warning).
 */
export function prepareAgent(opts: AgentOptions = {}): PreparedAgent | undefined {
  if (runningAgent() !== undefined) return undefined;
  const env = opts.env ?? process.env;
  let result;
  try {
    result = loadConfig({ env, cwd: opts.cwd ?? process.cwd(), entry: opts.entry ?? process.argv[1] });
  } catch (err) {
    warnUntraced([`cannot read the configuration: ${(err as Error).message}`]);
    return undefined;
  }
  if (!result.ok) {
    warnUntraced(result.problems);
    return undefined;
  }
  if ('disabled' in result) return undefined;
  for (const message of result.notices) notice(message);
  const config = result.config;
  const filter = new ModuleFilter({ include: config.include, exclude: config.exclude, root: config.projectRoot, agentDir: opts.agentDir ?? defaultAgentDir() });
  const logLevel = (env.OTEL_LOG_LEVEL ?? '').toUpperCase() as keyof typeof DiagLogLevel;
  if (DiagLogLevel[logLevel] !== undefined) diag.setLogger(new DiagConsoleLogger(), DiagLogLevel[logLevel]);
  return { config, filter, start: (startOpts) => start(config, filter, opts, startOpts ?? {}) };
}

function start(config: AgentConfig, filter: ModuleFilter, opts: AgentOptions, startOpts: StartOptions): Agent | undefined {
  const undo: (() => void)[] = [];
  let pipeline: Pipeline | undefined;
  let logPipeline: LogPipeline | undefined;
  const reported = new Set<string>();
  const onWrapError = (file: string, err: unknown): void => {
    if (reported.has(file)) return;
    reported.add(file);
    process.stderr.write(`${WARNING_PREFIX} could not instrument ${file}, it runs untraced: ${(err as Error).message}\n`);
  };
  try {
    const p = createPipeline(config, { exporter: opts.exporter });
    pipeline = p;
    if (opts.instrumentations !== false) {
      undo.push(enableInstrumentations(p.provider));
      logPipeline = startLogs(config, p.resource, { exporter: opts.logExporter });
    }
    const l = logPipeline;
    undo.push(installCjsHook(p.methods, filter, onWrapError).unhook);
    if (opts.exitHooks !== false) {
      const flushAll = async (): Promise<void> => {
        await Promise.all([p.flush(), l?.flush()]);
      };
      undo.push(installExitHooks(flushAll, () => p.processor.pending + (l?.pending() ?? 0)).remove);
    }
  } catch (err) {
    for (const fn of undo.reverse()) fn();
    void logPipeline?.shutdown();
    if (pipeline !== undefined) pipeline.methods.enabled = false;
    warnUntraced([`could not start: ${(err as Error).message}`]);
    return undefined;
  }
  const p = pipeline;
  const l = logPipeline;
  let esm = false;
  const agent: Agent = {
    config,
    filter,
    pipeline: p,
    logs: l,
    get esm() {
      return esm;
    },
    enableEsm() {
      if (esm) return;
      esm = true;
      undo.push(installEsmHook(p.methods, filter, onWrapError).unhook);
    },
    async flush() {
      await Promise.all([p.flush(), l?.flush()]);
    },
    async shutdown() {
      for (const fn of undo.reverse()) fn();
      undo.length = 0;
      p.methods.enabled = false;
      delete (globalThis as GlobalWithAgent)[RUNNING];
      await Promise.all([p.shutdown(), l?.shutdown()]);
    },
  };
  if (startOpts.esm === true) agent.enableEsm();
  (globalThis as GlobalWithAgent)[RUNNING] = agent;
  return agent;
}

/** Reads the configuration and starts the agent; undefined when it does not start (see prepareAgent). */
export function startAgent(opts: AgentOptions = {}, startOpts: StartOptions = {}): Agent | undefined {
  return prepareAgent(opts)?.start(startOpts);
}
