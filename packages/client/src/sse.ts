/**
 * Server-Sent Events over `fetch` and a ReadableStream, parsed by eventsource-parser.
 *
 * Why not the browser's EventSource: it cannot send `Last-Event-ID` on its first request (only on
 * its own reconnects), so after a page reload it would replay the whole collection; it cannot
 * send other headers either; and it hides the status of a failed request, so a 401 looks like a
 * network blip and is retried forever.
 *
 *   subscribe ─► wait while offline ─► fetch (with backoff) ─► open ─► event … ─► stream ends
 *                     ▲                      │ 400/401/403: error            │
 *                     └──── sleep max(retry:, backoff) ◄── dropped ◄─────────┘
 *
 * Reconnects send the `id:` of the last event received (the SSE "last event ID buffer", WHATWG
 * HTML §9.2.6: an event without `id:` keeps the previous one). `retry:` sets a minimum delay.
 * While `navigator.onLine` is false the reader makes no request; the `online` event resumes it at
 * once, and the `offline` event drops the current connection (browsers often keep a dead socket
 * open for minutes).
 */
import { createParser } from 'eventsource-parser';
import { Observable } from 'rxjs';
import { LAST_EVENT_ID_HEADER, RESUME_QUERY_PARAMETER } from './constants.js';
import { NotAnEventStreamError } from './errors.js';
import {
  BACKOFF_DEFAULTS,
  abortReason,
  backoffDelay,
  createFetchWithBackoff,
  sleep,
  type BackoffOptions,
  type Fetch,
} from './fetch-backoff.js';

export interface SseEvent {
  /** The `event:` field; `message` when there was none (as EventSource does). */
  event: string;
  data: string;
  /** The `id:` field of this event, when it had one. */
  id: string | undefined;
}

/** What the reader reports, in order, for as long as it is subscribed. */
export type SseNotice =
  /** A request is about to be made; `attempt` counts failures since the last good stream. */
  | { type: 'connecting'; attempt: number; delayMs: number; error: unknown }
  /** 2xx with text/event-stream. `lastEventId` is what the request sent (undefined: none). */
  | { type: 'open'; lastEventId: string | undefined }
  | { type: 'event'; event: SseEvent }
  /** The stream ended or failed; a reconnect follows. */
  | { type: 'dropped'; error: unknown }
  /** The browser says it is offline: no request is made until it is back. */
  | { type: 'offline' };

/** Headers for each request, or a function giving them (called per request: tokens refresh). */
export type HeadersOption =
  Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

/** How to tell whether the network is up. `browserConnectivity()` reads navigator.onLine. */
export interface Connectivity {
  isOnline(): boolean;
  /** Calls `listener` with the new state on every change; returns the unsubscribe function. */
  watch(listener: (online: boolean) => void): () => void;
}

export interface EventStreamOptions {
  /** The resume cookie to send on the FIRST request (then the last `id:` received). */
  lastEventId?: string;
  /**
   * How the cookie travels: the `Last-Event-ID` header (default), the `lastEventId` query
   * parameter (no CORS preflight for cross-origin streams), or both.
   */
  resumeVia?: 'header' | 'query' | 'both';
  headers?: HeadersOption;
  /** The fetch to use (default: the global one); wrapped with backoff. */
  fetch?: Fetch;
  backoff?: Partial<BackoffOptions>;
  /** Default: {@link browserConnectivity}, when there is a browser. `null`: always online. */
  connectivity?: Connectivity | null;
  /** The jitter source, for tests. */
  random?: () => number;
}

interface BrowserGlobals {
  navigator?: { onLine?: unknown };
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
}

/** navigator.onLine and the window's online/offline events; undefined outside browsers (Node). */
export function browserConnectivity(): Connectivity | undefined {
  const g = globalThis as BrowserGlobals;
  const { addEventListener, removeEventListener } = g;
  if (typeof g.navigator?.onLine !== 'boolean' || !addEventListener || !removeEventListener) return undefined;
  return {
    isOnline: () => g.navigator?.onLine !== false,
    watch(listener) {
      const online = () => listener(true);
      const offline = () => listener(false);
      addEventListener.call(g, 'online', online);
      addEventListener.call(g, 'offline', offline);
      return () => {
        removeEventListener.call(g, 'online', online);
        removeEventListener.call(g, 'offline', offline);
      };
    },
  };
}

/**
 * Reads an SSE stream, reconnecting until unsubscribed.
 *
 * @example
 * eventStream('/realm?subscribe=1', { lastEventId: saved }).subscribe((n) => {
 *   if (n.type === 'event') console.log(n.event.event, n.event.id);
 * });
 * // Logs: entry eyJzcmMi… (one line per event), then ready …
 *
 * @param url The stream URL.
 * @param options Resume cookie, headers, fetch, backoff, connectivity.
 * @return A cold Observable of notices. It errors only with what retrying cannot fix (400, 401,
 * 403 and other 4xx, a non-SSE response, retries exhausted); unsubscribing aborts the request.
 */
