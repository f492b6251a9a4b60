import { describe, expect, it } from 'vitest';
import { span, TRACE_A } from '../../analysis/trace-fixture.testing.js';
import { colouredPaint, plainPaint } from './terminal.js';
import { formatWaterfall } from './waterfall-format.js';

describe('formatWaterfall', () => {
  const spans = [
    span('c', 'r', 50, 100, { name: 'query', service: 'db', error: 'x' }),
    span('r', '', 0, 100, { name: 'GET /a', service: 'api' }),
    span('b', 'r', 0, 50, { name: 'a-very-long-method-name-that-does-not-fit', service: 'api' }),
  ];

  it('draws bars on a shared axis scaled to the width, in tree order', () => {
    const text = formatWaterfall(TRACE_A, spans, 60, plainPaint());
    const lines = text.split('\n');
    expect(lines[0]).toBe(`trace ${TRACE_A}  3 spans · 2 services · 100.00ms`);
    // 60 columns: label 19, space, bar 28, space, duration 9 (+ spacing).
    expect(lines.slice(1, 5)).toEqual([
      `${' '.repeat(19)} 0${' '.repeat(20)}100.00ms`,
      `GET /a [api]        ${'█'.repeat(29)}  100.00ms`,
      `  a-very-long-meth… ${'█'.repeat(15)}${' '.repeat(14)}   50.00ms`,
      `  query [db]        ${' '.repeat(14)}${'▓'.repeat(15)}   50.00ms`,
    ]);
    for (const line of lines.slice(2, 5)) expect([...line].length).toBe(59);
    expect(lines[5]).toBe('services: █ api  █ db  ▓ failed');
  });

  it('keeps at least one cell for an instant span and colours only when asked', () => {
    const text = formatWaterfall(TRACE_A, [span('r', '', 0, 100), span('z', 'r', 100, 100, { name: 'instant' })], 60, plainPaint());
    expect(text).toContain(`  instant [svc]${' '.repeat(33)}█       0ns\n`);
    expect(formatWaterfall(TRACE_A, spans, 60, colouredPaint())).toContain('\u001b[36m');
  });
});
