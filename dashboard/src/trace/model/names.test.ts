import { describe, expect, it } from 'vitest';
import { normaliseName } from './names.js';

describe('normaliseName', () => {
  it.each([
    ['GET /users/42', 'GET /users/?'],
    ['SELECT * FROM items WHERE id = 1017', 'SELECT * FROM items WHERE id = ?'],
    ["SELECT * FROM u WHERE name = 'bob' LIMIT 10", 'SELECT * FROM u WHERE name = ? LIMIT ?'],
    ['GET /orders/3f2b8c1e-9a4d-4e2b-8f6a-1c2d3e4f5a6b/items', 'GET /orders/?/items'],
    ['cache.get session:5f3a9b2c7d1e', 'cache.get session:?'],
    ['HGET 0x1f2e', 'HGET ?'],
    ['OrderService.method2', 'OrderService.method2'],
    ['GET /api/v1/users', 'GET /api/v1/users'],
    ['Validator.check', 'Validator.check'],
  ])('%s → %s', (name, expected) => {
    expect(normaliseName(name)).toBe(expected);
  });
});
