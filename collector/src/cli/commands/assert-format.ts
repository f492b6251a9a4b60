/** `flowtrace assert`'s text output: one line per assertion, the failing traces under it. */
import type { AssertAnswer, AssertionResult } from '../../query/assert/spec.js';
import { formatNanos } from '../../query/assert/spec.js';
import { visible } from '../format.js';
import type { Paint } from './terminal.js';

/** The evidence of a result as lines naming the traces (and spans or insights). */
export function evidenceLines(r: AssertionResult): string[] {
  return r.evidence.map((e) => {
    const parts = [`trace ${e.traceId}`];
    if (e.root !== undefined) parts.push(e.root);
    if (e.durationNano !== undefined) parts.push(formatNanos(BigInt(e.durationNano)));
    if (e.errorCount !== undefined && e.errorCount > 0) parts.push(`${e.errorCount} error span${e.errorCount === 1 ? '' : 's'}`);
    if (e.detail !== undefined) parts.push(e.detail);
    return parts.join('  ');
  });
}

export function formatAssertAnswer(answer: AssertAnswer, paint: Paint, waited?: string): string {
  const lines: string[] = [];
  for (const r of answer.results) {
    const mark = r.passed ? paint.green('PASS') : paint.red('FAIL');
    // Names, queries and evidence come from files and spans: control characters shown, never run by the terminal.
    lines.push(`${mark}  ${visible(r.name)}`);
    lines.push(`      expect ${visible(r.expectation)}; observed ${visible(r.observed)}`);
    if (!r.passed) {
      for (const line of evidenceLines(r)) lines.push(`      ${visible(line)}`);
    }
  }
  const failed = answer.results.filter((r) => !r.passed).length;
  const total = answer.results.length;
  const summary = `${total} assertion${total === 1 ? '' : 's'}: ${total - failed} passed, ${failed} failed`;
  lines.push('');
  lines.push(`${failed > 0 ? paint.red(summary) : paint.green(summary)} (${answer.scope.traces} traces, ${answer.scope.spans} spans in scope${waited ? `; ${waited}` : ''})`);
  return lines.join('\n') + '\n';
}
