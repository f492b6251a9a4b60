import type { Span } from '../../model/span.js';
import type { AlterationReason, DropReason, DropRecorder, DropStage } from '../drops.js';
import { Journal } from './journal.js';

/**
 * The drop recorder the stages see when the journal runs: a span dropped for good (filtered,
 * sampled out, unencodable) is also done for the journal, which then need not keep it.
 */
export class JournalingDrops implements DropRecorder {
  constructor(
    private readonly ledger: DropRecorder,
    private readonly journal: () => Journal,
  ) {}

  spans(stage: DropStage, reason: DropReason, spans: readonly Span[]): void {
    this.ledger.spans(stage, reason, spans);
    this.journal().resolve(Journal.positionsOf(spans));
  }

  count(stage: DropStage, reason: DropReason, service: string, spans: number): void {
    this.ledger.count(stage, reason, service, spans);
  }

  values(stage: DropStage, reason: AlterationReason, service: string, values: number): void {
    this.ledger.values(stage, reason, service, values);
  }
}
