/**
 * Exponential backoff with full jitter (the "Full Jitter" variant: sleep a uniformly random time
 * between 0 and min(maxDelay, initialDelay * multiplier^attempt)), and a sleep that an AbortSignal
 * cancels.
 */

/**
 * Backoff parameters. The same shape (names and meaning) as `BackoffOptions` of
 * `@syncrepl-rx/client`, which cannot import core (it runs in browsers); test/types checks that
 * the two are identical. The defaults differ per package.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  initialDelay: number;
  /** Largest delay ceiling, in ms. */
  maxDelay: number;
  /** Growth of the ceiling per failed attempt. */
  multiplier: number;
  /** Failed attempts in a row before giving up (Infinity: never). */
  maxAttempts: number;
}

export const BACKOFF_DEFAULTS: Readonly<BackoffOptions> = Object.freeze({
  initialDelay: 500,
  maxDelay: 30_000,
  multiplier: 2,
  maxAttempts: Infinity,
});

/** The delay before retry number `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(opts.maxDelay, opts.initialDelay * opts.multiplier ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or early (with `false`) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
