import { context, diag } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { PinoInstrumentation, type PinoInstrumentationConfig } from '@opentelemetry/instrumentation-pino';
import { WinstonInstrumentation, type WinstonInstrumentationConfig } from '@opentelemetry/instrumentation-winston';
import { CORRELATION_BAGGAGE_KEY } from './correlation.js';
import { logFieldsOf, TRACE_FLAGS_FIELD, TRACE_ID_FIELD } from './log-fields.js';
import type { LogCorrelationMode } from './log-settings.js';

export interface LogInstrumentationSettings {
  mode: LogCorrelationMode;
  /** Log records go to the global LoggerProvider (OTEL_LOGS_EXPORTER=otlp). */
  exporting: boolean;
}

type LogRecordFields = Record<string, unknown>;

/** Inside a valid span: the contract's fields are the IDs and the correlation ID, not the flags. */
function completeInSpan(record: LogRecordFields): void {
  delete record[TRACE_FLAGS_FIELD];
  const correlationId = logFieldsOf(context.active())[CORRELATION_BAGGAGE_KEY];
  if (correlationId !== undefined) record[CORRELATION_BAGGAGE_KEY] = correlationId;
}

/** Outside any span the instrumentations add nothing; a request's correlation ID still belongs on the line. */
function completeWithoutSpan(record: LogRecordFields): void {
  if (record[TRACE_ID_FIELD] !== undefined) return;
  const correlationId = logFieldsOf(context.active())[CORRELATION_BAGGAGE_KEY];
  if (correlationId !== undefined) record[CORRELATION_BAGGAGE_KEY] = correlationId;
}

export function pinoConfig(settings: LogInstrumentationSettings): PinoInstrumentationConfig {
  return {
    disableLogCorrelation: settings.mode === 'off',
    disableLogSending: !settings.exporting,
    logKeys: { traceId: 'trace_id', spanId: 'span_id', traceFlags: TRACE_FLAGS_FIELD },
    logHook: (_span, record) => completeInSpan(record),
  };
}

export function winstonConfig(settings: LogInstrumentationSettings): WinstonInstrumentationConfig {
  return {
    disableLogCorrelation: settings.mode === 'off',
    disableLogSending: !settings.exporting,
    logHook: (_span, record) => completeInSpan(record),
  };
}

/**
 * Wraps a method the official instrumentation keeps private, the only place where a
 * record outside any span passes (its logHook is called inside a span only). When a
 * release renames it, the correlation ID alone is no longer added and the conformance
 * test says so; everything else keeps working.
 */
function extendPrivate<F extends (...args: never[]) => unknown>(target: object, name: string, wrap: (original: F) => F): void {
  const holder = target as Record<string, unknown>;
  const original = holder[name];
  if (typeof original !== 'function') {
    diag.warn(`flowtrace: ${name} not found, log lines outside a span get no correlation ID`);
    return;
  }
  holder[name] = wrap((original as F).bind(target) as F);
}

type PinoMixin = (mergeObject: object, level: number) => LogRecordFields;

/** pino's own instrumentation, which also adds the correlation ID to lines outside a span. */
export class FlowTracePinoInstrumentation extends PinoInstrumentation {
  constructor(config: PinoInstrumentationConfig) {
    super(config);
    extendPrivate<() => PinoMixin>(this, '_getMixinFunction', (original) => () => {
      const mixin = original();
      return (mergeObject, level) => {
        const fields = mixin(mergeObject, level);
        if (this.isEnabled() && this.getConfig().disableLogCorrelation !== true) completeWithoutSpan(fields);
        return fields;
      };
    });
  }
}

/** winston's own instrumentation, which also adds the correlation ID to records outside a span. */
export class FlowTraceWinstonInstrumentation extends WinstonInstrumentation {
  constructor(config: WinstonInstrumentationConfig) {
    super(config);
    extendPrivate<(record: LogRecordFields) => LogRecordFields>(this, '_handleLogCorrelation', (original) => (record) => {
      const out = original(record);
      if (this.getConfig().disableLogCorrelation !== true) completeWithoutSpan(out);
      return out;
    });
  }
}

/** The pino and winston instrumentations for these settings; none when they would do nothing. */
export function createLogInstrumentations(settings: LogInstrumentationSettings): Instrumentation[] {
  if (settings.mode === 'off' && !settings.exporting) return [];
  return [new FlowTracePinoInstrumentation(pinoConfig(settings)), new FlowTraceWinstonInstrumentation(winstonConfig(settings))];
}
