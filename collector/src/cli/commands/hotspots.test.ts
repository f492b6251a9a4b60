import { describe, expect, it } from 'vitest';
import { formatHotspots, formatShare, type HotspotsAnswer } from './hotspots.js';
import { colouredPaint, plainPaint } from './terminal.js';

const MS = 1_000_000n;
const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

/** The hotspots e2e's checkout trace, top three of eight methods: 167 ms of self time in all. */
const ANSWER: HotspotsAnswer = {
  startTimeUnixNano: String(T0),
  endTimeUnixNano: String(T0 + 3_600_000n * MS),
  totalSelfNano: String(167n * MS),
  totalCalls: 8,
  methodCount: 8,
  hotspots: [
    { service: 'shop', method: 'audit', calls: 1, errors: 0, selfNano: String(50n * MS), totalNano: String(50n * MS), share: 0.2994 },
    { service: 'shop', method: 'POST /checkout', calls: 1, errors: 0, selfNano: String(40n * MS), totalNano: String(100n * MS), share: 0.2395 },
    { service: 'billing', method: 'com.bank.Card.charge', calls: 1, errors: 0, selfNano: String(16n * MS), totalNano: String(16n * MS), share: 0.0958 },
  ],
};

describe('hotspots formatting', () => {
  it('prints shares with one decimal, a sliver never as 0', () => {
    expect([0, 0.0004, 0.2994, 1].map(formatShare)).toEqual(['0%', '<0.1%', '29.9%', '100.0%']);
  });

  it('prints a table of methods, most self time first, and what was left out', () => {
    expect(formatHotspots(ANSWER, plainPaint(), false)).toBe(
      [
        'method                service  calls     self  share',
        '────────────────────  ───────  ─────  ───────  ─────',
        'audit                 shop         1  50.00ms  29.9%',
        'POST /checkout        shop         1  40.00ms  23.9%',
        'com.bank.Card.charge  billing      1  16.00ms   9.6%',
        '3 of 8 methods; 167.00ms self time over 8 calls, from 2026-01-01T00:00:00.000Z to 2026-01-01T01:00:00.000Z.',
        '',
      ].join('\n'),
    );
    expect(formatHotspots({ ...ANSWER, hotspots: [], methodCount: 0, totalCalls: 0, totalSelfNano: '0' }, plainPaint(), false)).toBe(
      'No spans from 2026-01-01T00:00:00.000Z to 2026-01-01T01:00:00.000Z.\n',
    );
  });

  it('adds a bar per share on a terminal, 5 % a cell', () => {
    const lines = formatHotspots(ANSWER, plainPaint(), true).split('\n');
    // 29.94 % of 20 cells = 5.99 cells: 5 whole, 8/8 rounds up to 6.
    expect(lines[2]).toMatch(/29\.9%  ██████$/);
    expect(lines[3]).toMatch(/23\.9%  ████▊$/);
    expect(lines[4]).toMatch(/ 9\.6%  █▉$/);
    const coloured = formatHotspots(ANSWER, colouredPaint(), true).split('\n');
    expect(coloured[2]).toMatch(/29\.9%  \u001b\[33m██████\u001b\[0m$/);
  });
});
