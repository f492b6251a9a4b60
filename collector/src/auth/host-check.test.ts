import { describe, expect, it } from 'vitest';
import { hostAllowed, splitHostHeader } from './host-check.js';

const bound = (boundHost: string, allowedHosts: string[] = []) => ({ boundHost, allowedHosts });

describe('Host header check (DNS rebinding)', () => {
  it('accepts loopback names and addresses with any port', () => {
    for (const host of ['localhost', 'localhost:8686', '127.0.0.1:1', '[::1]:8686', 'LOCALHOST:9']) expect(hostAllowed(host, bound('127.0.0.1'))).toBe(true);
  });

  it('accepts IP address literals, which a rebinding attack cannot use', () => {
    expect(hostAllowed('10.1.2.3:8686', bound('0.0.0.0'))).toBe(true);
    expect(hostAllowed('[fd00::1]:8686', bound('0.0.0.0'))).toBe(true);
  });

  it('refuses other names unless bound to them or listed', () => {
    expect(hostAllowed('evil.example:8686', bound('0.0.0.0'))).toBe(false);
    expect(hostAllowed('127.0.0.1.evil.example', bound('0.0.0.0'))).toBe(false);
    expect(hostAllowed('flowtrace.internal:8686', bound('flowtrace.internal'))).toBe(true);
    expect(hostAllowed('flowtrace.example.com', bound('0.0.0.0', ['flowtrace.example.com']))).toBe(true);
    expect(hostAllowed('flowtrace.example.com:443', bound('0.0.0.0', ['flowtrace.example.com']))).toBe(true);
    expect(hostAllowed('flowtrace.example.com:443', bound('0.0.0.0', ['flowtrace.example.com:8686']))).toBe(false);
    expect(hostAllowed('flowtrace.example.com:8686', bound('0.0.0.0', ['flowtrace.example.com:8686']))).toBe(true);
  });

  it('refuses a missing or empty Host', () => {
    expect(hostAllowed(undefined, bound('127.0.0.1'))).toBe(false);
    expect(hostAllowed('', bound('127.0.0.1'))).toBe(false);
  });

  it('splits name and port', () => {
    expect(splitHostHeader('[::1]:80')).toEqual({ name: '[::1]', port: '80' });
    expect(splitHostHeader('Example.com')).toEqual({ name: 'example.com', port: undefined });
  });
});
