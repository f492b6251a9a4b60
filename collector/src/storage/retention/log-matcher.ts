import type { Resource } from '../../model/span.js';
import type { RetentionPolicy, RetentionRule } from './policy.js';

/**
 * The retention rules as they apply to log records — the receivers' side of
 * exporters/clickhouse/retention-ttl.ts's `logMatchCondition`, so the age check and the TTL
 * cannot disagree: `services` is the resource's `service.name`; `status: error` is a severity
 * of ERROR or above (SeverityNumber ≥ 17), `ok`/`unset` below it; a rule naming a span kind or
 * `method_spans: true` never applies to a log, `method_spans: false` always does.
 */
export const LOG_ERROR_SEVERITY = 17;

export interface CompiledLogRule {
  rule: RetentionRule;
  matches(resource: Resource, severityNumber: number): boolean;
}

/** The rules that can apply to logs, in order, as plain tests. */
export function compileLogRules(policy: RetentionPolicy): CompiledLogRule[] {
  const out: CompiledLogRule[] = [];
  for (const rule of policy.rules) {
    const { services, status, kind, methodSpans } = rule.match;
    if (kind !== undefined || methodSpans === true) continue;
    const serviceSet = services === undefined ? undefined : new Set(services);
    out.push({
      rule,
      matches: (resource, severity) => {
        if (serviceSet !== undefined && !serviceSet.has(resource.serviceName)) return false;
        if (status === 'error' && severity < LOG_ERROR_SEVERITY) return false;
        if (status !== undefined && status !== 'error' && severity >= LOG_ERROR_SEVERITY) return false;
        return true;
      },
    });
  }
  return out;
}
