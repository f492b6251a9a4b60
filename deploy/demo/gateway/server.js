'use strict';
// The demo's edge: POST /checkout reserves stock in inventory, charges in payments, then records
// the order in orders (a Java service under the FlowTrace Java agent), asks recommendations (a
// Python service under the FlowTrace Python agent) what goes with the basket, and has pricing (a Go
// service built with flowtrace-go, which asks warehouse, a Rust service) check a price.
// Run under the agent: node --require @flowtrace/agent-node/register server.js
// Env: PORT (8080; 0 = any free port), HOST (127.0.0.1), INVENTORY_URL, PAYMENTS_URL, ORDERS_URL,
// RECOMMENDATIONS_URL (optional: without it a checkout asks for no recommendations), PRICING_URL
// (optional: without it no price check).
const { serve } = require('../shared/http.js');
const { CheckoutService } = require('./lib/checkout');
const { Downstream } = require('./lib/downstream');

const checkout = new CheckoutService(
  new Downstream('inventory', process.env.INVENTORY_URL ?? 'http://127.0.0.1:8081'),
  new Downstream('payments', process.env.PAYMENTS_URL ?? 'http://127.0.0.1:8082'),
  new Downstream('orders', process.env.ORDERS_URL ?? 'http://127.0.0.1:8083'),
  process.env.RECOMMENDATIONS_URL ? new Downstream('recommendations', process.env.RECOMMENDATIONS_URL) : undefined,
  process.env.PRICING_URL ? new Downstream('pricing', process.env.PRICING_URL) : undefined,
);

serve('gateway', 8080, {
  'POST /checkout': async (body) => [201, await checkout.placeOrder(body)],
});
