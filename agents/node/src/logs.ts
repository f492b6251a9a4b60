import { context } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { AgentConfig } from './config.js';
import { consoleCorrelationFor, processConsoleColors } from './console-correlation.js';
import { createLogExport, createLogExporter, type LogExport } from './log-export.js';
import { logFieldsOf } from './log-fields.js';
import { createLogInstrumentations } from './log-instrumentations.js';

/** Log correlation and export, as the settings ask; `undo` takes back what was installed. */
export interface LogPipeline {
  readonly export: LogExport | undefined;
  /** Log records waiting for the next flush. */
  pending(): number;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface LogPipelineOptions {
  /** Replaces the OTLP logs exporter (tests). */
  exporter?: LogRecordExporter;
}

export function startLogs(config: AgentConfig, resource: Resource, opts: LogPipelineOptions = {}): LogPipeline {
  const undo: (() => void)[] = [];
  let logExport: LogExport | undefined;
  if (config.logsExporter === 'otlp') {
    const exp = createLogExport(resource, opts.exporter ?? createLogExporter(config.logsProtocol, config.logsEndpoint));
    logExport = exp;
    logs.setGlobalLoggerProvider(exp.provider);
    undo.push(() => logs.disable());
  }
  const instrumentations = createLogInstrumentations({ mode: config.logCorrelation, exporting: logExport !== undefined });
  if (instrumentations.length > 0) undo.push(registerInstrumentations({ instrumentations }));
  undo.push(consoleCorrelationFor(config.logCorrelation, console, { fields: () => logFieldsOf(context.active()), colors: processConsoleColors }));
  return {
    export: logExport,
    pending: () => logExport?.processor.pending ?? 0,
    flush: () => logExport?.provider.forceFlush() ?? Promise.resolve(),
    async shutdown() {
      for (const fn of undo.reverse()) fn();
      undo.length = 0;
      await logExport?.provider.shutdown();
    },
  };
}
