import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { sdkSpans } from '../../../../test/helpers/spans.js';
import { decodeTraceRequest, OtlpDecodeError } from './proto-decoder.js';
import { decodeTraceRequestInSlices } from './sliced-decoder.js';

async function request(): Promise<Buffer> {
  const spans: ReadableSpan[] = [];
  for (let s = 0; s < 3; s++) spans.push(...(await sdkSpans(40, `service-${s}`)).spans);
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}

describe('decodeTraceRequestInSlices', () => {
  it('decodes to exactly what the whole-request decoder gives, whatever the slice size', async () => {
    const bytes = await request();
    const whole = decodeTraceRequest(bytes);
    expect(whole.spans).toHaveLength(120);
    // 100 bytes: smaller than one span, so requests, resources and scopes are all cut.
    for (const sliceBytes of [100, 1000, 5000, bytes.length]) {
      expect(await decodeTraceRequestInSlices(bytes, sliceBytes)).toEqual(whole);
    }
  });

  it('lets other callbacks run between slices (and not when the request is one slice)', async () => {
    const bytes = await request();
    const othersRanBeforeTheEnd = async (sliceBytes: number) => {
      let ran = false;
      setImmediate(() => (ran = true));
      await decodeTraceRequestInSlices(bytes, sliceBytes);
      return ran;
    };
    expect(await othersRanBeforeTheEnd(1000)).toBe(true);
    expect(await othersRanBeforeTheEnd(bytes.length)).toBe(false);
  });

  it('reports a malformed request with the whole-request decoder\'s error and offset', async () => {
    const bytes = await request();
    const broken = Buffer.concat([bytes, Buffer.from([0x0a, 0x7f])]);
    const expected = (() => { try { decodeTraceRequest(broken); } catch (err) { return (err as Error).message; } })();
    await expect(decodeTraceRequestInSlices(broken, 1000)).rejects.toThrow(OtlpDecodeError);
    await expect(decodeTraceRequestInSlices(broken, 1000)).rejects.toThrow(expected!);
  });
});
