import { Counter, Gauge, type Registry } from 'prom-client';
import type { Transport } from './ingest.js';

const MIB = 1024 * 1024;
/** `receivers.otlp.max_in_flight_mib` when not set. */
export const DEFAULT_MAX_IN_FLIGHT_MIB = 256;
export const DEFAULT_MAX_IN_FLIGHT_BYTES = DEFAULT_MAX_IN_FLIGHT_MIB * MIB;

/** The retry hint sent with a refusal: in-flight bytes drain as requests finish, in well under a second usually. */
export const IN_FLIGHT_RETRY_SECONDS = 1;

/** The in-flight budget is used up: the request is refused as backpressure, and the client retries. */
export class InFlightBudgetExceededError extends Error {
  readonly retryAfterSeconds = IN_FLIGHT_RETRY_SECONDS;
}

/**
 * One byte budget for every OTLP request being received, shared by both receivers
 * (`receivers.otlp.max_in_flight_mib`). Bytes are reserved as they arrive (compressed bytes
 * received, then the decompressed output as it is inflated), never from a length the client
 * declares, so memory held for requests is bounded however many connections and streams
 * send at once. A request that would go over is refused whole and its bytes released.
 */
export class InFlightBudget {
  private used = 0;
  private refusedRequests = 0;
  private readonly refusedMetric?: Counter<'transport'>;

  constructor(
    readonly limitBytes: number,
    registry?: Registry,
  ) {
    if (!registry) return;
    const gauge: Gauge = new Gauge({
      name: 'flowtrace_receiver_in_flight_bytes',
      help: 'Bytes of OTLP requests being received or processed (compressed and decompressed), bounded by receivers.otlp.max_in_flight_mib.',
      registers: [registry],
      collect: () => gauge.set(this.used),
    });
    this.refusedMetric = new Counter({
      name: 'flowtrace_receiver_in_flight_refused_total',
      help: 'OTLP requests refused (429 / RESOURCE_EXHAUSTED, retryable) because the in-flight byte budget was used up.',
      labelNames: ['transport'] as const,
      registers: [registry],
    });
  }

  /** Bytes reserved now, by all requests. */
  get usedBytes(): number {
    return this.used;
  }

  /** Requests refused so far for want of budget. */
  get refused(): number {
    return this.refusedRequests;
  }

  /** A reservation for one request; release it when the request is over, on every path. */
  open(transport: Transport): Reservation {
    return new Reservation(this, transport);
  }

  /** @internal for Reservation */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  /** @internal for Reservation */
  give(bytes: number): void {
    this.used -= bytes;
  }

  /** @internal for Reservation */
  countRefusal(transport: Transport): void {
    this.refusedRequests++;
    this.refusedMetric?.inc({ transport });
  }
}

/** The bytes one request holds. Released once, at once; a released reservation takes nothing more. */
export class Reservation {
  private held = 0;
  private released = false;

  constructor(
    private readonly budget: InFlightBudget,
    private readonly transport: Transport,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /**
   * Reserves `bytes` more for this request, or throws InFlightBudgetExceededError. On refusal
   * everything the request held is released (it is refused whole), and the refusal counted.
   */
  take(bytes: number): void {
    if (this.released) throw new InFlightBudgetExceededError('the request has already ended');
    if (this.budget.tryTake(bytes)) {
      this.held += bytes;
      return;
    }
    this.release();
    this.budget.countRefusal(this.transport);
    throw new InFlightBudgetExceededError(
      `the collector is receiving ${this.budget.limitBytes} bytes of requests at once (receivers.otlp.max_in_flight_mib); retry later`,
    );
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.give(this.held);
    this.held = 0;
  }
}
