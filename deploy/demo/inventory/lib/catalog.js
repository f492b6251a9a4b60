// The catalog: prices in cents, and a slow lookup (as if a database answered).
const PRICES = new Map([
  ['apple', 50],
  ['banana', 25],
  ['coffee', 899],
  ['tea', 450],
  ['chocolate', 275],
  ['cheese', 1250],
]);

export async function priceOf(sku) {
  await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8));
  return PRICES.get(sku);
}

export function skus() {
  return [...PRICES.keys()];
}
