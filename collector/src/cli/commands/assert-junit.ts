/**
 * `flowtrace assert --junit FILE`: JUnit XML in the Apache Ant JUnit schema (the common one
 * GitLab, GitHub reporters and Jenkins read; windyroad/JUnit-Schema's JUnit.xsd): one
 * `<testsuite>` in `<testsuites>`, one `<testcase>` per assertion, a `<failure>` with the
 * evidence for a failed one.
 * Everything from the collector is text: escaped, and characters XML 1.0 cannot hold are replaced.
 */
import type { AssertAnswer } from '../../query/assert/spec.js';
import { evidenceLines } from './assert-format.js';

export interface JUnitRun {
  answer: AssertAnswer;
  /** When the evaluation ended. */
  finishedAt: Date;
  /** Wall time of the whole run (waiting included), seconds. */
  seconds: number;
  scope?: string;
  hostname: string;
}

export function junitXml(run: JUnitRun): string {
  const { answer } = run;
  const failures = answer.results.filter((r) => !r.passed).length;
  const properties = [
    ['scope', run.scope ?? '(none)'],
    ['window.start', nanosIso(answer.window.startUnixNano)],
    ['window.end', nanosIso(answer.window.endUnixNano)],
    ['scope.traces', String(answer.scope.traces)],
    ['scope.spans', String(answer.scope.spans)],
  ]
    .map(([name, value]) => `      <property name="${attr(name!)}" value="${attr(value!)}"/>`)
    .join('\n');
  // The Ant schema allows only failure/error/skipped inside a testcase: what each assertion
  // measured goes to the suite's system-out, the evidence of a failure into its failure.
  const cases = answer.results
    .map((r) => {
      const open = `    <testcase name="${attr(r.name)}" classname="flowtrace.assert" time="0">`;
      if (r.passed) return `${open}</testcase>`;
      const body = [`select: ${r.select}`, `expect: ${r.expectation}`, `observed: ${r.observed}`, ...evidenceLines(r)].join('\n');
      return `${open}\n      <failure message="${attr(`${r.expectation}: ${r.observed}`)}" type="AssertionFailed">${text(body)}</failure>\n    </testcase>`;
    })
    .join('\n');
  const out = answer.results.map((r) => `${r.passed ? 'PASS' : 'FAIL'} ${r.name}\n  select: ${r.select}\n  expect: ${r.expectation}\n  observed: ${r.observed}`).join('\n');
  // Timestamps without a zone, as the schema's ISO8601_DATETIME_PATTERN wants (UTC).
  const timestamp = run.finishedAt.toISOString().replace(/\.\d{3}Z$/, '');
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite package="flowtrace" id="0" name="flowtrace assert" tests="${answer.results.length}" failures="${failures}" errors="0" skipped="0" time="${run.seconds.toFixed(3)}" timestamp="${timestamp}" hostname="${attr(run.hostname || 'localhost')}">
    <properties>
${properties}
    </properties>
${cases}
    <system-out>${text(out)}</system-out>
    <system-err></system-err>
  </testsuite>
</testsuites>
`;
}

/** Characters XML 1.0 cannot hold at all (even escaped): C0 controls but tab, LF, CR; lone surrogates; U+FFFE/U+FFFF. */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function text(value: string): string {
  return value.replace(NOT_XML, '\ufffd').replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function attr(value: string): string {
  // Line breaks in an attribute are normalised to spaces by parsers: keep them as references.
  return text(value).replaceAll('"', '&quot;').replaceAll("'", '&apos;').replaceAll('\n', '&#10;').replaceAll('\r', '&#13;').replaceAll('\t', '&#9;');
}

function nanosIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}
