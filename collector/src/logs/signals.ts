import type { OtlpExporterConfig } from '../../../exporters/otlp/config.js';
import type { ExporterSettings } from '../../../exporters/registry.js';

/** An exporter's `signals`: an otlp exporter's as configured; every other type forwards spans only. */
export function signalsOf(settings: ExporterSettings): readonly string[] {
  if (settings.type !== 'otlp') return ['traces'];
  return (settings.config as OtlpExporterConfig).signals;
}

/** Whether an exporter gets spans (an otlp exporter with `signals: [logs]` has a log queue only). */
export function forwardsSpans(settings: ExporterSettings): boolean {
  return signalsOf(settings).includes('traces');
}
