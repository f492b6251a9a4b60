import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecretKey, MASK, maskSecretsInText } from '../src/redact.js';
import { exceptionAttributes, MAX_FRAMES } from '../src/exception.js';
import { formatValue } from '../src/serialize.js';

/**
 * The shared secret-masking and string-rendering cases every FlowTrace agent must pass
 * (agents/conformance/masking/secrets.json, agents/conformance/rendering/strings.json).
 */
interface TextCase {
  key: string;
  value: string;
  expected: string;
}
interface Secrets {
  mask: string;
  secret_keys: string[];
  plain_keys: string[];
  text: TextCase[];
}
interface Strings {
  mask: string;
  ellipsis: string;
  strings: { value: string; max_bytes: number; expected: string }[];
}

const dir = join(__dirname, '../../conformance');
const secrets = JSON.parse(readFileSync(join(dir, 'masking/secrets.json'), 'utf8')) as Secrets;
const strings = JSON.parse(readFileSync(join(dir, 'rendering/strings.json'), 'utf8')) as Strings;
interface Exceptions {
  mask: string;
  max_frames: number;
  messages: { message: string; max_bytes: number; expected: string }[];
}
const exceptions = JSON.parse(readFileSync(join(dir, 'rendering/exceptions.json'), 'utf8')) as Exceptions;

describe('secrets: shared conformance cases', () => {
  it.each(secrets.secret_keys)('%s is a secret name', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each(secrets.plain_keys)('%s is not a secret name', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it.each(secrets.text.map((c) => [c.value, c] as const))('masks %s', (_, c) => {
    expect(maskSecretsInText(c.value, c.key).replaceAll(MASK, secrets.mask)).toBe(c.expected);
  });
});

describe('rendering: shared string cases', () => {
  it.each(strings.strings.map((c) => [`${c.value} / ${c.max_bytes}`, c] as const))('renders %s', (_, c) => {
    expect(formatValue(c.value, c.max_bytes, '').replaceAll(MASK, strings.mask)).toBe(c.expected);
  });
});

describe('exceptions: shared cases', () => {
  it.each(exceptions.messages.map((c) => [c.message, c] as const))('records %s', (_, c) => {
    const attributes = exceptionAttributes(new Error(c.message), c.max_bytes);
    expect(String(attributes['exception.message']).replaceAll(MASK, exceptions.mask)).toBe(c.expected);
    const first = String(attributes['exception.stacktrace']).split('\n')[0];
    expect(first.replaceAll(MASK, exceptions.mask)).toBe(`Error: ${c.expected}`);
  });

  it('keeps at most max_frames frames', () => {
    expect(MAX_FRAMES).toBe(exceptions.max_frames);
    const err = new Error('deep');
    err.stack = `Error: deep\n${'    at f (file.js:1:1)\n'.repeat(500)}`;
    const stack = String(exceptionAttributes(err, 512)['exception.stacktrace']);
    expect(stack.split('\n').filter((l) => l.startsWith('    at ')).length).toBe(MAX_FRAMES);
    expect(stack).toContain('    ... 436 more');
  });
});
