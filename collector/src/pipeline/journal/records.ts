import { decodePositions, encodePositions } from './positions.js';
import type { SideRows } from './stage-journal.js';

/**
 * The journal's record kinds. Spans records hold spans (as OTLP protobuf) waiting to enter a
 * stage; every other kind is a small mark saying what became of positions, so that a replay
 * after a crash knows what not to do again.
 */
export const RecordKind = {
  /** Spans entering processor `stage` (0: accepted requests; later: a stage's output), with the positions they consume and side rows. */
  spans: 1,
  /** Positions handed to the exporter queues under `tag`: done once the first queue holds the tag. */
  emitted: 2,
  /** The queue appends of `tag` failed: its positions are not emitted (they are offered again). */
  cancelled: 3,
  /** The pipeline refused a spans record whole (the client was told to retry). */
  refused: 4,
  /** Trace decisions of a stage (tail sampling's verdicts). */
  decisions: 5,
  /** The side rows of a spans record are in ClickHouse. */
  sideRowsWritten: 6,
  /** Every record up to `seq` is done (written at a clean shutdown). */
  clean: 7,
} as const;

/**
 * Where a spans record's spans go: the processor of that type (wherever it is in the chain
 * now), or the exporter queues. Kept by name, so a replay after the chain was reordered or
 * shortened still reaches the right stage.
 */
export const STAGES = ['filter', 'redact', 'stitch', 'sample', 'queues'] as const;
export type StageName = (typeof STAGES)[number];

/** A trace decision: trace ID, verdict, and when it was taken (ms since the epoch). */
export type Decision = [traceId: string, verdict: string, atMs: number];

export type JournalRecord =
  | { kind: typeof RecordKind.spans; stage: StageName; count: number; consumes: number[]; side: SideRows | undefined; otlp: Buffer }
  | { kind: typeof RecordKind.emitted; tag: number; positions: number[] }
  | { kind: typeof RecordKind.cancelled; tag: number }
  | { kind: typeof RecordKind.refused; seq: number }
  | { kind: typeof RecordKind.decisions; stage: string; decisions: Decision[] }
  | { kind: typeof RecordKind.sideRowsWritten; seq: number }
  | { kind: typeof RecordKind.clean; seq: number };

/**
 * [kind][stage u8][span count u32][consumes: positions][side JSON length u32][side JSON], then
 * the OTLP protobuf request (the encoder writes it behind this header).
 */
export function encodeSpansHeader(stage: StageName, count: number, consumes: readonly number[], side: SideRows | undefined): Buffer {
  const sideJson = side === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(side));
  const head = Buffer.alloc(6);
  head[0] = RecordKind.spans;
  head[1] = STAGES.indexOf(stage);
  head.writeUInt32LE(count, 2);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(sideJson.length);
  return Buffer.concat([head, encodePositions(consumes), length, sideJson]);
}

export function encodeNumberMark(kind: typeof RecordKind.cancelled | typeof RecordKind.refused | typeof RecordKind.sideRowsWritten | typeof RecordKind.clean, value: number): Buffer {
  const buf = Buffer.alloc(9);
  buf[0] = kind;
  buf.writeDoubleLE(value, 1);
  return buf;
}

export function encodeEmitted(tag: number, positions: readonly number[]): Buffer {
  const head = Buffer.alloc(9);
  head[0] = RecordKind.emitted;
  head.writeDoubleLE(tag, 1);
  return Buffer.concat([head, encodePositions(positions)]);
}

export function encodeDecisions(stage: string, decisions: readonly Decision[]): Buffer {
  return Buffer.concat([Buffer.from([RecordKind.decisions]), Buffer.from(JSON.stringify({ stage, decisions }))]);
}

/** Throws on a record this version cannot read (the journal then stops with a clear error). */
export function decodeRecord(data: Buffer): JournalRecord {
  const kind = data[0];
  switch (kind) {
    case RecordKind.spans: {
      const stage = STAGES[data[1]];
      if (stage === undefined) throw new Error(`journal record for unknown stage ${data[1]}`);
      const count = data.readUInt32LE(2);
      const { positions, end } = decodePositions(data, 6);
      const sideLength = data.readUInt32LE(end);
      const sideStart = end + 4;
      const side = sideLength === 0 ? undefined : (JSON.parse(data.toString('utf8', sideStart, sideStart + sideLength)) as SideRows);
      return { kind, stage, count, consumes: positions, side, otlp: data.subarray(sideStart + sideLength) };
    }
    case RecordKind.emitted:
      return { kind, tag: data.readDoubleLE(1), positions: decodePositions(data, 9).positions };
    case RecordKind.cancelled:
      return { kind, tag: data.readDoubleLE(1) };
    case RecordKind.refused:
    case RecordKind.sideRowsWritten:
    case RecordKind.clean:
      return { kind, seq: data.readDoubleLE(1) };
    case RecordKind.decisions: {
      const { stage, decisions } = JSON.parse(data.toString('utf8', 1)) as { stage: string; decisions: Decision[] };
      return { kind, stage, decisions };
    }
    default:
      throw new Error(`journal record of unknown kind ${kind}`);
  }
}
