'use strict';
// Card payments: POST /charge. Run under the agent: node --require @flowtrace/agent-node/register server.js
// Env: PORT (8082; 0 = any free port), HOST (127.0.0.1).
const { serve } = require('../shared/http.js');
const { PaymentService } = require('./lib/payment-service');
const { FraudCheck } = require('./lib/fraud-check');

const payments = new PaymentService(new FraudCheck());

serve('payments', 8082, {
  'POST /charge': async (body) => [201, await payments.charge(body.customer, body.amountCents, body.cardNumber)],
});
