import { describe, expect, it } from 'vitest';
import { compareWithTypicalUrl, correlationSearchUrl, refusalTitle, skeletonPath, traceStateFromUrl, urlOfTraceState } from './trace-url';

describe('trace page URL state', () => {
  it('reads the selected span, the clock-skew toggle and the tab', () => {
    expect(traceStateFromUrl(new URLSearchParams('span=00F067AA0BA902B7&adjust=clock-skew&view=flame'))).toEqual({ span: '00f067aa0ba902b7', adjustClockSkew: true, tab: 'flame' });
  });

  it('ignores malformed values instead of failing', () => {
    expect(traceStateFromUrl(new URLSearchParams('span=<script>&adjust=yes&view=nope'))).toEqual({ span: '', adjustClockSkew: false, tab: 'waterfall' });
  });

  it('writes only what differs from the defaults, keeping other parameters', () => {
    const base = new URLSearchParams('other=1&span=aaaaaaaaaaaaaaaa&adjust=clock-skew');
    expect(urlOfTraceState({ span: '', adjustClockSkew: false, tab: 'waterfall' }, base).toString()).toBe('other=1');
    expect(urlOfTraceState({ span: '00f067aa0ba902b7', adjustClockSkew: true, tab: 'self-time' }).toString()).toBe('span=00f067aa0ba902b7&adjust=clock-skew&view=self-time');
  });

  it('round-trips', () => {
    const state = { span: '0123456789abcdef', adjustClockSkew: true, tab: 'flame' } as const;
    expect(traceStateFromUrl(urlOfTraceState(state))).toEqual(state);
  });

  it('builds the API path and the links', () => {
    expect(skeletonPath('abc', false)).toBe('/api/traces/abc/skeleton');
    expect(skeletonPath('a/b', true)).toBe('/api/traces/a%2Fb/skeleton?adjust=clock-skew');
    expect(correlationSearchUrl('order 1&x')).toBe('/search?correlation=order+1%26x');
    expect(compareWithTypicalUrl('abc')).toBe('/compare?a=abc&b=typical');
  });

  it('names each refusal of the skeleton', () => {
    expect(refusalTitle(404)).toBe('Trace not found (or not readable with your access)');
    expect(refusalTitle(400)).toBe('Bad trace ID');
    expect(refusalTitle(413)).toBe('This trace is too big to show (over 200,000 spans)');
    expect(refusalTitle(500)).toBe('The trace could not be loaded');
  });
});
