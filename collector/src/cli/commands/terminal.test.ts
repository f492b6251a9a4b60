import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { paintFor, terminalWidth } from './terminal.js';

function stream(tty: boolean, columns?: number): NodeJS.WritableStream {
  return Object.assign(new PassThrough(), tty ? { isTTY: true, columns } : {});
}

describe('paintFor', () => {
  it('colours a TTY only, and never with NO_COLOR set', () => {
    expect(paintFor({ stdout: stream(true), env: {} }).red('x')).toBe('\u001b[31mx\u001b[0m');
    expect(paintFor({ stdout: stream(true), env: { NO_COLOR: '1' } }).red('x')).toBe('x');
    expect(paintFor({ stdout: stream(true), env: { NO_COLOR: '' } }).red('x')).toBe('\u001b[31mx\u001b[0m');
    expect(paintFor({ stdout: stream(false), env: {} }).red('x')).toBe('x');
  });
});

describe('terminalWidth', () => {
  it('takes the TTY\'s columns, else $COLUMNS, else the fallback', () => {
    expect(terminalWidth({ stdout: stream(true, 132), env: { COLUMNS: '90' } })).toBe(132);
    expect(terminalWidth({ stdout: stream(false), env: { COLUMNS: '90' } })).toBe(90);
    expect(terminalWidth({ stdout: stream(false), env: { COLUMNS: 'wide' } })).toBe(100);
  });
});
