import { randomFillSync } from 'node:crypto';

// Span IDs come from a pool of crypto-random bytes refilled in bulk: one
// syscall per 1024 IDs instead of one Math.random() per 4 bytes.
const POOL_IDS = 1024;
const pool = Buffer.allocUnsafe(POOL_IDS * 16);
let offset = pool.length;

function take(bytes: number): number {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += bytes;
  return at;
}

function hexId(bytes: number): string {
  for (;;) {
    const at = take(bytes);
    // An all-zero ID is invalid in W3C trace context; draw again (probability 2^-64).
    for (let i = at; i < at + bytes; i++) {
      if (pool[i] !== 0) return pool.toString('hex', at, at + bytes);
    }
  }
}

/** 8 random bytes as 16 lowercase hex characters. */
export function newSpanId(): string {
  return hexId(8);
}

/** 16 random bytes as 32 lowercase hex characters. */
export function newTraceId(): string {
  return hexId(16);
}