export function eventStream(url: string, options: EventStreamOptions = {}): Observable<SseNotice> {
  return new Observable<SseNotice>((subscriber) => {
    const stop = new AbortController();
    const connectivity =
      options.connectivity === undefined ? browserConnectivity() : (options.connectivity ?? undefined);
    const backoff: BackoffOptions = { ...BACKOFF_DEFAULTS, ...options.backoff };
    const random = options.random ?? Math.random;
    let lastEventId = options.lastEventId;
    let retryHint = 0;
    /** Aborts the current request (and its reading) when the browser goes offline. */
    let connection: AbortController | undefined;
    let wakeUp: (() => void) | undefined;

    const unwatch = connectivity?.watch((online) => {
      if (online) wakeUp?.();
      else connection?.abort(new Error('the browser went offline'));
    });

    const emit = (notice: SseNotice) => {
      if (!subscriber.closed) subscriber.next(notice);
    };

    const fetchWithBackoff = createFetchWithBackoff(options.fetch, {
      ...backoff,
      minDelay: () => retryHint,
      random,
      onFailedAttempt: ({ attempt, delayMs, error }) => emit({ type: 'connecting', attempt, delayMs, error }),
    });

    /** Resolves when online (at once if already), or when the reader stops. */
    const whenOnline = async (): Promise<void> => {
      if (!connectivity || connectivity.isOnline()) return;
      emit({ type: 'offline' });
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        stop.signal.addEventListener('abort', () => resolve(), { once: true });
        if (connectivity.isOnline()) resolve(); // it came back between the check and the listener
      });
      wakeUp = undefined;
      emit({ type: 'connecting', attempt: 0, delayMs: 0, error: undefined });
    };

    /**
     * One request and its stream: whether at least one event arrived, and the error that cut the
     * stream if one did (a reset connection, a server killed mid-chunk, a proxy timeout): that is
     * a drop to reconnect from, like the end of the stream, not a failure to give up on.
     */
    const readOnce = async (signal: AbortSignal): Promise<{ received: boolean; cut?: unknown }> => {
      const sent = lastEventId || undefined; // an empty id means "no id" (WHATWG HTML §9.2.6)
      const via = options.resumeVia ?? 'header';
      const headers: Record<string, string> = {
        Accept: 'text/event-stream',
        ...(typeof options.headers === 'function' ? await options.headers() : options.headers),
      };
      let requestUrl = url;
      if (sent !== undefined) {
        if (via !== 'query') headers[LAST_EVENT_ID_HEADER] = sent;
        if (via !== 'header') requestUrl = withQuery(url, RESUME_QUERY_PARAMETER, sent);
      }
      const response = await fetchWithBackoff(requestUrl, { headers, signal });
      const contentType = response.headers.get('Content-Type') ?? '';
      if (!/^text\/event-stream\b/i.test(contentType) || !response.body) {
        await response.body?.cancel().catch(() => {});
        throw new NotAnEventStreamError(url, contentType);
      }
      emit({ type: 'open', lastEventId: sent });
      let received = false;
      const parser = createParser({
        onEvent(message) {
          // Update the buffer before emitting: the subscriber may unsubscribe or re-enter.
          if (message.id !== undefined) lastEventId = message.id;
          received = true;
          emit({
            type: 'event',
            event: { event: message.event ?? 'message', data: message.data, id: message.id },
          });
        },
        onRetry(ms) {
          retryHint = ms;
        },
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const cancel = () => void reader.cancel().catch(() => {});
      signal.addEventListener('abort', cancel, { once: true });
      let cut: unknown;
      try {
        for (;;) {
          const chunk = await reader.read().catch((err: unknown) => {
            if (!signal.aborted) cut = err;
            return undefined;
          });
          if (!chunk || chunk.done || subscriber.closed) break;
          parser.feed(decoder.decode(chunk.value, { stream: true }));
        }
      } finally {
        signal.removeEventListener('abort', cancel);
      }
      if (signal.aborted) throw abortReason(signal);
      return cut === undefined ? { received } : { received, cut };
    };

    const run = async () => {
      let failures = 0;
      while (!stop.signal.aborted) {
        await whenOnline();
        if (stop.signal.aborted) return;
        connection = new AbortController();
        const onStop = () => connection?.abort(abortReason(stop.signal));
        stop.signal.addEventListener('abort', onStop, { once: true });
        let error: unknown;
        try {
          const read = await readOnce(connection.signal);
          if (read.received) failures = 0;
          else failures++;
          error = read.cut;
        } catch (err) {
          if (stop.signal.aborted) return;
          if (!connection.signal.aborted) throw err; // not retryable: fetchWithBackoff retried the rest
          error = err; // dropped because the browser went offline
          failures++;
        } finally {
          stop.signal.removeEventListener('abort', onStop);
        }
        emit({ type: 'dropped', error });
        if (connectivity && !connectivity.isOnline()) continue; // wait for `online`, not for a timer
        const delayMs = Math.max(retryHint, backoffDelay(failures, backoff, random));
        emit({ type: 'connecting', attempt: failures, delayMs, error });
        await sleep(delayMs, stop.signal).catch(() => {});
      }
    };

    run().then(
      () => subscriber.complete(),
      (err: unknown) => subscriber.error(err),
    );
    return () => {
      unwatch?.();
      stop.abort(new Error('unsubscribed'));
    };
  });
}

/** `url` with `name=value` set in its query; relative URLs resolve against the page, if any. */
function withQuery(url: string, name: string, value: string): string {
  const here = (globalThis as { location?: { href?: unknown } }).location?.href;
  const placeholder = 'http://relative.invalid';
  const parsed = new URL(url, typeof here === 'string' ? here : `${placeholder}/`);
  parsed.searchParams.set(name, value);
  return parsed.href.startsWith(`${placeholder}/`) ? parsed.href.slice(placeholder.length) : parsed.href;
}
