// Plays the demo's users: checkouts at the gateway, each with its own x-request-id, which the
// agents turn into the correlation ID of every span of the request. Most orders succeed; some
// hit an out-of-stock product (409), a declined card (402) or an unknown product (404).
// Prints one line per request: `request <x-request-id> <status>` (or `<error>`).
// Env: GATEWAY_URL (http://127.0.0.1:8080), LOADGEN_INTERVAL_MS (1000), LOADGEN_REQUESTS (0 = forever).
import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const gateway = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const intervalMs = nonNegative('LOADGEN_INTERVAL_MS', 1000);
const requests = nonNegative('LOADGEN_REQUESTS', 0);

const CUSTOMERS = ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara'];
const PRODUCTS = ['apple', 'banana', 'coffee', 'tea', 'chocolate', 'cheese'];
// Test card numbers (never real ones): the agents mask them in captured arguments.
const CARDS = ['4111 1111 1111 1111', '5555 5555 5555 4444', '4000 0000 0000 0002'];

function nonNegative(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`loadgen: ${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

function pick(list) {
  return list[randomInt(list.length)];
}

function order() {
  const items = Array.from({ length: 1 + randomInt(3) }, () => ({ sku: pick(PRODUCTS), qty: 1 + randomInt(4) }));
  if (randomInt(20) === 0) items.push({ sku: 'unicorn', qty: 1 }); // not in the catalog
  return { customer: pick(CUSTOMERS), cardNumber: pick(CARDS), items };
}

async function checkout() {
  const requestId = `demo-${randomUUID()}`;
  try {
    const res = await fetch(`${gateway}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(order()),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    console.log(`request ${requestId} ${res.status}`);
  } catch (err) {
    console.log(`request ${requestId} ${err.cause?.code ?? err.name}`);
  }
}

// The loop ends by itself after LOADGEN_REQUESTS; a signal ends it at once (nothing to flush).
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
for (let sent = 0; requests === 0 || sent < requests; sent++) {
  if (sent > 0) await sleep(intervalMs);
  await checkout();
}
