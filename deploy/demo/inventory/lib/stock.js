// Reservations held in memory. Stock refills itself, so a long-running demo keeps succeeding;
// `cheese` runs out often, so that some orders fail with 409 in inventory.
import { randomUUID } from 'node:crypto';
import { priceOf } from './catalog.js';

const REFILL = 1000;

export class StockService {
  constructor() {
    this.levels = new Map([['cheese', 3]]);
    this.reservations = new Map();
  }

  async reserve(items) {
    let totalCents = 0;
    for (const { sku, qty } of items) {
      const price = await priceOf(sku);
      if (price === undefined) throw Object.assign(new Error(`unknown product ${sku}`), { status: 404 });
      if (this.available(sku) < qty) {
        this.levels.set(sku, sku === 'cheese' ? 3 : REFILL); // restocked for the next order
        throw Object.assign(new Error(`${sku} is out of stock`), { status: 409 });
      }
      totalCents += price * qty;
    }
    for (const { sku, qty } of items) this.levels.set(sku, this.available(sku) - qty);
    const reservationId = `res-${randomUUID()}`;
    this.reservations.set(reservationId, items);
    return { reservationId, totalCents };
  }

  async release(reservationId) {
    const items = this.reservations.get(reservationId) ?? [];
    for (const { sku, qty } of items) this.levels.set(sku, this.available(sku) + qty);
    this.reservations.delete(reservationId);
    return { reservationId, released: items.length };
  }

  available(sku) {
    return this.levels.get(sku) ?? REFILL;
  }
}
