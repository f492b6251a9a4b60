import type { Span } from '../model/span.js';
import { QueueFullError, type Consumer } from '../pipeline/stage.js';

/** For processor tests: a next stage that records what it gets, refusing while `full` is set. */
export class Recorder implements Consumer {
  got: Span[][] = [];
  full = false;

  async consume(spans: Span[]): Promise<void> {
    if (this.full) throw new QueueFullError('full', 1);
    this.got.push(spans);
  }

  get all(): Span[] {
    return this.got.flat();
  }
}
