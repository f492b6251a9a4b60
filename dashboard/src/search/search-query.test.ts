import { describe, expect, it } from 'vitest';
import { apiPathOf, EMPTY_FORM, formFromUrl, isoToLocalInput, localInputToIso, urlFromForm, type SearchForm } from './search-query';

describe('search form in the URL', () => {
  const form: SearchForm = {
    ...EMPTY_FORM,
    service: 'checkout',
    operation: 'GET /cart',
    tags: 'http.route=/cart user.tier="gold plus"',
    minDuration: '250ms',
    range: '6h',
    errorsOnly: true,
    limit: 100,
  };

  it('round-trips every field through the query string', () => {
    expect(formFromUrl(new URLSearchParams(urlFromForm(form).toString()))).toEqual(form);
    const custom = { ...EMPTY_FORM, range: 'custom' as const, start: '2026-12-01T10:00:00.000Z', end: '2026-12-01T11:00:00.000Z', correlationId: 'order-7' };
    expect(formFromUrl(urlFromForm(custom))).toEqual(custom);
  });

  it('keeps links short: defaults are left out', () => {
    expect(urlFromForm(EMPTY_FORM).toString()).toBe('');
    expect(urlFromForm({ ...EMPTY_FORM, service: ' api ', start: 'ignored without custom' }).toString()).toBe('service=api');
  });

  it('falls back to defaults on values a hand-edited URL got wrong', () => {
    expect(formFromUrl(new URLSearchParams('range=2y&limit=7&errors=yes'))).toEqual(EMPTY_FORM);
  });
});

describe('the API call of a form', () => {
  it('searches traces over the chosen window with the filters set', () => {
    expect(apiPathOf({ ...EMPTY_FORM, service: 'checkout', tags: 'k=v', errorsOnly: true })).toBe(
      '/api/traces?service=checkout&tags=k%3Dv&lookback=1h&errorsOnly=true&limit=20',
    );
    expect(apiPathOf({ ...EMPTY_FORM, range: 'custom', start: '2026-12-01T10:00:00.000Z', end: '' })).toBe(
      '/api/traces?start=2026-12-01T10%3A00%3A00.000Z&limit=20',
    );
  });

  it('looks a correlation ID up instead, escaped as one path segment', () => {
    expect(apiPathOf({ ...EMPTY_FORM, service: 'ignored', correlationId: 'a/b c' })).toBe('/api/correlations/a%2Fb%20c?limit=20');
  });
});

describe('datetime-local inputs', () => {
  it('convert to an ISO instant and back in the browser zone', () => {
    const iso = localInputToIso('2026-12-01T10:30');
    expect(iso).toMatch(/^2026-12-0[12]T\d\d:\d\d:00\.000Z$/);
    expect(isoToLocalInput(iso)).toBe('2026-12-01T10:30');
    expect(localInputToIso('')).toBe('');
    expect(isoToLocalInput('not a date')).toBe('');
  });
});
