/**
 * The transport part of a collection: one connection at a time to its stream (sse.ts: SSE over
 * fetch, backoff, connectivity; SPEC.md T1–T5), reporting wire events and connection states, and
 * the failure that ends it. It knows nothing of the entries or the stored copy: the caller says
 * which cookie to resume from on each `connect()`.
 *
 *   connect(cookie) ──► eventStream(url, lastEventId: cookie) ──► notices:
 *                         event (a wire event)
 *                         connecting / open / dropped / offline (as the status machine hears them)
 *                         failed (not retried: 400/401/403, not an event stream, retries exhausted)
 *   disconnect()    ──► the request, the read and any backoff sleep are cancelled (T5)
 */
import type { Subscription } from 'rxjs';
import type { BackoffOptions, Fetch } from './fetch-backoff.js';
import { eventStream, type Connectivity, type HeadersOption, type SseEvent } from './sse.js';
import type { StatusEvent } from './state.js';

/** The options of `collection()` that are the transport's (see `CollectionOptions`). */
export interface TransportOptions {
  headers?: HeadersOption | undefined;
  resumeVia?: 'header' | 'query' | 'both' | undefined;
  fetch?: Fetch | undefined;
  backoff?: Partial<BackoffOptions> | undefined;
  connectivity?: Connectivity | null | undefined;
}

/** A connection state, as the status machine (state.ts) takes it. */
export type ConnectionState = Extract<StatusEvent, { type: 'connecting' | 'open' | 'dropped' | 'offline' }>;

/** What the transport reports, in order. */
export type TransportNotice =
  | { type: 'event'; event: SseEvent }
  | ConnectionState
  /** The connection gave up (T3): nothing more comes until the next `connect()`. */
  | { type: 'failed'; error: unknown };

export interface Transport {
  /** Drops the current connection, if any, and connects now, resuming from `cookie` (T1). */
  connect(cookie: string | undefined): void;
  /** Drops the current connection, if any. */
  disconnect(): void;
}

/**
 * The connection of one collection.
 *
 * @example
 * const link = transport('https://x/realm?subscribe=1', {}, (n) => console.log(n.type));
 * link.connect(storedCookie);
 * // Logs: open, event, event, …, then dropped, connecting, open … on a drop
 *
 * @param url The absolute stream URL.
 * @param options Headers, resume cookie placement, fetch, backoff, connectivity.
 * @param onNotice Called with each notice, synchronously; it may call `connect()` or `disconnect()`.
 * @return The transport, not connected.
 */
export function transport(
  url: string,
  options: TransportOptions,
  onNotice: (notice: TransportNotice) => void,
): Transport {
  let stream: Subscription | undefined;
  const disconnect = () => {
    stream?.unsubscribe();
    stream = undefined;
  };
  return {
    connect: (cookie) => {
      disconnect();
      stream = eventStream(url, {
        lastEventId: cookie,
        resumeVia: options.resumeVia,
        headers: options.headers,
        fetch: options.fetch,
        backoff: options.backoff,
        connectivity: options.connectivity,
      }).subscribe({
        next: (notice) => {
          switch (notice.type) {
            case 'connecting':
              onNotice({
                type: 'connecting',
                attempt: notice.attempt,
                retryInMs: notice.delayMs,
                error: notice.error,
              });
              return;
            case 'open':
              onNotice({ type: 'open', resumed: notice.lastEventId !== undefined });
              return;
            default:
              onNotice(notice);
          }
        },
        error: (error: unknown) => onNotice({ type: 'failed', error }),
      });
    },
    disconnect,
  };
}
