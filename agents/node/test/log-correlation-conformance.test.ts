import { readFileSync } from 'node:fs';
import { Console } from 'node:console';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleCorrelationFor } from '../src/console-correlation.js';
import { withCorrelation } from '../src/correlation.js';
import { logFieldsOf } from '../src/log-fields.js';
import { FlowTracePinoInstrumentation, FlowTraceWinstonInstrumentation, pinoConfig, winstonConfig, type LogInstrumentationSettings } from '../src/log-instrumentations.js';
import type { LogCorrelationMode } from '../src/log-settings.js';
import { memoryPipeline } from './helpers/memory.js';

/** agents/conformance/logs/correlation.json */
interface Case {
  name: string;
  mode: LogCorrelationMode;
  logger: 'structured' | 'plain';
  in_span: boolean;
  sampled: boolean;
  correlation: boolean;
  expected: Record<string, string>;
}
interface Contract {
  fields: string[];
  ids: { trace_id: string; span_id: string; correlation_id: string };
  cases: Case[];
  plain_suffix: string;
}
const contract = JSON.parse(readFileSync(join(__dirname, '../../conformance/logs/correlation.json'), 'utf8')) as Contract;

// The API globals (context manager, propagators) the agent installs.
const mem = memoryPipeline();
const settings = (mode: LogCorrelationMode): LogInstrumentationSettings => ({ mode, exporting: false });
const pinoInstrumentation = new FlowTracePinoInstrumentation(pinoConfig(settings('auto')));
const winstonInstrumentation = new FlowTraceWinstonInstrumentation(winstonConfig(settings('auto')));
const unregister = registerInstrumentations({ instrumentations: [pinoInstrumentation, winstonInstrumentation] });
afterAll(async () => {
  unregister();
  await mem.pipeline.shutdown();
});

// Loaded after the instrumentations, through Node's require as an application would.
const load = createRequire(__filename);
const pino = load('pino') as typeof import('pino');
const winston = load('winston') as typeof import('winston');

/** A stream that keeps what is written to it, line by line. */
function lineSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { stream, lines };
}

function contextOf(c: Case): Context {
  let ctx = ROOT_CONTEXT;
  if (c.correlation) ctx = withCorrelation(ctx, contract.ids.correlation_id);
  if (c.in_span) {
    const traceFlags = c.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE;
    ctx = trace.setSpan(ctx, trace.wrapSpanContext({ traceId: contract.ids.trace_id, spanId: contract.ids.span_id, traceFlags }));
  }
  return ctx;
}

function expectedOf(c: Case): Record<string, string> {
  const ids: Record<string, string> = { ...contract.ids };
  return Object.fromEntries(Object.entries(c.expected).map(([k, v]) => [k, v.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name])]));
}

/** The fields a logger added: everything but the ones it writes itself. */
function added(line: Record<string, unknown>, own: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(line).filter(([k]) => !own.includes(k)));
}

function logPino(c: Case): Record<string, unknown> {
  pinoInstrumentation.setConfig(pinoConfig(settings(c.mode)));
  const { stream, lines } = lineSink();
  const logger = pino({}, stream);
  context.with(contextOf(c), () => logger.info('order placed'));
  expect(lines).toHaveLength(1);
  return added(JSON.parse(lines[0]) as Record<string, unknown>, ['level', 'time', 'pid', 'hostname', 'msg']);
}

function logWinston(c: Case): Record<string, unknown> {
  winstonInstrumentation.setConfig(winstonConfig(settings(c.mode)));
  const { stream, lines } = lineSink();
  const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  context.with(contextOf(c), () => logger.info('order placed'));
  expect(lines).toHaveLength(1);
  return added(JSON.parse(lines[0]) as Record<string, unknown>, ['level', 'message']);
}

function logConsole(c: Case): string {
  const out = lineSink();
  const target = new Console({ stdout: out.stream, stderr: out.stream });
  const undo = consoleCorrelationFor(c.mode, target, { fields: () => logFieldsOf(context.active()) });
  try {
    context.with(contextOf(c), () => target.log('order placed'));
  } finally {
    undo();
  }
  expect(out.lines).toHaveLength(1);
  return out.lines[0];
}

/** `plain_suffix` with the fields `expected` has, in the contract's order. */
function suffixOf(expected: Record<string, string>): string {
  return contract.plain_suffix
    .split(' ')
    .filter((part) => part !== '' && expected[part.slice(0, part.indexOf('='))] !== undefined)
    .map((part) => ` ${part.slice(0, part.indexOf('='))}=${expected[part.slice(0, part.indexOf('='))]}`)
    .join('');
}

describe('log correlation: shared conformance cases', () => {
  it('names the fields this agent adds', () => {
    expect(contract.fields).toEqual(['trace_id', 'span_id', 'flowtrace.correlation_id']);
  });

  const structured = contract.cases.filter((c) => c.logger === 'structured');
  const plain = contract.cases.filter((c) => c.logger === 'plain');
  expect(structured.length + plain.length).toBe(contract.cases.length);

  it.each(structured.map((c) => [c.name, c] as const))('pino: %s', (_, c) => {
    expect(logPino(c)).toEqual(expectedOf(c));
  });

  it.each(structured.map((c) => [c.name, c] as const))('winston: %s', (_, c) => {
    expect(logWinston(c)).toEqual(expectedOf(c));
  });

  it.each(plain.map((c) => [c.name, c] as const))('console: %s', (_, c) => {
    expect(logConsole(c)).toBe(`order placed${suffixOf(expectedOf(c))}`);
  });

  it('console under all: the suffix follows the formatted line and is never taken by a placeholder', () => {
    const c = plain.find((p) => p.mode === 'all');
    if (c === undefined) throw new Error('the contract has no plain case under all');
    const out = lineSink();
    const target = new Console({ stdout: out.stream, stderr: out.stream });
    const undo = consoleCorrelationFor('all', target, { fields: () => logFieldsOf(context.active()) });
    try {
      context.with(contextOf(c), () => {
        target.log('order %s of %s', 7);
        target.error({ id: 7 });
      });
      target.info('outside any request');
    } finally {
      undo();
    }
    const suffix = suffixOf(expectedOf(c));
    expect(out.lines).toEqual([`order 7 of %s${suffix}`, `{ id: 7 }${suffix}`, 'outside any request']);
  });
});
