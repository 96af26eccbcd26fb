/** Core's reconnect backoff (packages/core/src/sync/backoff.ts): the client's names, core's defaults. */
import { describe, expect, it } from 'vitest';
import { BACKOFF_DEFAULTS, backoffDelay } from '../../../../packages/core/src/sync/backoff.js';

describe('core backoffDelay', () => {
  it('is full jitter: uniform in [0, min(maxDelay, initialDelay * multiplier^attempt))', () => {
    const o = { initialDelay: 100, maxDelay: 10_000, multiplier: 3, maxAttempts: Infinity };
    expect(backoffDelay(0, o, () => 0)).toBe(0);
    expect(backoffDelay(0, o, () => 0.999)).toBe(99);
    expect(backoffDelay(2, o, () => 0.5)).toBe(450);
    expect(backoffDelay(30, o, () => 0.5)).toBe(5000); // capped at maxDelay
    expect(backoffDelay(10_000, o, () => 0.999)).toBe(9990); // no overflow to Infinity/NaN
  });

  it('keeps core defaults: 500 ms, ×2, ≤ 30 s, forever', () => {
    expect(BACKOFF_DEFAULTS).toEqual({
      initialDelay: 500,
      maxDelay: 30_000,
      multiplier: 2,
      maxAttempts: Infinity,
    });
    expect(Object.isFrozen(BACKOFF_DEFAULTS)).toBe(true);
    expect(backoffDelay(3, BACKOFF_DEFAULTS, () => 0.5)).toBe(2000);
  });
});
