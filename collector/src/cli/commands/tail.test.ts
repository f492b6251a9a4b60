import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import type { TailSpan } from '../../query/tail/tail-line.js';
import { colouredPaint, plainPaint } from './terminal.js';
import { formatDuration, formatSpan } from './tail.js';

const SPAN: TailSpan = {
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  parentSpanId: '',
  service: 'shop',
  name: 'GET /cart',
  kind: 'Server',
  startTimeUnixNano: String(Date.UTC(2026, 0, 2, 3, 4, 5, 678) * 1_000_000),
  durationNano: '12345678',
  status: { code: 'Error', message: 'boom\nstack' },
  attributes: {},
};

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _e, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

describe('flowtrace tail', () => {
  it('prints one plain line per span without a TTY', () => {
    expect(formatSpan(SPAN, plainPaint(), new Map())).toBe(`03:04:05.678  shop  Server  GET /cart  12.3ms  ERROR boom  ${'a'.repeat(32)}/${'b'.repeat(16)}`);
    expect(formatSpan({ ...SPAN, status: { code: 'Unset', message: '' } }, plainPaint(), new Map())).not.toContain('ERROR');
  });

  it('shows control characters in names and messages (senders of spans choose them) as visible escapes', () => {
    const hostile = { ...SPAN, service: 'shop\u001b]0;pwned\u0007', name: 'GET /x\u001b[2J', status: { code: 'Error', message: 'boom\u009b31m\rforged' } } as TailSpan;
    const line = formatSpan(hostile, plainPaint(), new Map());
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(line).toContain('shop\\x1b]0;pwned\\x07  Server  GET /x\\x1b[2J');
    expect(line).toContain('ERROR boom\\x9b31m\\rforged');
  });

  it('colours services (stable per run) and errors on a TTY', () => {
    const services = new Map<string, number>();
    const line = formatSpan(SPAN, colouredPaint(), services);
    expect(line).toContain('\u001b[31mERROR boom\u001b[0m');
    formatSpan({ ...SPAN, service: 'pay' }, colouredPaint(), services);
    expect([...services]).toEqual([['shop', 0], ['pay', 1]]);
  });

  it('formats durations for people', () => {
    expect([formatDuration(850_000n), formatDuration(12_345_678n), formatDuration(4_200_000_000n)]).toEqual(['850µs', '12.3ms', '4.20s']);
  });

  it('exits 2 on a bad --min-duration, before connecting', async () => {
    const out = sink();
    const err = sink();
    const code = await main(['tail', '--min-duration', 'soon', '--api', 'http://127.0.0.1:1'], { stdout: out.stream, stderr: err.stream, env: {}, cwd: '/' });
    expect(code).toBe(2);
    expect(err.text()).toMatch(/--min-duration: expected a duration/);
  });

  it('exits 1 naming the collector it cannot reach', async () => {
    const err = sink();
    const code = await main(['tail', '--api', 'http://127.0.0.1:1'], { stdout: sink().stream, stderr: err.stream, env: {}, cwd: '/' });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/cannot reach the collector at http:\/\/127\.0\.0\.1:1/);
  });
});
