import type { Span } from '../../model/span.js';
import type { Consumer, Stage } from '../stage.js';
import type { Journal } from './journal.js';
import type { StageName } from './records.js';

/**
 * The first stage when the journal runs: writes each accepted request to the journal (durable
 * before the request is acknowledged), then hands it to the processors. A request the
 * processors refuse (backpressure) is marked refused before the refusal is answered: the client
 * sends it again, so a replay must not store it too.
 */
export class JournalGate implements Stage {
  constructor(
    private readonly journal: () => Journal,
    /** The first processor of the chain, and its type. */
    private readonly next: Consumer,
    private readonly nextStage: StageName,
  ) {}

  async start(): Promise<void> {}

  async consume(spans: Span[]): Promise<void> {
    if (spans.length === 0) return;
    const journal = this.journal();
    const seq = await journal.appendSpans(this.nextStage, spans);
    try {
      await this.next.consume(spans);
    } catch (err) {
      await journal.refused(seq);
      throw err;
    }
  }

  async shutdown(): Promise<void> {}
}
