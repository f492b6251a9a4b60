'use strict';
// The checkout flow: validate the basket, reserve stock, charge, and release the stock again
// when the charge fails, so that every outcome shows up as method spans in the trace.
const { httpError } = require('../../shared/http.js');

class CheckoutService {
  constructor(inventory, payments) {
    this.inventory = inventory;
    this.payments = payments;
  }

  async placeOrder(order) {
    const items = this.validate(order);
    const reservation = await this.inventory.post('/reserve', { items });
    try {
      const payment = await this.payments.post('/charge', {
        customer: order.customer,
        amountCents: reservation.totalCents,
        cardNumber: order.cardNumber,
      });
      return { orderId: reservation.reservationId, customer: order.customer, totalCents: reservation.totalCents, paymentId: payment.paymentId };
    } catch (err) {
      await this.inventory.post('/release', { reservationId: reservation.reservationId });
      throw err;
    }
  }

  /** Returns the basket's items; rejects an order without a customer or items (400). */
  validate(order) {
    if (typeof order.customer !== 'string' || order.customer === '') throw httpError(400, 'customer is required');
    if (!Array.isArray(order.items) || order.items.length === 0) throw httpError(400, 'items are required');
    return order.items.map((item) => ({ sku: String(item.sku), qty: Math.max(1, Math.trunc(Number(item.qty) || 1)) }));
  }
}

module.exports = { CheckoutService };
