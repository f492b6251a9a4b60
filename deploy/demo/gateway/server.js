'use strict';
// The demo's edge: POST /checkout reserves stock in inventory, then charges in payments.
// Run under the agent: node --require @flowtrace/agent-node/register server.js
// Env: PORT (8080; 0 = any free port), HOST (127.0.0.1), INVENTORY_URL, PAYMENTS_URL.
const { serve } = require('../shared/http.js');
const { CheckoutService } = require('./lib/checkout');
const { Downstream } = require('./lib/downstream');

const checkout = new CheckoutService(
  new Downstream('inventory', process.env.INVENTORY_URL ?? 'http://127.0.0.1:8081'),
  new Downstream('payments', process.env.PAYMENTS_URL ?? 'http://127.0.0.1:8082'),
);

serve('gateway', 8080, {
  'POST /checkout': async (body) => [201, await checkout.placeOrder(body)],
});
