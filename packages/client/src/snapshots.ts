/**
 * What consumers see of the entries (SPEC.md C1, C2): snapshots that keep their identity until
 * the entries change, and listeners told once per coalesced batch of changes, in the shape UI
 * state stores consume.
 *
 *   changed() ── stale ── notifyScheduler (one per frame / microtask) ──► snapshots$ ─► listeners
 *                  └──────────── getSnapshot(): a new Map only when stale, else the same object
 */
import { Subject, distinctUntilChanged, map, startWith, type Observable, type SchedulerLike } from 'rxjs';

/**
 * A value that changes over time, in the shape UI state stores consume:
 * - React: `useSyncExternalStore(store.subscribe, store.getSnapshot)`; `getSnapshot()` returns
 *   the same object until something changes.
 * - Svelte (the store contract): `subscribe` calls the listener at once with the current value,
 *   then on every change, and returns the unsubscribe function; so `$store` works.
 * Both functions are bound: pass them around detached.
 */
export interface ExternalStore<T> {
  readonly subscribe: (listener: (value: T) => void) => () => void;
  readonly getSnapshot: () => T;
}

/**
 * An {@link ExternalStore} over an Observable that emits the current value at once on subscribe.
 *
 * @param values$ The values: the current one at once, then each change.
 * @param getSnapshot The current value.
 * @return The store, its functions bound.
 */
export function externalStore<T>(values$: Observable<T>, getSnapshot: () => T): ExternalStore<T> {
  return {
    subscribe: (listener) => {
      const subscription = values$.subscribe(listener);
      return () => subscription.unsubscribe();
    },
    getSnapshot,
  };
}

export interface SnapshotView<Body> {
  /** The same object until the entries change (React compares snapshots by identity, C2). */
  readonly getSnapshot: () => ReadonlyMap<string, Body>;
  /** The current snapshot at once, then one per coalesced batch of changes. */
  readonly snapshots$: Observable<ReadonlyMap<string, Body>>;
  /** The entries changed: the next `getSnapshot()` copies them, and listeners hear of it on the scheduler. */
  changed(): void;
  /** The entries were replaced wholesale (a stored copy restored): stale, but nobody told yet. */
  invalidate(): void;
  /** Tells listeners now, synchronously, if the snapshot is stale (the stored copy, before any request: C1). */
  emitNow(): void;
  /** No more notifications are scheduled (closing); the snapshot still follows the entries. */
  stop(): void;
  /** Completes `snapshots$`. */
  complete(): void;
}

/**
 * Snapshots of a Map that is updated in place.
 *
 * @example
 * const view = snapshotView(() => state.entries, asapScheduler);
 * view.snapshots$.subscribe((s) => console.log(s.size));
 * state.apply(event); view.changed(); state.apply(event2); view.changed();
 * // Logs: 0, then 2 once (one notification for both changes)
 *
 * @param entries The entries now (read when a snapshot is taken).
 * @param scheduler Where notifications are coalesced (animation frames in browsers).
 * @return The view.
 */
export function snapshotView<Body>(
  entries: () => ReadonlyMap<string, Body>,
  scheduler: SchedulerLike,
): SnapshotView<Body> {
  let snapshot: ReadonlyMap<string, Body> = new Map<string, Body>();
  let stale = false;
  let pending = false;
  let stopped = false;
  const notifications = new Subject<void>();

  const getSnapshot = (): ReadonlyMap<string, Body> => {
    if (stale) {
      snapshot = new Map(entries());
      stale = false;
    }
    return snapshot;
  };

  return {
    getSnapshot,
    snapshots$: notifications.pipe(
      startWith(undefined),
      map(() => getSnapshot()),
      distinctUntilChanged(),
    ),
    changed: () => {
      stale = true;
      if (pending || stopped) return;
      pending = true;
      scheduler.schedule(() => {
        pending = false;
        notifications.next();
      });
    },
    invalidate: () => {
      stale = true;
    },
    emitNow: () => {
      if (stale) notifications.next();
    },
    stop: () => {
      stopped = true;
    },
    complete: () => notifications.complete(),
  };
}
