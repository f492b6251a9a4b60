import type { Span } from '../../model/span.js';

/** Rows for the stitch processor's side tables, by table name, as inserted (JSONEachRow objects). */
export type SideRows = Record<string, readonly object[]>;

/** Names one stage output record: its side rows are inserted under `token`, exactly once. */
export interface SideRowsTicket {
  seq: number;
  /** Stable across restarts: the insert's `insert_deduplication_token` prefix. */
  token: string;
}

/**
 * What a processor that holds spans sees of the write-ahead journal (pipeline/journal/).
 * Spans arrive with `position` set; the journal knows a position is done when its span is in
 * every exporter queue, or dropped (reported to the drop recorder), or consumed by a stage
 * output record. A replay after a crash feeds the processors only what was not done.
 */
export interface StageJournal {
  /**
   * Records a decision of this stage about a trace (tail sampling's verdict) before its effect:
   * appended in order with everything else, so it is on disk before any later record is.
   */
  decide(traceId: string, verdict: string): void;
  /** Decisions recorded before a crash (trace ID → verdict): replayed and late spans follow them. */
  readonly recoveredDecisions: ReadonlyMap<string, string>;
  /**
   * Where the journal asks, before it deletes a segment holding decisions, which of them the
   * stage still remembers (its decision cache): recent ones are written again, so late spans
   * after a crash find them.
   */
  keepDecisionsWhile(remembered: (traceId: string) => string | undefined): void;
  /**
   * Records what a stage hands on (spans as changed by it, with its side-table rows) as one
   * durable record, which consumes the spans' current positions and gives them new ones.
   * Resolves once on disk; the spans may then be handed on and the rows inserted.
   */
  output(spans: Span[], side: SideRows): Promise<SideRowsTicket>;
  /** The rows of that record are in ClickHouse (or dropped and counted): no replay needs them. */
  sideRowsWritten(ticket: SideRowsTicket): void;
  /** Side rows of output records recovered after a crash, not known to be written: insert them again (same tokens). */
  readonly recoveredSideRows: ReadonlyArray<{ ticket: SideRowsTicket; side: SideRows }>;
}
