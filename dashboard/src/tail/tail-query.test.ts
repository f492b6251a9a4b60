import { describe, expect, it } from 'vitest';
import { EMPTY_TAIL_FORM, tailApiPath, tailFormFromUrl, urlFromTailForm } from './tail-query';

describe('tail filters', () => {
  it('streams everything with no filter', () => {
    expect(tailFormFromUrl(new URLSearchParams())).toEqual(EMPTY_TAIL_FORM);
    expect(urlFromTailForm(EMPTY_TAIL_FORM).toString()).toBe('');
    expect(tailApiPath(EMPTY_TAIL_FORM)).toBe('/api/tail');
  });

  it('round-trips the filters through the URL and into the stream path', () => {
    const form = { service: ' shop ', operation: 'GET /cart', minDuration: '250ms', errorsOnly: true };
    const url = urlFromTailForm(form);
    expect(url.toString()).toBe('service=shop&operation=GET+%2Fcart&minDuration=250ms&errors=1');
    expect(tailFormFromUrl(url)).toEqual({ ...form, service: 'shop' });
    expect(tailApiPath(form)).toBe('/api/tail?service=shop&operation=GET+%2Fcart&minDuration=250ms&errorsOnly=true');
  });
});
