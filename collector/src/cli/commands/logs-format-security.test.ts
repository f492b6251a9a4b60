/**
 * `flowtrace logs` text output against hostile records: nothing a sender controls reaches the
 * terminal as a control character (ESC/CSI sequences, CR, backspace, line breaks), in any field.
 */
import { describe, expect, it } from 'vitest';
import type { LogView } from '../../query/logs/log-view.js';
import { formatLogLines } from './logs-format.js';

const ESC = '\u001b';
const hostile = `${ESC}]0;pwned\u0007${ESC}[2J\r\b\u009b31m\nforged line`;

function record(overrides: Partial<LogView>): LogView {
  return {
    timeUnixNano: '1765000000000000000',
    observedTimeUnixNano: '1765000000000000000',
    traceId: 'a'.repeat(32),
    spanId: '00000000000000a1',
    flags: 1,
    severityText: 'INFO',
    severityNumber: 9,
    serviceName: 'web',
    body: 'hello',
    eventName: '',
    correlationId: '',
    attributes: {},
    droppedAttributesCount: 0,
    resource: { attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    ...overrides,
  };
}

describe('formatLogLines with hostile records', () => {
  it('prints every sender-controlled field without control characters, one line per record', () => {
    const logs = [
      record({ body: hostile, serviceName: hostile, severityText: hostile }),
      record({ body: { note: hostile }, foundBy: 'correlation', correlationId: hostile }),
      // IDs come from the store: a table another writer filled may hold anything.
      record({ traceId: hostile, spanId: hostile }),
    ];
    const text = formatLogLines(logs, 'b'.repeat(32));
    expect(text.split('\n')).toHaveLength(4);
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(text).toContain('\\x1b[2J');
  });
});
