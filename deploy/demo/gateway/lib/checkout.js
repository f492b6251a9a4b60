'use strict';
// The checkout flow: validate the basket, reserve stock, charge, record the order, and release the
// stock again when a step after the reservation fails, so that every outcome shows up as method
// spans in the trace.
const { httpError } = require('../../shared/http.js');

class CheckoutService {
  constructor(inventory, payments, orders) {
    this.inventory = inventory;
    this.payments = payments;
    this.orders = orders;
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
      // The orders service keeps the card's last four digits for the receipt.
      const placed = await this.orders.post('/orders', { customer: order.customer, cardNumber: order.cardNumber, items });
      return { orderId: placed.id, customer: order.customer, totalCents: reservation.totalCents, paymentId: payment.paymentId };
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
