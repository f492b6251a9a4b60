import type { Span } from '../../model/span.js';
import { takesRows, type RowBatch, type RowConsumer } from '../../pipeline/row-batch.js';
import type { Consumer, Stage } from '../../pipeline/stage.js';
import type { TailHub } from './tail-hub.js';

/**
 * Sits between two pipeline stages and shows what passes to the live tail. Spans are matched
 * and encoded as they pass (after redaction: see `tailTapPosition`), and handed to the clients
 * only once the next stage accepted the batch, so a batch refused with backpressure (which the
 * sender retries) does not show twice. With no client listening it is one property read.
 */
export class TailTap implements Stage, RowConsumer {
  constructor(
    private readonly hub: TailHub,
    private readonly next: Consumer,
  ) {}

  consume(spans: Span[]): Promise<void> {
    const delivery = this.hub.prepare(spans);
    if (delivery === undefined) return this.next.consume(spans);
    return this.next.consume(spans).then(() => delivery.deliver());
  }

  get takesRows(): boolean {
    return takesRows(this.next);
  }

  /** Rows pass as they are; only with a client listening are they decoded into spans to show. */
  async consumeRows(batch: RowBatch): Promise<void> {
    if (!takesRows(this.next)) return this.consume(await batch.decodeSpans());
    const delivery = this.hub.listening ? this.hub.prepare(await batch.decodeSpans()) : undefined;
    await this.next.consumeRows(batch);
    delivery?.deliver();
  }

  /** The tap holds nothing; the stage it feeds is started and stopped by its owner. */
  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** A tap to put in a processor chain: in front of the processor at `at` (`types.length`: the queues). */
export interface ChainTap {
  at: number;
  wrap(next: Consumer): Stage;
}

/** The live tail's tap for a chain of these processor types. */
export function tailTap(hub: TailHub, types: readonly string[]): ChainTap {
  return { at: tailTapPosition(types), wrap: (next) => new TailTap(hub, next) };
}

/**
 * Where the tap goes in a processor chain, as the index of the processor it feeds
 * (`types.length`: the exporter queues): right after `redact`, so that nothing the redaction
 * rules mask ever reaches a tail client; before `stitch` and `sample` in the default order, so
 * that tail clients see spans as they arrive — not when their trace completes — and before
 * any sampling decision (spans later sampled out are shown too). Without `redact` in the chain,
 * before the first `stitch` or `sample`.
 */
export function tailTapPosition(types: readonly string[]): number {
  const redact = types.indexOf('redact');
  if (redact >= 0) return redact + 1;
  const holder = types.findIndex((t) => t === 'stitch' || t === 'sample');
  return holder >= 0 ? holder : types.length;
}
