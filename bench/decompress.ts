/**
 * Request decompression throughput of the OTLP receivers' decoders (collector/src/receivers/inflate.ts),
 * per codec, on one OTLP protobuf request of ~4 MiB (2,000 SDK spans, repeated), as the
 * OpenTelemetry Collector would compress it. Prints MB/s of decompressed output and writes
 * bench/results/decompress.json.
 *
 *   npx tsx bench/decompress.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress } from 'snappy';
import { InFlightBudget } from '../collector/src/receivers/in-flight-budget.js';
import { decompressWithin, type Codec } from '../collector/src/receivers/inflate.js';
import { protobufRequest, sdkSpans } from '../test/helpers/spans.js';

const one = protobufRequest((await sdkSpans(2000, 'bench-decompress')).spans);
const payload = Buffer.concat(Array.from({ length: Math.ceil((4 << 20) / one.length) }, () => one));

/** zstd as klauspost/compress writes it; this machine's `zstd` CLI stands in (Node 20 has no encoder). */
function zstd(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-3', '-c'], { input: data, maxBuffer: 1 << 30 });
}

const cases: [string, Codec, Buffer][] = [
  ['gzip', 'gzip', gzipSync(payload)],
  ['deflate (zlib)', 'deflate', deflateSync(payload)],
  ['zstd', 'zstd', zstd(payload)],
  ['snappy (block)', 'snappy', snappyCompress(payload)],
  ['lz4 (frame)', 'lz4', compressFrameSync(payload)],
];

const ROUNDS = 20;
const results: Record<string, { compressedBytes: number; decompressedBytes: number; mbPerSecond: number }> = {};
for (const [name, codec, compressed] of cases) {
  const budget = new InFlightBudget(1 << 30);
  for (let i = 0; i < 3; i++) await decompressWithin(compressed, codec, 64 << 20, budget.open('http')); // warm-up
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const r = budget.open('http');
    await decompressWithin(compressed, codec, 64 << 20, r);
    r.release();
  }
  const seconds = (performance.now() - start) / 1000;
  const mbPerSecond = Math.round((payload.length * ROUNDS) / 1e6 / seconds);
  results[name] = { compressedBytes: compressed.length, decompressedBytes: payload.length, mbPerSecond };
  console.log(`${name.padEnd(16)} ${String(compressed.length).padStart(9)} B → ${payload.length} B  ${mbPerSecond} MB/s`);
}
const out = join(resolve(import.meta.dirname), 'results', 'decompress.json');
writeFileSync(out, JSON.stringify({ node: process.version, payloadBytes: payload.length, rounds: ROUNDS, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
