import type { Span } from '../../model/span.js';
import { Journal } from './journal.js';
import type { StageName } from './records.js';
import type { SideRows, SideRowsTicket, StageJournal } from './stage-journal.js';

/** One processor's view of the journal: the processor of type `stage`, followed in the chain by `next`. */
export class ProcessorJournal implements StageJournal {
  constructor(
    private readonly journal: () => Journal,
    private readonly stage: StageName,
    private readonly next: StageName,
  ) {}

  decide(traceId: string, verdict: string): void {
    this.journal().decide(this.stage, traceId, verdict);
  }

  get recoveredDecisions(): ReadonlyMap<string, string> {
    return this.journal().decisionsOf(this.stage);
  }

  keepDecisionsWhile(remembered: (traceId: string) => string | undefined): void {
    this.journal().keepDecisionsWhile(this.stage, remembered);
  }

  async output(spans: Span[], side: SideRows): Promise<SideRowsTicket> {
    const journal = this.journal();
    const seq = await journal.appendSpans(this.next, spans, Journal.positionsOf(spans), side);
    return { seq, token: journal.tokenOf(seq) };
  }

  sideRowsWritten(ticket: SideRowsTicket): void {
    this.journal().sideRowsWritten(ticket.seq);
  }

  get recoveredSideRows(): ReadonlyArray<{ ticket: SideRowsTicket; side: SideRows }> {
    const journal = this.journal();
    return journal.recoveredSideRows.map(({ seq, side }) => ({ ticket: { seq, token: journal.tokenOf(seq) }, side }));
  }
}
