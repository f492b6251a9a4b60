import { describe, expect, it } from 'vitest';
import { redactConfigSchema } from './config.js';
import { Redactor, type Tally } from './redactor.js';

/**
 * 1 MB inputs built to make backtracking regular expressions go quadratic or worse. Linear
 * code takes well under a second on each (three passes); the bound is loose on purpose, so
 * that a slow or busy machine never fails it but super-linear behaviour (minutes) always does.
 */
const BOUND_MS = 5_000;
const MB = 1_000_000;

const adversarial: Array<[string, () => string]> = [
  ["'a' × 1M + '@'", () => 'a'.repeat(MB) + '@'],
  ["'a@' × 500k", () => 'a@'.repeat(MB / 2)],
  ["'a.' × 500k + '@'", () => 'a.'.repeat(MB / 2) + '@'],
  ["'x@' + 'b.' × 500k", () => 'x@' + 'b.'.repeat(MB / 2)],
  ["'a%40' × 250k", () => 'a%40'.repeat(MB / 4)],
  ["'1 ' × 500k", () => '1 '.repeat(MB / 2)],
  ["'1-' × 500k + 'x'", () => '1-'.repeat(MB / 2) + 'x'],
  ["'4111 ' × 200k", () => '4111 '.repeat(MB / 5)],
  ["'1' × 1M", () => '1'.repeat(MB)],
  ["'1' × 1M + 'a'", () => '1'.repeat(MB) + 'a'],
  ["'+' + '1' × 1M", () => '+' + '1'.repeat(MB)],
  ["'+1 ' × 333k", () => '+1 '.repeat(MB / 3)],
  ["'+' × 1M", () => '+'.repeat(MB)],
  ["'eyJ' + 'a.' × 500k", () => 'eyJ' + 'a.'.repeat(MB / 2)],
  ["'eyJ' × 333k", () => 'eyJ'.repeat(MB / 3)],
  ["'eyJa.eyJa.' × 100k", () => 'eyJa.eyJa.'.repeat(MB / 10)],
  ["'Bearer ' + ' ' × 1M", () => 'Bearer ' + ' '.repeat(MB)],
  ["'Bearer ' × 142k", () => 'Bearer '.repeat(MB / 7)],
  ["'Basic ' + 'A' × 1M", () => 'Basic ' + 'A'.repeat(MB)],
  ["'secret ' + 'aB1' × 333k", () => 'secret ' + 'aB1'.repeat(MB / 3)],
  ["'AKIA' × 250k", () => 'AKIA'.repeat(MB / 4)],
  ["'DE89' × 250k", () => 'DE89'.repeat(MB / 4)],
  ["'DE89 ' × 200k", () => 'DE89 '.repeat(MB / 5)],
  ["'123-45-' × 142k", () => '123-45-'.repeat(MB / 7)],
  ["'1.' × 500k", () => '1.'.repeat(MB / 2)],
  ["'1:' × 500k", () => '1:'.repeat(MB / 2)],
  ["'a:' × 500k + '::'", () => 'a:'.repeat(MB / 2) + '::'],
  ["'ff' × 500k + ':'", () => 'ff'.repeat(MB / 2) + ':'],
  ["'password=' × 111k", () => 'password='.repeat(MB / 9)],
  ["'token:    ' × 100k", () => 'token:    '.repeat(MB / 10)],
  ["'\"secret\":\"' + 'a' × 1M", () => '"secret":"' + 'a'.repeat(MB)],
  ["'api_key' × 142k + '='", () => 'api_key'.repeat(MB / 7) + '='],
  ['random printable', () => Array.from({ length: MB }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 95))).join('')],
];

const redactor = new Redactor(redactConfigSchema.parse({ detectors: { ip: { enabled: true } } }));
const noTally: Tally = { record() {} };

describe('linear time on adversarial input', () => {
  it.each(adversarial)('%s', (_, make) => {
    const input = make();
    const t0 = performance.now();
    redactor.text(input, 'x', noTally);
    redactor.planAttributes({ 'some.key': input, 'aws.secret.hint': input }, undefined, '', noTally);
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
  });
});
