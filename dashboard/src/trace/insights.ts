/** The insights route's answer (`GET /api/traces/:traceId/insights`) and how the header lists it. */

export interface InsightJson {
  rule: 'n-plus-one' | 'sequential-calls' | 'error-origin' | 'retries' | 'slow-method' | string;
  summary: string;
  spanIds: string[];
  spanCount?: number;
  parentSpanId?: string;
  impactNano?: string;
}

export interface FindingJson {
  spanId: string;
  serviceName?: string;
  name?: string;
  reason: string;
  explanation: string;
}

export interface InsightsJson {
  traceId: string;
  spanCount: number;
  readRestricted: boolean;
  insights: InsightJson[];
  completeness: {
    complete: boolean;
    orphans?: FindingJson[];
    unansweredClientSpans?: FindingJson[];
    missingRemoteParents?: FindingJson[];
  };
}

const RULE_LABELS: Record<string, string> = {
  'n-plus-one': 'N+1',
  'sequential-calls': 'Sequential calls',
  'error-origin': 'Error origin',
  retries: 'Retries',
  'slow-method': 'Slow method',
};

export function ruleLabel(rule: string): string {
  return RULE_LABELS[rule] ?? rule;
}

/** The completeness findings' explanations, each once, most frequent first: why a part is missing. */
export function missingReasons(completeness: InsightsJson['completeness'] | undefined, max = 5): Array<{ explanation: string; spans: number }> {
  if (!completeness) return [];
  const counts = new Map<string, number>();
  for (const list of [completeness.orphans, completeness.unansweredClientSpans, completeness.missingRemoteParents]) {
    for (const finding of list ?? []) if (finding.explanation) counts.set(finding.explanation, (counts.get(finding.explanation) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([explanation, spans]) => ({ explanation, spans }));
}
