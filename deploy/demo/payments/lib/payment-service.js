'use strict';
// Charges a card: declines cards ending in 0002 (the usual test "decline" card) and risky amounts
// with 402, so that some traces end in errors.
const { randomUUID } = require('node:crypto');
const { httpError } = require('../../shared/http.js');

class PaymentService {
  constructor(fraud) {
    this.fraud = fraud;
  }

  async charge(customer, amountCents, cardNumber) {
    if (!Number.isInteger(amountCents) || amountCents <= 0) throw httpError(400, 'amountCents must be a positive integer');
    const digits = String(cardNumber ?? '').replace(/\D/g, '');
    if (digits.length < 12) throw httpError(400, 'cardNumber is required');
    if (digits.endsWith('0002')) throw httpError(402, 'card declined');
    const risk = await this.fraud.score(customer, amountCents);
    if (risk > 0.9) throw httpError(402, 'payment refused: fraud risk');
    return { paymentId: `pay-${randomUUID()}`, amountCents, last4: digits.slice(-4) };
  }
}

module.exports = { PaymentService };
