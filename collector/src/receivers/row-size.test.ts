import { describe, expect, it } from 'vitest';
import { LOG_RECORD } from './otlp/log-validation.js';
import { RequestTooLargeError } from './otlp/errors.js';
import { checkRowBytes } from './row-size.js';

const resource = { attributes: { blob: 'x'.repeat(1000) }, droppedAttributesCount: 0, schemaUrl: '', serviceName: '' };
const scope = { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const rows = Array.from({ length: 10 }, () => ({ resource, scope }));

function refusal(noun?: string): string {
  try {
    checkRowBytes(rows, 100, 5000, noun);
  } catch (err) {
    expect(err).toBeInstanceOf(RequestTooLargeError);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('checkRowBytes: the 413 message names what the rows hold', () => {
  it('keeps the span wording for spans', () => {
    expect(refusal()).toBe(
      "the request would take more than 5000 bytes as storage rows (at least 5125; every span repeats its resource's and scope's attributes), " +
        'over receivers.otlp.max_in_flight_mib: send fewer spans per request or smaller resource attributes',
    );
  });

  it('says log records for the logs path', () => {
    expect(refusal(LOG_RECORD)).toBe(
      "the request would take more than 5000 bytes as storage rows (at least 5125; every log record repeats its resource's and scope's attributes), " +
        'over receivers.otlp.max_in_flight_mib: send fewer log records per request or smaller resource attributes',
    );
  });

  it('refuses nothing within the limit', () => {
    expect(() => checkRowBytes(rows, 100, 100_000, LOG_RECORD)).not.toThrow();
  });
});
