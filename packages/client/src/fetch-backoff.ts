/**
 * A fetch that retries: `createFetchWithBackoff(fetch, options)` returns a function of the same
 * shape, so transports stack as wrappers of one type (the SSE reader takes any of them).
 *
 * - Network errors, 5xx, 408 and 429 are retried after exponential backoff with full jitter: a
 *   uniformly random delay between 0 and min(maxDelay, initialDelay * multiplier^attempt).
 * - `Retry-After` (seconds or an HTTP date) and the `minDelay()` hint (the SSE reader passes the
 *   stream's `retry:` field) are minimums: the delay is never shorter than either.
 * - 400, 401, 403 and other 4xx are not retried: they throw {@link BadRequestError},
 *   {@link UnauthorizedError}, {@link ForbiddenError} or {@link HttpError}.
 * - An AbortSignal (`init.signal`) cancels the fetch and any sleep between attempts at once.
 */
import {
  BadRequestError,
  ForbiddenError,
  HttpError,
  RetriesExhaustedError,
  UnauthorizedError,
} from './errors.js';

/** What the wrappers take and return: `globalThis.fetch` fits. */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * Backoff parameters. The same shape (names and meaning) as `BackoffOptions` of
 * `@syncrepl-rx/core`, which this package cannot import (it runs in browsers); test/types checks
 * that the two are identical. The defaults differ per package.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  initialDelay: number;
  /** Largest delay ceiling, in ms. */
  maxDelay: number;
  /** Growth of the ceiling per failed attempt. */
  multiplier: number;
  /** Failed attempts in a row before giving up with RetriesExhaustedError (Infinity: never). */
  maxAttempts: number;
}

export const BACKOFF_DEFAULTS: Readonly<BackoffOptions> = Object.freeze({
  initialDelay: 250,
  maxDelay: 30_000,
  multiplier: 2,
  maxAttempts: Infinity,
});

export interface FailedAttempt {
  /** 1 for the first failure. */
  attempt: number;
  /** How long the wrapper waits before the next attempt. */
  delayMs: number;
  error: unknown;
}

export interface FetchWithBackoffOptions extends Partial<BackoffOptions> {
  /** A lower bound for every delay, read at each failure (e.g. the stream's `retry:` hint). */
  minDelay?: () => number;
  /** Called before each sleep: status reporting. */
  onFailedAttempt?: (failure: FailedAttempt) => void;
  /** The jitter source, in [0, 1). */
  random?: () => number;
}

/**
 * The full-jitter delay before retry number `attempt` (0-based).
 *
 * @example
 * backoffDelay(3, BACKOFF_DEFAULTS, () => 0.5); // half of min(30000, 250 * 2^3)
 * // Logs: 1000
 */
export function backoffDelay(
  attempt: number,
  options: Readonly<BackoffOptions> = BACKOFF_DEFAULTS,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    options.maxDelay,
    options.initialDelay * options.multiplier ** Math.min(attempt, 64),
  );
  return Math.floor(random() * ceiling);
}

/**
 * Milliseconds a `Retry-After` value asks for: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The reason an aborted signal carries, as something to throw. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/**
 * Resolves after `ms`; rejects with the signal's reason as soon as it aborts, so a long backoff
 * never outlives the stream that waits on it.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Whether a response status may succeed on a later attempt. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** The typed error for a status that is not retried. */
export async function errorForResponse(url: string, response: Response): Promise<HttpError> {
  let body = '';
  try {
    body = await response.text();
  } catch {
    // the body is only for the message
  }
  switch (response.status) {
    case 400:
      return new BadRequestError(url, body);
    case 401:
      return new UnauthorizedError(url, body);
    case 403:
      return new ForbiddenError(url, body);
    default:
      return new HttpError(url, response.status, body);
  }
}

/**
 * Wraps `fetchClient` so that failed requests are retried with backoff.
 *
 * @example
 * const fetchWithBackoff = createFetchWithBackoff(fetch, { maxAttempts: 6 });
 * const res = await fetchWithBackoff('/realm?subscribe=1', { signal });
 *
 * @param fetchClient The fetch to wrap (default: the global one, looked up at call time).
 * @param options Backoff parameters (defaults: {@link BACKOFF_DEFAULTS}) and hooks.
 * @return A fetch that resolves with a 2xx response or rejects with a typed error.
 */
export function createFetchWithBackoff(
  fetchClient: Fetch = (url, init) => globalThis.fetch(url, init),
  options: FetchWithBackoffOptions = {},
): Fetch {
  const backoff: BackoffOptions = {
    initialDelay: options.initialDelay ?? BACKOFF_DEFAULTS.initialDelay,
    maxDelay: options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay,
    multiplier: options.multiplier ?? BACKOFF_DEFAULTS.multiplier,
    maxAttempts: options.maxAttempts ?? BACKOFF_DEFAULTS.maxAttempts,
  };
  const random = options.random ?? Math.random;
  return async function fetchWithBackoff(url: string, init?: RequestInit): Promise<Response> {
    const signal = init?.signal ?? undefined;
    for (let attempt = 0; ; attempt++) {
      let error: unknown;
      let retryAfter: number | undefined;
      try {
        const response = await fetchClient(url, init);
        if (response.ok) return response;
        if (!isRetryableStatus(response.status)) throw await errorForResponse(url, response);
        retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
        error = await errorForResponse(url, response);
      } catch (err) {
        if (signal?.aborted) throw abortReason(signal);
        if (err instanceof HttpError && !isRetryableStatus(err.status)) throw err;
        error ??= err; // a network failure: fetch rejects with a TypeError
      }
      if (attempt + 1 >= backoff.maxAttempts) throw new RetriesExhaustedError(url, attempt + 1, error);
      const delayMs = Math.max(
        backoffDelay(attempt, backoff, random),
        retryAfter ?? 0,
        options.minDelay?.() ?? 0,
      );
      options.onFailedAttempt?.({ attempt: attempt + 1, delayMs, error });
      await sleep(delayMs, signal);
    }
  };
}
