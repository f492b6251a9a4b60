'use strict';
// A toy risk score: large amounts are risky. Its arguments show up captured (and the card masked).
class FraudCheck {
  async score(customer, amountCents) {
    await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4));
    return amountCents > 20_000 ? 0.95 : Math.min(0.5, amountCents / 40_000);
  }
}

module.exports = { FraudCheck };
