import { describe, expect, it } from 'vitest';
import { parseEndpoint, rejectedSpansOf } from './sender.js';
import { waitForStored } from './stored.js';

describe('parseEndpoint', () => {
  it('reads OTLP/HTTP and OTLP/gRPC endpoints', () => {
    expect(parseEndpoint('http://127.0.0.1:4318')).toEqual({ protocol: 'http', address: 'http://127.0.0.1:4318', tls: false });
    expect(parseEndpoint('https://collector.example/')).toEqual({ protocol: 'http', address: 'https://collector.example', tls: true });
    expect(parseEndpoint('grpc://10.0.0.5:14317')).toEqual({ protocol: 'grpc', address: '10.0.0.5:14317', tls: false });
    expect(parseEndpoint('grpcs://collector.example')).toEqual({ protocol: 'grpc', address: 'collector.example:4317', tls: true });
  });

  it('refuses other schemes, paths and credentials', () => {
    expect(() => parseEndpoint('udp://host:4317')).toThrow(/scheme must be/);
    expect(() => parseEndpoint('http://host:4318/v1/traces')).toThrow(/only scheme, host and port/);
    expect(() => parseEndpoint('http://user:pw@host:4318')).toThrow(/only scheme, host and port/);
    expect(() => parseEndpoint('host:4318')).toThrow(/scheme must be/);
  });
});

describe('rejectedSpansOf', () => {
  it('reads partial_success.rejected_spans, 0 when absent', () => {
    expect(rejectedSpansOf(Buffer.alloc(0))).toBe(0);
    // field 1 (partial_success, length 5): field 1 varint 300, field 2 string "x"
    expect(rejectedSpansOf(Buffer.from([0x0a, 0x06, 0x08, 0xac, 0x02, 0x12, 0x01, 0x78]))).toBe(300);
    expect(rejectedSpansOf(Buffer.from([0x0a, 0x03, 0x12, 0x01, 0x78]))).toBe(0);
  });
});

describe('waitForStored', () => {
  it('returns once the count reaches the target', async () => {
    const counts = [0, 10, 25, 30];
    const result = await waitForStored(async () => counts.shift() ?? 30, 30, performance.now(), 5_000, 1);
    expect(result).toMatchObject({ stored: 30, complete: true });
  });

  it('gives up when the count stops growing, reporting what was stored', async () => {
    const result = await waitForStored(async () => 7, 30, performance.now(), 30, 5);
    expect(result).toMatchObject({ stored: 7, complete: false });
  });
});
