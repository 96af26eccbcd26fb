import { describe, expect, it } from 'vitest';
import {
  BACKOFF_DEFAULTS,
  BadRequestError,
  ForbiddenError,
  HttpError,
  RetriesExhaustedError,
  UnauthorizedError,
  createFetchWithBackoff,
  type FailedAttempt,
} from '../../../packages/client/src/index.js';
import { backoffDelay, parseRetryAfter, sleep } from '../../../packages/client/src/fetch-backoff.js';

const URL_ = 'http://stream.test/realm?subscribe=1';

/** A fetch that answers from a script, one response (or thrown error) per call. */
function scripted(...answers: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error('the script ran out');
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, calls };
}

const ok = () => new Response('data: x\n\n', { headers: { 'Content-Type': 'text/event-stream' } });
const status = (code: number, body = '', headers: Record<string, string> = {}) =>
  new Response(body, { status: code, headers });

describe('backoffDelay', () => {
  it('is full jitter: uniform in [0, min(maxDelay, initialDelay * multiplier^attempt))', () => {
    const o = { initialDelay: 100, maxDelay: 1000, multiplier: 2, maxAttempts: Infinity };
    expect(backoffDelay(0, o, () => 0)).toBe(0);
    expect(backoffDelay(0, o, () => 0.999)).toBe(99);
    expect(backoffDelay(3, o, () => 0.5)).toBe(400);
    expect(backoffDelay(30, o, () => 0.5)).toBe(500); // capped at maxDelay
    expect(backoffDelay(10_000, o, () => 0.999)).toBe(999); // no overflow to Infinity/NaN
  });

  it('exports frozen defaults', () => {
    expect(BACKOFF_DEFAULTS).toEqual({
      initialDelay: 250,
      maxDelay: 30_000,
      multiplier: 2,
      maxAttempts: Infinity,
    });
    expect(Object.isFrozen(BACKOFF_DEFAULTS)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and ignores garbage', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('Sat, 21 Nov 2026 10:00:00 GMT');
    expect(parseRetryAfter('Sat, 21 Nov 2026 10:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Sat, 21 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const t = Date.now();
    await sleep(30);
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
  });

  it('rejects at once with the reason when the signal aborts, long before the delay', async () => {
    const stop = new AbortController();
    const t = Date.now();
    const slept = sleep(60_000, stop.signal);
    setTimeout(() => stop.abort(new Error('stop')), 10);
    await expect(slept).rejects.toThrow('stop');
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('rejects immediately when the signal is already aborted', async () => {
    await expect(sleep(60_000, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});

describe('createFetchWithBackoff', () => {
  it.each([
    [400, BadRequestError, 'BadRequestError'],
    [401, UnauthorizedError, 'UnauthorizedError'],
    [403, ForbiddenError, 'ForbiddenError'],
    [404, HttpError, 'HttpError'],
  ] as const)(
    'does not retry %i: one request, a typed error that quotes the server',
    async (code, type, name) => {
      const { fetch, calls } = scripted(status(code, JSON.stringify({ error: 'the server explains' })), ok());
      const failures: FailedAttempt[] = [];
      const f = createFetchWithBackoff(fetch, { onFailedAttempt: (a) => failures.push(a) });
      const err: unknown = await f(URL_).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).name).toBe(name);
      expect((err as HttpError).status).toBe(code);
      expect((err as Error).message).toContain('the server explains');
      expect(calls).toHaveLength(1);
      expect(failures).toEqual([]);
    },
  );

  it('says what to do in each message', async () => {
    const messages = await Promise.all(
      [400, 401, 403].map((code) =>
        createFetchWithBackoff(scripted(status(code)).fetch)(URL_).catch((e: Error) => e.message),
      ),
    );
    expect(messages[0]).toMatch(/query parameters/);
    expect(messages[1]).toMatch(/Sign in .* reconnect\(\)/);
    expect(messages[2]).toMatch(/may not read this stream/);
  });

  it('retries network errors, 5xx, 408 and 429 until a 2xx', async () => {
    const { fetch, calls } = scripted(
      new TypeError('fetch failed'),
      status(500),
      status(502),
      status(408),
      status(429),
      ok(),
    );
    const failures: FailedAttempt[] = [];
    const f = createFetchWithBackoff(fetch, {
      initialDelay: 1,
      maxDelay: 2,
      onFailedAttempt: (a) => failures.push(a),
    });
    const res = await f(URL_);
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(6);
    expect(failures.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(failures[0]!.error).toBeInstanceOf(TypeError);
    expect((failures[1]!.error as HttpError).status).toBe(500);
  });

  it('honours Retry-After as a minimum over the jittered delay', async () => {
    const { fetch } = scripted(status(503, '', { 'Retry-After': '1' }), ok());
    const failures: FailedAttempt[] = [];
    const f = createFetchWithBackoff(fetch, { random: () => 0, onFailedAttempt: (a) => failures.push(a) });
    const t = Date.now();
    await f(URL_);
    expect(failures[0]!.delayMs).toBe(1000);
    expect(Date.now() - t).toBeGreaterThanOrEqual(950);
  });

  it('keeps the larger jittered delay when Retry-After asks for less', async () => {
    const { fetch } = scripted(status(503, '', { 'Retry-After': '0' }), ok());
    const failures: FailedAttempt[] = [];
    const f = createFetchWithBackoff(fetch, {
      initialDelay: 100,
      random: () => 0.5,
      onFailedAttempt: (a) => failures.push(a),
    });
    await f(URL_);
    expect(failures[0]!.delayMs).toBe(50);
  });

  it('honours minDelay() (the stream’s retry: hint) as a minimum too', async () => {
    const { fetch } = scripted(new TypeError('fetch failed'), ok());
    const failures: FailedAttempt[] = [];
    const f = createFetchWithBackoff(fetch, {
      random: () => 0,
      minDelay: () => 120,
      onFailedAttempt: (a) => failures.push(a),
    });
    await f(URL_);
    expect(failures[0]!.delayMs).toBe(120);
  });

  it('gives up after maxAttempts failures with RetriesExhaustedError carrying the last failure', async () => {
    const { fetch, calls } = scripted(status(503), status(503), status(500), ok());
    const f = createFetchWithBackoff(fetch, { maxAttempts: 3, initialDelay: 1 });
    const err: unknown = await f(URL_).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as Error).name).toBe('RetriesExhaustedError');
    expect((err as RetriesExhaustedError).attempts).toBe(3);
    expect(((err as Error).cause as HttpError).status).toBe(500);
    expect(calls).toHaveLength(3);
  });

  it('an abort cancels the sleep between attempts at once, and no further request is made', async () => {
    const { fetch, calls } = scripted(status(503, '', { 'Retry-After': '3600' }), ok());
    const stop = new AbortController();
    const f = createFetchWithBackoff(fetch);
    const t = Date.now();
    const pending = f(URL_, { signal: stop.signal });
    setTimeout(() => stop.abort(new Error('user left')), 20);
    await expect(pending).rejects.toThrow('user left');
    expect(Date.now() - t).toBeLessThan(1000);
    expect(calls).toHaveLength(1);
  });

  it('an abort during the request is not retried', async () => {
    const stop = new AbortController();
    let calls = 0;
    const f = createFetchWithBackoff(async (_url, init) => {
      calls++;
      stop.abort(new Error('gone'));
      throw init?.signal?.reason;
    });
    await expect(f(URL_, { signal: stop.signal })).rejects.toThrow('gone');
    expect(calls).toBe(1);
  });
});
