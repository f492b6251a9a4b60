/**
 * Where a span's code is, from its attributes: `code.file.path`, `code.line.number` and
 * `code.function.name` (the current OpenTelemetry names, which every FlowTrace agent sets), or
 * the older `code.filepath` / `code.lineno` / `code.function` that other instrumentations send.
 */
export interface SourceLocation {
  filePath: string;
  /** 1-based; undefined when the span has no line. */
  line: number | undefined;
  function: string;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

export function sourceLocationOf(attributes: Readonly<Record<string, unknown>>): SourceLocation | undefined {
  const filePath = text(attributes['code.file.path']) || text(attributes['code.filepath']);
  if (filePath === '') return undefined;
  const lineValue = Number(text(attributes['code.line.number']) || text(attributes['code.lineno']));
  return {
    filePath,
    line: Number.isInteger(lineValue) && lineValue >= 1 ? lineValue : undefined,
    function: text(attributes['code.function.name']) || text(attributes['code.function']),
  };
}
