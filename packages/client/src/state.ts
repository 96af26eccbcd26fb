/**
 * The status of a collection: immutable objects with a `kind`, and the one function that moves
 * from one to the next.
 *
 *                  ┌───────────────┐
 *     start ─────► │ loading-local │  IndexedDB read (or discarded: corrupt, old format, buster)
 *                  └───────┬───────┘
 *                          │ local-loaded: the stored state is already on screen
 *                          ▼
 *        ┌──────────► ┌────────────┐ ◄──────── dropped, 5xx, network error (backoff) ──┐
 *        │            │ connecting │ ─────────────────────────────────────────┐        │
 *        │            └─────┬──────┘   400/401/403, retries exhausted,        │        │
 *        │                  │ open     not an event stream, malformed event   ▼        │
 *        │                  ▼                                           ┌─────────┐    │
 *        │            ┌────────────┐  ready   ┌──────┐                  │  error  │    │
 *        │ online     │ replaying  │ ───────► │ live │ ─────────────────┼─────────┼────┘
 *        │            └────────────┘          └──────┘                  └────┬────┘
 *        │         offline (from connecting, replaying, live)                │ reconnect()
 *   ┌─────────┐ ◄──────────────────────────────────────                      ▼
 *   │ offline │                                                         connecting
 *   └─────────┘
 *
 * `replaying` covers everything between `open` and `ready`: with `full: false` the server is
 * catching up from our cookie (only missed changes); with `full: true` it replays the whole
 * collection (no cookie, or a `reset`), and entries not re-presented before `ready` are dropped.
 *
 * Every status after loading carries `local`: what happened to the stored copy. It changes when
 * the copy is discarded (a rejected cookie) or when persisting stops (another tab took over, or a
 * write failed).
 */
import { distinctUntilChanged, scan, startWith, type OperatorFunction } from 'rxjs';

export type StatusKind = 'loading-local' | 'connecting' | 'replaying' | 'live' | 'offline' | 'error';

/** Why the stored copy was thrown away (then the collection replays in full). */
export type DiscardReason =
  /** Unreadable, or not in the shape this version writes. */
  | 'corrupt'
  /** Written by another format version (SPEC.md P4). */
  | 'old-format'
  /** The `buster` option differs from the one stored. */
  | 'buster'
  /** The server answered 400 to the stored resume cookie. */
  | 'rejected-cookie';

export type LocalState =
  /** Persistence is off: `store: null`, or IndexedDB is not available (`detail` says why). */
  | { kind: 'off'; detail: string }
  /** Nothing was stored: a first visit. */
  | { kind: 'empty' }
  | { kind: 'restored'; entries: number }
  | { kind: 'discarded'; reason: DiscardReason; detail: string }
  /** Persisting stopped for this session; what is stored stays consistent. */
  | { kind: 'stopped'; reason: 'other-tab' | 'write-failed'; detail: string };

export type CollectionStatus =
  | { kind: 'loading-local' }
  | { kind: 'connecting'; local: LocalState; attempt: number; retryInMs: number; lastError: unknown }
  | { kind: 'replaying'; local: LocalState; full: boolean }
  | { kind: 'live'; local: LocalState }
  | { kind: 'offline'; local: LocalState }
  | { kind: 'error'; local: LocalState; error: Error };

/** What moves the status. */
export type StatusEvent =
  | { type: 'local-loaded'; local: LocalState }
  | { type: 'local-changed'; local: LocalState }
  | { type: 'connecting'; attempt: number; retryInMs: number; error: unknown }
  /** A stream opened; `resumed` when the request carried a resume cookie. */
  | { type: 'open'; resumed: boolean }
  /** A full replay started (a `reset`, or `present` events the collection did not expect). */
  | { type: 'full-replay' }
  | { type: 'ready' }
  | { type: 'dropped'; error: unknown }
  | { type: 'offline' }
  | { type: 'failed'; error: Error }
  | { type: 'reconnect' };

export const INITIAL_STATUS: CollectionStatus = Object.freeze({ kind: 'loading-local' });

/**
 * The status after `event`. Events that mean nothing in the current status return it unchanged
 * (the same object), so `distinctUntilChanged()` drops them.
 */
export function nextStatus(status: CollectionStatus, event: StatusEvent): CollectionStatus {
  if (status.kind === 'loading-local') {
    return event.type === 'local-loaded'
      ? { kind: 'connecting', local: event.local, attempt: 0, retryInMs: 0, lastError: undefined }
      : status;
  }
  const { local } = status;
  switch (event.type) {
    case 'local-loaded':
      return status;
    case 'local-changed':
      return { ...status, local: event.local };
    case 'connecting':
      if (status.kind === 'error') return status;
      return {
        kind: 'connecting',
        local,
        attempt: event.attempt,
        retryInMs: event.retryInMs,
        lastError: event.error,
      };
    case 'open':
      return status.kind === 'connecting' ? { kind: 'replaying', local, full: !event.resumed } : status;
    case 'full-replay':
      if (status.kind === 'replaying' && status.full) return status;
      return status.kind === 'replaying' || status.kind === 'live'
        ? { kind: 'replaying', local, full: true }
        : status;
    case 'ready':
      return status.kind === 'replaying' ? { kind: 'live', local } : status;
    case 'dropped':
      return status.kind === 'replaying' || status.kind === 'live'
        ? { kind: 'connecting', local, attempt: 0, retryInMs: 0, lastError: event.error }
        : status;
    case 'offline':
      return status.kind === 'error' || status.kind === 'offline' ? status : { kind: 'offline', local };
    case 'failed':
      return { kind: 'error', local, error: event.error };
    case 'reconnect':
      return { kind: 'connecting', local, attempt: 0, retryInMs: 0, lastError: undefined };
  }
}

/**
 * The status machine as an operator: emits `INITIAL_STATUS`, then every distinct status.
 *
 * @example
 * of<StatusEvent>({ type: 'local-loaded', local: { kind: 'empty' } }, { type: 'open', resumed: false })
 *   .pipe(statusMachine())
 *   .subscribe((s) => console.log(s.kind));
 * // Logs: loading-local, connecting, replaying
 *
 * @return A function that returns an Observable of statuses.
 */
export function statusMachine(): OperatorFunction<StatusEvent, CollectionStatus> {
  return (events) =>
    events.pipe(scan(nextStatus, INITIAL_STATUS), startWith(INITIAL_STATUS), distinctUntilChanged());
}
