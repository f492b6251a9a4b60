import { describe, expect, it } from 'vitest';
import { cellText, columnWidths, csvField, csvFileName, insertAt, isRunShortcut, MAX_COLUMN_CHARS, toCsv } from './result-table';

describe('cellText', () => {
  it('shows strings as they are, null as empty, and structures as JSON', () => {
    expect(cellText('GET /cart')).toBe('GET /cart');
    expect(cellText(null)).toBe('');
    expect(cellText(undefined)).toBe('');
    expect(cellText(12.5)).toBe('12.5');
    expect(cellText(false)).toBe('false');
    expect(cellText('18446744073709551615')).toBe('18446744073709551615');
    expect(cellText({ 'http.route': '/cart' })).toBe('{"http.route":"/cart"}');
    expect(cellText(['a', 1])).toBe('["a",1]');
  });
});

describe('columnWidths', () => {
  it('fits the longest of the name and the values, within bounds', () => {
    const columns = [
      { name: 'n', type: 'UInt64' },
      { name: 'ServiceName', type: 'String' },
      { name: 'long', type: 'String' },
    ];
    const rows = [
      { n: '1', ServiceName: 'orders', long: 'x'.repeat(500) },
      { n: '12345', ServiceName: 'a', long: '' },
    ];
    expect(columnWidths(columns, rows)).toEqual([7, 13, MAX_COLUMN_CHARS]);
    expect(columnWidths(columns, [])).toEqual([4, 13, 6]);
  });
});

describe('toCsv', () => {
  it('writes a header and the rows with CRLF, quoting what needs it', () => {
    const columns = [
      { name: 'ServiceName', type: 'String' },
      { name: 'n', type: 'UInt64' },
      { name: 'attrs', type: 'Map(String, String)' },
    ];
    const csv = toCsv(columns, [
      { ServiceName: 'orders', n: '3', attrs: { a: '1' } },
      { ServiceName: 'say "hi", then\nleave', n: '-4', attrs: {} },
      { ServiceName: null, n: '0', attrs: {} },
    ]);
    expect(csv).toBe('ServiceName,n,attrs\r\norders,3,"{""a"":""1""}"\r\n"say ""hi"", then\nleave",-4,{}\r\n,0,{}\r\n');
  });

  it('defuses spreadsheet formulas in text, leaving numbers alone', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+cmd')).toBe("'+cmd");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-12.5')).toBe('-12.5');
    expect(csvField('+1e9')).toBe('+1e9');
    expect(csvField('-')).toBe("'-");
  });

  it('has only the header for an empty result', () => {
    expect(toCsv([{ name: 'x', type: 'String' }], [])).toBe('x\r\n');
  });
});

describe('the editor', () => {
  it('inserts at the caret or over the selection', () => {
    expect(insertAt('SELECT  FROM t', 7, 7, 'Duration')).toEqual({ text: 'SELECT Duration FROM t', caret: 15 });
    expect(insertAt('SELECT x FROM t', 7, 8, 'y')).toEqual({ text: 'SELECT y FROM t', caret: 8 });
    expect(insertAt('', 5, 9, 'otel_traces')).toEqual({ text: 'otel_traces', caret: 11 });
  });

  it('runs on Ctrl+Enter and Cmd+Enter only', () => {
    expect(isRunShortcut({ key: 'Enter', ctrlKey: true, metaKey: false })).toBe(true);
    expect(isRunShortcut({ key: 'Enter', ctrlKey: false, metaKey: true })).toBe(true);
    expect(isRunShortcut({ key: 'Enter', ctrlKey: false, metaKey: false })).toBe(false);
    expect(isRunShortcut({ key: 'r', ctrlKey: true, metaKey: false })).toBe(false);
  });

  it('names the CSV file by time only', () => {
    expect(csvFileName(new Date('2026-12-06T10:15:00.123Z'))).toBe('flowtrace-sql-2026-12-06T10-15-00.csv');
  });
});
