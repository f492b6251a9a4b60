import { describe, expect, it } from 'vitest';
import { bodyText, logRows, logsSummary, offsetLabel, severityClass, severityLabel, spanLogsPath, traceLogsPath, type LogRecordJson } from './logs';

const record = (over: Partial<LogRecordJson>): LogRecordJson => ({
  timeUnixNano: '1000000000',
  traceId: 'a'.repeat(32),
  spanId: '',
  severityText: '',
  severityNumber: 0,
  serviceName: 'svc',
  body: '',
  correlationId: '',
  attributes: {},
  ...over,
});

describe('trace logs', () => {
  it('classes severity numbers by their OTLP range and labels them', () => {
    expect([0, 1, 4, 5, 9, 12, 13, 17, 20, 21, 24].map(severityClass)).toEqual(['unset', 'trace', 'trace', 'debug', 'info', 'info', 'warn', 'error', 'error', 'fatal', 'fatal']);
    expect(severityLabel({ severityText: 'Warning', severityNumber: 13 })).toBe('Warning');
    expect(severityLabel({ severityText: '', severityNumber: 18 })).toBe('ERROR');
    expect(severityLabel({ severityText: '', severityNumber: 0 })).toBe('–');
  });

  it('shows a string body as it is and any other kind as JSON', () => {
    expect(bodyText('<b>hi</b>')).toBe('<b>hi</b>');
    expect(bodyText({ user: 7, ok: true })).toBe('{"user":7,"ok":true}');
    expect(bodyText(null)).toBe('null');
  });

  it('builds rows against the trace start: offset, selectable span, found by correlation, unique keys', () => {
    const spans = new Set(['00000000000000aa']);
    const rows = logRows(
      [
        record({ timeUnixNano: '1000500000', spanId: '00000000000000aa', severityNumber: 17, body: 'boom', bodyTruncated: true }),
        record({ timeUnixNano: '1000500000', spanId: '00000000000000aa', body: 'boom' }),
        record({ timeUnixNano: '999000000', traceId: '', spanId: '', foundBy: 'correlation', correlationId: 'req-1', body: 'queued' }),
        record({ timeUnixNano: '1002000000', spanId: '00000000000000bb', body: 'hidden span' }),
      ],
      '1000000000',
      (id) => spans.has(id),
    );
    expect(rows.map((r) => [r.offsetNs, r.severityClass, r.selectable, r.byCorrelation, r.truncated])).toEqual([
      [500000, 'error', true, false, true],
      [500000, 'unset', true, false, false],
      [-1000000, 'unset', false, true, false],
      [2000000, 'unset', false, false, false],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(4);
  });

  it('labels offsets from the trace start with their sign', () => {
    expect([offsetLabel(1_500_000), offsetLabel(0), offsetLabel(-3_000_000)]).toEqual(['+1.50 ms', '+0 ns', '-3.00 ms']);
  });

  it('asks the API for a page of the trace, or the records of one span', () => {
    expect(traceLogsPath('ab/c')).toBe('/api/traces/ab%2Fc/logs?limit=500');
    expect(traceLogsPath('abc', 'Y3Vy')).toBe('/api/traces/abc/logs?limit=500&cursor=Y3Vy');
    expect(spanLogsPath('abc', '00000000000000aa')).toBe('/api/logs?trace_id=abc&span_id=00000000000000aa&limit=100');
  });

  it('says how many records there are, whether more can be loaded, and which correlation IDs were followed', () => {
    expect(logsSummary(1, false, [])).toBe('1 log record');
    expect(logsSummary(500, true, ['req-1'])).toBe('500+ log records, with those of correlation ID req-1');
    expect(logsSummary(0, false, ['a', 'b'])).toBe('0 log records, with those of correlation IDs a, b');
  });
});
