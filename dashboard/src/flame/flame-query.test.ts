import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAME_FORM, flameApiPath, flameFormFromUrl, urlFromFlameForm } from './flame-query';

describe('flame page query', () => {
  it('reads the defaults from an empty URL and writes nothing back', () => {
    const form = flameFormFromUrl(new URLSearchParams());
    expect(form).toEqual(DEFAULT_FLAME_FORM);
    expect(urlFromFlameForm(form).toString()).toBe('');
    expect(flameApiPath(form)).toBe('/api/flame?lookback=1h&traces=200');
  });

  it('round-trips a filter through the URL', () => {
    const form = { service: ' orders ', operation: 'GET /orders', range: '6h' as const, start: '', end: '', traces: 500, maxFrames: '20000' };
    const url = urlFromFlameForm(form);
    expect(url.toString()).toBe('service=orders&operation=GET+%2Forders&range=6h&traces=500&frames=20000');
    expect(flameFormFromUrl(url)).toEqual({ ...form, service: 'orders' });
    expect(flameApiPath(form)).toBe('/api/flame?service=orders&operation=GET+%2Forders&lookback=6h&traces=500&maxNodes=20000');
  });

  it('sends a custom window as start and end, and 7 days as the API widest lookback', () => {
    const custom = { ...DEFAULT_FLAME_FORM, range: 'custom' as const, start: '2026-12-01T00:00:00.000Z', end: '2026-12-01T01:00:00.000Z' };
    expect(flameApiPath(custom)).toBe('/api/flame?start=2026-12-01T00%3A00%3A00.000Z&end=2026-12-01T01%3A00%3A00.000Z&traces=200');
    expect(flameFormFromUrl(urlFromFlameForm(custom))).toEqual(custom);
    expect(flameApiPath({ ...DEFAULT_FLAME_FORM, range: '7d' })).toBe('/api/flame?lookback=168h&traces=200');
  });

  it('falls back to the defaults for values the page does not offer', () => {
    expect(flameFormFromUrl(new URLSearchParams('range=2y&traces=7'))).toEqual(DEFAULT_FLAME_FORM);
    // The frame cap is passed as typed: the API names a bad one.
    expect(flameApiPath({ ...DEFAULT_FLAME_FORM, maxFrames: 'lots' })).toBe('/api/flame?lookback=1h&traces=200&maxNodes=lots');
    // start/end are kept only for a custom range.
    expect(urlFromFlameForm({ ...DEFAULT_FLAME_FORM, start: 'x', end: 'y' }).toString()).toBe('');
  });
});
