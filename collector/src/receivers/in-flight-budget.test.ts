import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InFlightBudget, InFlightBudgetExceededError } from './in-flight-budget.js';

describe('InFlightBudget', () => {
  it('reserves bytes as they are taken, across requests, up to the limit', () => {
    const budget = new InFlightBudget(100);
    const a = budget.open('grpc');
    const b = budget.open('http');
    a.take(40);
    b.take(60);
    expect(budget.usedBytes).toBe(100);
    expect([a.bytes, b.bytes]).toEqual([40, 60]);
  });

  it('refuses a take that would go over, releasing everything that request held and counting one refusal', () => {
    const budget = new InFlightBudget(100);
    const a = budget.open('grpc');
    const b = budget.open('grpc');
    a.take(70);
    b.take(20);
    expect(() => b.take(20)).toThrow(InFlightBudgetExceededError);
    expect(budget.usedBytes).toBe(70);
    expect(budget.refused).toBe(1);
    // The refused request takes nothing more (and is not counted twice).
    expect(() => b.take(1)).toThrow(InFlightBudgetExceededError);
    expect(budget.refused).toBe(1);
    expect(budget.usedBytes).toBe(70);
  });

  it('releases once: a second release, or release after refusal, changes nothing', () => {
    const budget = new InFlightBudget(100);
    const a = budget.open('http');
    const b = budget.open('http');
    a.take(30);
    b.take(30);
    a.release();
    a.release();
    expect(budget.usedBytes).toBe(30);
    b.release();
    expect(budget.usedBytes).toBe(0);
  });

  it('the refusal carries a retry hint, and names the setting', () => {
    const budget = new InFlightBudget(10);
    try {
      budget.open('grpc').take(11);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InFlightBudgetExceededError);
      expect((err as InFlightBudgetExceededError).retryAfterSeconds).toBeGreaterThan(0);
      expect((err as Error).message).toMatch(/receivers\.otlp\.max_in_flight_mib/);
    }
  });

  it('exposes bytes in flight and refusals per transport as metrics', async () => {
    const registry = new Registry();
    const budget = new InFlightBudget(10, registry);
    budget.open('grpc').take(7);
    expect(() => budget.open('http').take(4)).toThrow(InFlightBudgetExceededError);
    const text = await registry.metrics();
    expect(text).toMatch(/^flowtrace_receiver_in_flight_bytes 7$/m);
    expect(text).toMatch(/^flowtrace_receiver_in_flight_refused_total\{transport="http"\} 1$/m);
  });
});
