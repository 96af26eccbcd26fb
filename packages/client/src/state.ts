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
 *
 * Where tabs share a stream (tabs.ts), every status after loading also carries `role`: `leader`
 * (this tab holds the connection and writes) or `follower` (another tab does; this one mirrors its
 * status through `follow` events, with its own `local`). Without sharing there is no `role`.
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

/**
 * Whether this tab holds the stream for the others (`leader`: the one connection, the one writer)
 * or mirrors the tab that does (`follower`). See SPEC.md M1–M10.
 */
export type TabRole = 'leader' | 'follower';

/** What every status after `loading-local` carries. `role` is there only where tabs share. */
interface Carried {
  local: LocalState;
  role?: TabRole;
}

export type CollectionStatus =
  | { kind: 'loading-local' }
  | ({ kind: 'connecting'; attempt: number; retryInMs: number; lastError: unknown } & Carried)
  | ({ kind: 'replaying'; full: boolean } & Carried)
  | ({ kind: 'live' } & Carried)
  | ({ kind: 'offline' } & Carried)
  | ({ kind: 'error'; error: Error } & Carried);

type WithoutCarried<S> = S extends unknown ? Omit<S, 'local' | 'role'> : never;

/** A leader's status as the tabs that follow it receive it: without its `local` and `role`. */
export type LeaderStatus = WithoutCarried<Exclude<CollectionStatus, { kind: 'loading-local' }>>;

/** What moves the status. */
export type StatusEvent =
  | { type: 'local-loaded'; local: LocalState; role?: TabRole }
  | { type: 'local-changed'; local: LocalState }
  /** This tab now leads or follows (tabs.ts). */
  | { type: 'role'; role: TabRole }
  /** A follower takes its leader's status (keeping its own `local` and `role`). */
  | { type: 'follow'; status: LeaderStatus }
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
    if (event.type !== 'local-loaded') return status;
    const carried: Carried = event.role ? { local: event.local, role: event.role } : { local: event.local };
    return { kind: 'connecting', ...carried, attempt: 0, retryInMs: 0, lastError: undefined };
  }
  // `local` and `role` go along from one status to the next.
  const carried: Carried = status.role ? { local: status.local, role: status.role } : { local: status.local };
  switch (event.type) {
    case 'local-loaded':
      return status;
    case 'local-changed':
      return { ...status, local: event.local };
    case 'role':
      return status.role === event.role ? status : { ...status, role: event.role };
    case 'follow':
      return { ...event.status, ...carried };
    case 'connecting':
      if (status.kind === 'error') return status;
      return {
        kind: 'connecting',
        ...carried,
        attempt: event.attempt,
        retryInMs: event.retryInMs,
        lastError: event.error,
      };
    case 'open':
      return status.kind === 'connecting' ? { kind: 'replaying', ...carried, full: !event.resumed } : status;
    case 'full-replay':
      if (status.kind === 'replaying' && status.full) return status;
      return status.kind === 'replaying' || status.kind === 'live'
        ? { kind: 'replaying', ...carried, full: true }
        : status;
    case 'ready':
      return status.kind === 'replaying' ? { kind: 'live', ...carried } : status;
    case 'dropped':
      return status.kind === 'replaying' || status.kind === 'live'
        ? { kind: 'connecting', ...carried, attempt: 0, retryInMs: 0, lastError: event.error }
        : status;
    case 'offline':
      return status.kind === 'error' || status.kind === 'offline' ? status : { kind: 'offline', ...carried };
    case 'failed':
      return { kind: 'error', ...carried, error: event.error };
    case 'reconnect':
      return { kind: 'connecting', ...carried, attempt: 0, retryInMs: 0, lastError: undefined };
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
