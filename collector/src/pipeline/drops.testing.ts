import type { Span } from '../model/span.js';
import type { AlterationReason, DropReason, DropRecorder, DropStage } from './drops.js';

/** Records what was reported, for tests to assert on: `dropped['sample/sampled_out']` and so on. */
export class RecordedDrops implements DropRecorder {
  readonly dropped: Record<string, number> = {};
  readonly altered: Record<string, number> = {};

  spans(stage: DropStage, reason: DropReason, spans: readonly Span[]): void {
    this.count(stage, reason, '', spans.length);
  }

  count(stage: DropStage, reason: DropReason, _service: string, spans: number): void {
    const key = `${stage}/${reason}`;
    this.dropped[key] = (this.dropped[key] ?? 0) + spans;
  }

  values(stage: DropStage, reason: AlterationReason, _service: string, values: number): void {
    const key = `${stage}/${reason}`;
    this.altered[key] = (this.altered[key] ?? 0) + values;
  }
}
