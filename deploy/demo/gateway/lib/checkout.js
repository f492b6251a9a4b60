'use strict';
// The checkout flow: validate the basket, reserve stock, charge, record the order, and release the
// stock again when a step after the reservation fails, so that every outcome shows up as method
// spans in the trace.
const { httpError } = require('../../shared/http.js');

class CheckoutService {
  /**
   * `recommendations` is optional: without it a checkout recommends nothing; `pricing` too: without
   * it no price check.
   */
  constructor(inventory, payments, orders, recommendations, pricing) {
    this.inventory = inventory;
    this.payments = payments;
    this.orders = orders;
    this.recommendations = recommendations;
    this.pricing = pricing;
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
      const recommendations = await this.recommend(order.customer, items);
      const priceCheck = await this.checkPrice(items);
      const placedOrder = { orderId: placed.id, customer: order.customer, totalCents: reservation.totalCents, paymentId: payment.paymentId, recommendations };
      return priceCheck === undefined ? placedOrder : { ...placedOrder, priceCheck };
    } catch (err) {
      await this.inventory.post('/release', { reservationId: reservation.reservationId });
      throw err;
    }
  }

  /**
   * What goes with the basket (SKUs), from the recommendations service. Best effort: the order is
   * placed by then, so a failure here costs the customer suggestions, not the checkout.
   */
  async recommend(customer, items) {
    if (this.recommendations === undefined) return [];
    try {
      return (await this.recommendations.post('/recommendations', { customer, items })).skus;
    } catch (err) {
      console.warn(`recommendations: ${err.message}`);
      return [];
    }
  }

  /**
   * The pricing service's total (the Go agent's gin example: it prices a sample cart, in goroutines,
   * and asks warehouse, the Rust agent's axum example, for a sample SKU's stock). Best effort, as
   * recommend: undefined when there is no pricing service or it fails.
   */
  async checkPrice(items) {
    if (this.pricing === undefined) return undefined;
    try {
      return (await this.pricing.post('/checkout', { items })).total;
    } catch (err) {
      console.warn(`pricing: ${err.message}`);
      return undefined;
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
