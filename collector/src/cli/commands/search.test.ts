import { describe, expect, it } from 'vitest';
import { UsageError } from '../command.js';
import { caretUnder, catalogParameters, formatKeys, formatSearchAnswer, formatValues, syntaxError, windowParameter } from './search.js';
import { plainPaint } from './terminal.js';

describe('search formatting', () => {
  it('finds the column in the route\'s 400 and puts a caret under it', () => {
    const parsed = syntaxError("400: q: at column 10: expected a value after '='");
    expect(parsed).toEqual({ message: "q: at column 10: expected a value after '='", column: 10 });
    expect(caretUnder('service =', parsed!.column)).toBe('  service =\n           ^\n');
    expect(caretUnder('a =\nb', 4)).toBe('  a = b\n     ^\n');
    expect(syntaxError('400: limit: expected a whole number')).toBeUndefined();
  });

  it('turns --since into the route\'s window', () => {
    expect(windowParameter('90m')).toEqual({ lookback: '90m' });
    expect(windowParameter('7d')).toEqual({ lookback: '168h' });
    expect(windowParameter('2026-01-02T03:04:05Z')).toEqual({ start: '2026-01-02T03:04:05.000Z' });
    expect(() => windowParameter('yesterday')).toThrow(UsageError);
  });

  it('prints a table of traces', () => {
    const text = formatSearchAnswer(
      {
        traces: [
          { traceId: 'ab'.repeat(16), rootServiceName: 'api', rootSpanName: 'GET /x', startTimeUnixNano: '1767225600000000000', durationNano: '2500000', spanCount: 3, errorCount: 1, services: ['api'] },
        ],
      },
      plainPaint(),
    );
    expect(text).toBe(
      [
        'start                     duration  spans  errors  root         trace',
        '────────────────────────  ────────  ─────  ──────  ───────────  ────────────────────────────────',
        `2026-01-01T00:00:00.000Z  2.50ms    3      1       api: GET /x  ${'ab'.repeat(16)}`,
        '1 trace',
        '',
      ].join('\n'),
    );
    expect(formatSearchAnswer({ traces: [] }, plainPaint())).toBe('No trace matches.\n');
    expect(formatSearchAnswer({ traces: [], hints: ['no span carried span.http.rout lately; did you mean span.http.route?\x1b[2J'] }, plainPaint())).toBe(
      'No trace matches.\nhint: no span carried span.http.rout lately; did you mean span.http.route?\\x1b[2J\n',
    );
  });
});

describe('search --keys / --values', () => {
  it('turns the flags into the catalog routes\' parameters, refusing bad ones', () => {
    expect(catalogParameters({ keys: true, service: 'api', prefix: 'http.', scope: 'span' }).toString()).toBe('service=api&prefix=http.&scope=span');
    expect(catalogParameters({ values: 'http.route', days: '3', limit: '5' }).toString()).toBe('key=http.route&days=3&limit=5');
    expect(() => catalogParameters({ keys: true, scope: 'event' })).toThrow("--scope: expected span or resource, got 'event'");
    expect(() => catalogParameters({ keys: true, days: '0' })).toThrow(UsageError);
    expect(() => catalogParameters({ values: 'a', limit: '11' })).toThrow("--limit: expected a whole number from 1 to 10, got '11'");
    expect(() => catalogParameters({ values: '' })).toThrow(UsageError);
  });

  it('prints keys as a query names them, and values with their approximate counts', () => {
    expect(formatKeys([{ scope: 'span', key: 'http.route', spans: 12 }, { scope: 'resource', key: 'k8s.pod.name', spans: 3 }])).toBe(
      ['key                    spans', '─────────────────────  ─────', 'span.http.route        12', 'resource.k8s.pod.name  3', ''].join('\n'),
    );
    expect(formatValues([{ value: '/users', count: 7 }])).toBe(['value   spans', '──────  ─────', '/users  ≈7', ''].join('\n'));
    expect(formatKeys([])).toMatch(/^No attribute key seen/);
  });
});

describe('catalog output on a terminal', () => {
  it('shows control characters in keys and values (senders of spans choose them) as visible escapes', () => {
    const out = formatKeys([{ scope: 'span', key: 'k\u001b]0;pwned\u0007', spans: 1 }]) + formatValues([{ value: 'v\u001b[2J\u009b31m\r', count: 2 }]);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('span.k\\x1b]0;pwned\\x07');
    expect(out).toContain('v\\x1b[2J\\x9b31m\\r');
  });
});
