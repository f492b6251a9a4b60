/**
 * The log settings (agents/conformance/logs/correlation.json): where trace and
 * correlation IDs go (`FLOWTRACE_LOG_CORRELATION`) and whether log records are
 * exported over OTLP (`OTEL_LOGS_EXPORTER`). A refused value is a notice, not a
 * reason to turn the agent off: the default applies.
 */

/** `auto`: structured loggers (pino, winston); `all`: console.* too; `off`: nothing added. */
export type LogCorrelationMode = 'auto' | 'all' | 'off';
export type LogsExporter = 'otlp' | 'none';

export const LOG_CORRELATION_SETTING = 'FLOWTRACE_LOG_CORRELATION';
export const DEFAULT_LOG_CORRELATION: LogCorrelationMode = 'auto';

const MODES: Readonly<Record<string, LogCorrelationMode>> = {
  '': 'auto',
  auto: 'auto',
  all: 'all',
  true: 'all',
  off: 'off',
  false: 'off',
  none: 'off',
};

export interface Parsed<T> {
  value: T;
  /** Set when the raw value was refused and the default applies. */
  notice?: string;
}

export function parseLogCorrelation(raw: string | undefined): Parsed<LogCorrelationMode> {
  if (raw === undefined) return { value: DEFAULT_LOG_CORRELATION };
  const mode = Object.hasOwn(MODES, raw.trim().toLowerCase()) ? MODES[raw.trim().toLowerCase()] : undefined;
  if (mode !== undefined) return { value: mode };
  return {
    value: DEFAULT_LOG_CORRELATION,
    notice: `${LOG_CORRELATION_SETTING} must be auto, all or off (got "${raw}"); using ${DEFAULT_LOG_CORRELATION}`,
  };
}

/**
 * OTEL_LOGS_EXPORTER is a comma-separated list (the specification's default is
 * `otlp`); `none` wins, and exporters the agent does not have are named in a notice.
 */
export function parseLogsExporter(raw: string | undefined): Parsed<LogsExporter> {
  const names = (raw ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  if (names.length === 0) return { value: 'otlp' };
  if (names.includes('none')) return { value: 'none' };
  const unknown = names.filter((n) => n !== 'otlp');
  const value: LogsExporter = names.includes('otlp') ? 'otlp' : 'none';
  if (unknown.length === 0) return { value };
  return {
    value,
    notice: `OTEL_LOGS_EXPORTER: the agent exports logs over otlp only, ignoring ${unknown.map((n) => `"${n}"`).join(', ')}${value === 'none' ? '; log records are not exported' : ''}`,
  };
}
