import { describe, expect, it } from 'vitest';
import { span } from '../analysis/trace-fixture.testing.js';
import { fieldValue, spanDetail } from './span-detail.js';
import { ToolInputError } from './paging.js';

const statement = `SELECT * FROM items WHERE id IN (${Array.from({ length: 400 }, (_, i) => i).join(', ')})`;
const s = span('db1', 'root', 10, 16, {
  service: 'db',
  name: 'SELECT items',
  kind: 'Client',
  attributes: { 'db.statement': statement, 'db.rows': 3, retry: true },
  exception: { type: 'SQLException', message: 'deadlock\ndetected' },
});

describe('spanDetail', () => {
  it('renders identity, timing, status, attributes, resource, events and links as key: value lines', () => {
    const lines = spanDetail(s, 1000);
    expect(lines.slice(0, 9)).toEqual([
      'span: db1',
      `trace: ${s.traceId}`,
      'parent: root',
      'service: db',
      'name: SELECT items',
      'kind: Client',
      'start: 2023-11-14T22:13:20.010000Z',
      'duration: 6.00ms',
      'status: Error',
    ]);
    expect(lines).toContain('  db.rows: 3');
    expect(lines).toContain('  retry: true');
    expect(lines).toContain('resource:');
    expect(lines).toContain('  service.name: db');
    expect(lines).toContain('events: 1');
    expect(lines).toContain('  - 0: +6.00ms exception');
    expect(lines).toContain('      exception.message: "deadlock\\ndetected"');
    expect(lines).toContain('links: 0');
  });

  it('cuts a long value and names the field and offset to read the rest', () => {
    const line = spanDetail(s, 100).find((l) => l.startsWith('  db.statement: '))!;
    expect(line).toBe(`  db.statement: ${statement.slice(0, 100)}…  [cut at 100 of ${statement.length} chars: get_span field="attributes:db.statement" offset=100]`);
  });
});

describe('fieldValue', () => {
  it('returns the whole value of an attribute, resource attribute or event attribute', () => {
    expect(fieldValue(s, 'attributes:db.statement')).toBe(statement);
    expect(fieldValue(s, 'resource:service.name')).toBe('db');
    expect(fieldValue(s, 'event:0:exception.type')).toBe('SQLException');
  });

  it('refuses a field the span does not have, saying how fields are named', () => {
    expect(() => fieldValue(s, 'attributes:nope')).toThrow(ToolInputError);
    expect(() => fieldValue(s, 'event:3:exception.type')).toThrow(/such as attributes:db.statement/);
    expect(() => fieldValue(s, 'db.statement')).toThrow(ToolInputError);
  });
});
