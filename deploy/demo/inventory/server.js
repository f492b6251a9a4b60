// Stock and prices: POST /reserve holds items and prices them, POST /release gives them back.
// Run under the agent: node --import @flowtrace/agent-node/register server.js
// Env: PORT (8081; 0 = any free port), HOST (127.0.0.1).
import http from '../shared/http.js';
import { StockService } from './lib/stock.js';

const stock = new StockService();

http.serve('inventory', 8081, {
  'POST /reserve': async (body) => [201, await stock.reserve(body.items)],
  'POST /release': async (body) => [200, await stock.release(body.reservationId)],
});
