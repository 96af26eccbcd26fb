/**
 * `collection(url, options)`: one stream's entries as live state, keyed on entryUUID, kept in
 * IndexedDB and resumed from there.
 *
 *   IndexedDB ──load──► Rebuild (Map<entryUUID, Body>) ──► snapshots$ / subscribe / getSnapshot
 *       ▲                    ▲          │
 *       └── writeBehind ◄────┼──────────┘ changes (+ the cookie that covers them)
 *                            │
 *   eventStream(url, Last-Event-ID: stored cookie) ── entry / ready / reset
 *
 * Order on start (SPEC.md C1): the stored copy is read and emitted first; only then is the
 * request made, carrying the stored cookie on that very first request.
 */
import {
  BehaviorSubject,
  Subject,
  animationFrameScheduler,
  asapScheduler,
  defer,
  distinctUntilChanged,
  from,
  map,
  startWith,
  tap,
  type Observable,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { DEFAULT_BATCH_DELAY_MS, EVENT_ENTRY, EVENT_READY, EVENT_RESET } from './constants.js';
import { BadRequestError, MalformedEventError, StorageError, describe } from './errors.js';
import type { BackoffOptions, Fetch } from './fetch-backoff.js';
import {
  createStreamStore,
  hasIndexedDB,
  type LocalStore,
  loadLocal,
  needsCompaction,
  writeBatch,
  type Batch,
  type StateMeta,
  type StoredMeta,
} from './persistence.js';
import { Rebuild, type CollectionChange, type EntryEvent, type StreamEvent } from './rebuild.js';
import { eventStream, type Connectivity, type HeadersOption, type SseEvent, type SseNotice } from './sse.js';
import {
  INITIAL_STATUS,
  statusMachine,
  type CollectionStatus,
  type LocalState,
  type StatusEvent,
} from './state.js';
import { writeBehind } from './write-behind.js';

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

export interface CollectionOptions {
  /** Headers for each request (or a function giving them, called per request: tokens refresh). */
  headers?: HeadersOption;
  /** How the resume cookie travels: `Last-Event-ID` header (default), `lastEventId` query, or both. */
  resumeVia?: 'header' | 'query' | 'both';
  /** The fetch to use (default: the global one); it is wrapped with backoff. */
  fetch?: Fetch;
  /** Reconnect backoff (defaults: BACKOFF_DEFAULTS). */
  backoff?: Partial<BackoffOptions>;
  /**
   * Where the local copy lives: an idb-keyval store (default: `createStreamStore(url)`, one
   * database per stream URL, opened on first use); `null` keeps everything in memory.
   */
  store?: LocalStore | null;
  /** Change it to throw the stored copy away once and start fresh (e.g. on a new app version). */
  buster?: string;
  /** How long applied events wait for company before one transaction writes them. Default 25 ms. */
  batchDelayMs?: number;
  /**
   * When snapshot listeners hear of changes: coalesced per animation frame in browsers
   * (animationFrameScheduler), per microtask elsewhere (asapScheduler).
   */
  notifyScheduler?: SchedulerLike;
  /** navigator.onLine by default; `null`: assume always online. */
  connectivity?: Connectivity | null;
  /** Aborting it is `close()`. */
  signal?: AbortSignal;
}

export interface Collection<Body> extends ExternalStore<ReadonlyMap<string, Body>> {
  /** The absolute stream URL. */
  readonly url: string;
  /** The entries: the current snapshot at once, then one per batch of changes (coalesced). */
  readonly snapshots$: Observable<ReadonlyMap<string, Body>>;
  /** Every change, synchronously, in order (no-op upserts are not changes). */
  readonly changes$: Observable<CollectionChange<Body>>;
  /** Every event received, as the server sent it (present events included). */
  readonly events$: Observable<StreamEvent<Body>>;
  /** The status: the current one at once, then each change. */
  readonly status$: Observable<CollectionStatus>;
  /** The status as an {@link ExternalStore}, for React and Svelte. */
  readonly status: ExternalStore<CollectionStatus>;
  /** Drops the connection (if any) and connects again now, e.g. after an error was dealt with. */
  readonly reconnect: () => void;
  /** Stops the stream and resolves once pending writes are stored. */
  readonly close: () => Promise<void>;
}

type WriteItem<Body> =
  | { type: 'put'; entryUUID: string; body: Body }
  | { type: 'delete'; entryUUID: string }
  | { type: 'meta'; meta: StateMeta };

/**
 * Live state of one stream, keyed on entryUUID, persisted in IndexedDB.
 *
 * @example
 * const realms = collection<Realm>('/realm?subscribe=1');
 * realms.subscribe((snapshot) => console.log(snapshot.size));
 * // Logs: 4 (from IndexedDB, before the network answers), then 4 again only if something changed
 *
 * @param url The stream URL (relative to the page in browsers; absolute in Node).
 * @param options Transport, persistence and notification options.
 * @return The collection; it starts at once, and runs until `close()` or `options.signal` aborts.
 */
export function collection<Body = unknown>(
  url: string | URL,
  options: CollectionOptions = {},
): Collection<Body> {
  const streamUrl = resolveUrl(url);
  // No IndexedDB (Node, some embedded webviews): the default is memory, and the status says so.
  const noIndexedDB = options.store === undefined && !hasIndexedDB();
  const store =
    options.store === null || noIndexedDB ? undefined : (options.store ?? createStreamStore(streamUrl));
  const notifyScheduler = options.notifyScheduler ?? defaultNotifyScheduler();
  const writerId = randomId();

  let rebuild = new Rebuild<Body>();
  let snapshot: ReadonlyMap<string, Body> = new Map<string, Body>();
  let snapshotStale = false;
  let notifyPending = false;
  /** The `id:` of the last event applied: what a reconnect sends and what the stored copy holds. */
  let cookie: string | undefined;
  let local: LocalState = {
    kind: 'off',
    detail: noIndexedDB ? 'no IndexedDB here, state is in memory' : 'store: null',
  };
  let persisting = false;
  let expectedWriter: string | undefined;
  /** The stored meta after the last write (or the load): its layout says when to compact. */
  let layout: StoredMeta | undefined;
  let cookieRejected = false;
  let closed = false;
  let stream: Subscription | undefined;
  let persisted: Promise<void> = Promise.resolve();

  const statusEvents = new Subject<StatusEvent>();
  const status = new BehaviorSubject<CollectionStatus>(INITIAL_STATUS);
  statusEvents.pipe(statusMachine()).subscribe(status);
  const changes = new Subject<CollectionChange<Body>>();
  const events = new Subject<StreamEvent<Body>>();
  const notifications = new Subject<void>();
  const writes = new Subject<WriteItem<Body>>();

  /** The same object until the entries change (React compares snapshots by identity). */
  const getSnapshot = (): ReadonlyMap<string, Body> => {
    if (snapshotStale) {
      snapshot = new Map(rebuild.entries);
      snapshotStale = false;
    }
    return snapshot;
  };

  const notifyChanged = () => {
    snapshotStale = true;
    if (notifyPending || closed) return;
    notifyPending = true;
    notifyScheduler.schedule(() => {
      notifyPending = false;
      notifications.next();
    });
  };

  // The current status at once, even after close() (a completed BehaviorSubject replays nothing).
  const status$ = defer(() => status.pipe(startWith(status.getValue()), distinctUntilChanged()));

  const snapshots$ = notifications.pipe(
    startWith(undefined),
    map(() => getSnapshot()),
    distinctUntilChanged(),
  );

  const setLocal = (next: LocalState) => {
    local = next;
    statusEvents.next({ type: 'local-changed', local });
  };

  // ── persistence ─────────────────────────────────────────────────────────────────────────────
  const meta = (): StateMeta => ({
    url: streamUrl,
    cookie,
    replaying: rebuild.replaying,
    buster: options.buster,
    writer: writerId,
  });
  const persistChange = (change: CollectionChange<Body>) => {
    if (!persisting) return;
    if (change.type === 'upsert')
      writes.next({ type: 'put', entryUUID: change.entryUUID, body: change.body });
    else writes.next({ type: 'delete', entryUUID: change.entryUUID });
  };
  /** Queued after the changes of each event: the batch holding them holds their cookie too (P1). */
  const persistMeta = () => {
    if (persisting) writes.next({ type: 'meta', meta: meta() });
  };
  const stopPersisting = (reason: 'other-tab' | 'write-failed', detail: string) => {
    if (!persisting) return;
    persisting = false;
    setLocal({ kind: 'stopped', reason, detail });
  };
  const startPersisting = (customStore: LocalStore) => {
    persisting = true;
    persisted = new Promise<void>((resolve) => {
      writes
        .pipe(
          writeBehind({
            createBatch: (): Batch<Body> => ({ puts: new Map(), deletes: new Set(), meta: meta() }),
            add: (batch, item) => {
              if (item.type === 'put') {
                batch.deletes.delete(item.entryUUID);
                batch.puts.set(item.entryUUID, item.body);
              } else if (item.type === 'delete') {
                batch.puts.delete(item.entryUUID);
                batch.deletes.add(item.entryUUID);
              } else batch.meta = item.meta;
            },
            // Called when the batch is taken: the state in memory is then exactly what the batch's
            // meta covers, so a compaction captures it now (as an array: the Map moves on).
            write: (batch) => {
              const compactTo = needsCompaction(layout, rebuild.entries.size)
                ? [...rebuild.entries]
                : undefined;
              return from(writeBatch(batch, { expectedWriter, compactTo }, customStore)).pipe(
                tap((result) => {
                  if (result.kind === 'written') {
                    expectedWriter = writerId;
                    layout = result.meta;
                  } else stopPersisting('other-tab', 'another tab (or window) with this stream wrote since');
                }),
              );
            },
            delayMs: options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS,
          }),
        )
        .subscribe({
          complete: resolve,
          error: (err: unknown) => {
            // The failed transaction wrote nothing: what is stored is still consistent, only older.
            stopPersisting('write-failed', new StorageError('write', err).message);
            resolve();
          },
        });
    });
  };

  // ── the stream ──────────────────────────────────────────────────────────────────────────────
  const apply = (change: CollectionChange<Body> | undefined) => {
    if (!change) return;
    // State first, then the world: a listener may call getSnapshot() or re-enter.
    notifyChanged();
    persistChange(change);
    changes.next(change);
  };

  const onEvent = (e: SseEvent) => {
    switch (e.event) {
      case EVENT_ENTRY: {
        const event = parseEntry<Body>(streamUrl, e);
        const wasReplaying = rebuild.replaying;
        const change = rebuild.apply(event);
        if (e.id !== undefined) cookie = e.id;
        events.next(event);
        apply(change);
        persistMeta();
        if (!wasReplaying && rebuild.replaying) statusEvents.next({ type: 'full-replay' });
        return;
      }
      case EVENT_READY: {
        const dropped = rebuild.ready();
        if (e.id !== undefined) cookie = e.id;
        cookieRejected = false;
        events.next({ type: 'ready', id: e.id });
        for (const change of dropped) apply(change);
        persistMeta();
        statusEvents.next({ type: 'ready' });
        return;
      }
      case EVENT_RESET:
        rebuild.beginFullReplay();
        if (e.id !== undefined) cookie = e.id;
        events.next({ type: 'reset', id: e.id });
        persistMeta();
        statusEvents.next({ type: 'full-replay' });
        return;
      default:
      // Other event names are not ours: ignore them (forward compatible).
    }
  };

  const onNotice = (notice: SseNotice) => {
    switch (notice.type) {
      case 'connecting':
        statusEvents.next({
          type: 'connecting',
          attempt: notice.attempt,
          retryInMs: notice.delayMs,
          error: notice.error,
        });
        return;
      case 'open':
        if (notice.lastEventId === undefined) {
          // No cookie: the server replays everything, and whatever it leaves out is gone (S3).
          rebuild.beginFullReplay();
          persistMeta();
        }
        statusEvents.next({ type: 'open', resumed: notice.lastEventId !== undefined });
        return;
      case 'event':
        try {
          onEvent(notice.event);
        } catch (err) {
          fail(err);
        }
        return;
      case 'dropped':
        statusEvents.next({ type: 'dropped', error: notice.error });
        return;
      case 'offline':
        statusEvents.next({ type: 'offline' });
        return;
    }
  };

  const fail = (err: unknown) => {
    stream?.unsubscribe();
    stream = undefined;
    statusEvents.next({ type: 'failed', error: err instanceof Error ? err : new Error(describe(err)) });
  };

  const connect = () => {
    stream?.unsubscribe();
    stream = eventStream(streamUrl, {
      lastEventId: cookie,
      resumeVia: options.resumeVia,
      headers: options.headers,
      fetch: options.fetch,
      backoff: options.backoff,
      connectivity: options.connectivity,
    }).subscribe({
      next: onNotice,
      error: (err: unknown) => {
        if (err instanceof BadRequestError && cookie !== undefined && !cookieRejected) {
          // Most likely our stored cookie (over 1024 bytes or control characters:
          // docs/stream-contract.md §K4).
          // Without it the server replays in full, and the replay rebuilds the exact state.
          cookieRejected = true;
          cookie = undefined;
          setLocal({ kind: 'discarded', reason: 'rejected-cookie', detail: err.message });
          persistMeta();
          connect();
          return;
        }
        fail(err);
      },
    });
  };

  const start = async () => {
    if (store) {
      try {
        const loaded = await loadLocal<Body>(streamUrl, { buster: options.buster }, store);
        if (loaded.kind === 'restored') {
          rebuild = new Rebuild(loaded.entries);
          // A replay that did not reach `ready` must start over: its cookie covers a partial state.
          cookie = loaded.meta.replaying ? undefined : loaded.meta.cookie;
          expectedWriter = loaded.meta.writer;
          layout = loaded.meta;
          local = { kind: 'restored', entries: loaded.entries.size };
          snapshotStale = true;
        } else if (loaded.kind === 'empty') local = { kind: 'empty' };
        else local = { kind: 'discarded', reason: loaded.reason, detail: loaded.detail };
        if (!closed) startPersisting(store);
      } catch (err) {
        local = { kind: 'off', detail: new StorageError('read', err).message };
      }
    }
    if (closed) return;
    // The stored state goes out now, before any request (C1): synchronously, not on the scheduler.
    if (snapshotStale) notifications.next();
    statusEvents.next({ type: 'local-loaded', local });
    connect();
  };

  const close = async () => {
    if (!closed) {
      closed = true;
      stream?.unsubscribe();
      stream = undefined;
      writes.complete();
    }
    await persisted;
    statusEvents.complete();
    changes.complete();
    events.complete();
    notifications.complete();
  };

  const statusStore: ExternalStore<CollectionStatus> = {
    subscribe: (listener) => {
      const subscription = status$.subscribe(listener);
      return () => subscription.unsubscribe();
    },
    getSnapshot: () => status.getValue(),
  };

  options.signal?.addEventListener('abort', () => void close(), { once: true });
  if (options.signal?.aborted) void close();
  else void start();

  return {
    url: streamUrl,
    snapshots$,
    changes$: changes.asObservable(),
    events$: events.asObservable(),
    status$,
    status: statusStore,
    subscribe: (listener) => {
      const subscription = snapshots$.subscribe(listener);
      return () => subscription.unsubscribe();
    },
    getSnapshot,
    reconnect: () => {
      if (closed || status.getValue().kind === 'loading-local') return;
      statusEvents.next({ type: 'reconnect' });
      connect();
    },
    close,
  };
}

/** Checks the shape docs/stream-contract.md §E1 promises: `{ entryUUID, syncOp, body }`. */
function parseEntry<Body>(url: string, e: SseEvent): EntryEvent<Body> {
  let data: unknown;
  try {
    data = JSON.parse(e.data);
  } catch {
    throw new MalformedEventError(url, 'is not JSON', e.data);
  }
  if (!data || typeof data !== 'object') throw new MalformedEventError(url, 'is not a JSON object', e.data);
  const { entryUUID, syncOp, body } = data as Record<string, unknown>;
  if (typeof entryUUID !== 'string' || entryUUID === '') {
    throw new MalformedEventError(url, 'has no entryUUID', e.data);
  }
  if (!body || typeof body !== 'object') throw new MalformedEventError(url, 'has no body object', e.data);
  switch (syncOp) {
    case 'present':
    case 'add':
    case 'modify':
      return { type: 'entry', syncOp, entryUUID, body: body as Body, id: e.id };
    case 'delete':
      return { type: 'entry', syncOp, entryUUID, body: body as Record<string, unknown>, id: e.id };
    default:
      throw new MalformedEventError(url, `has an unknown syncOp ${JSON.stringify(syncOp)}`, e.data);
  }
}

/** The absolute URL: relative to the page in browsers; Node has no page, so it must be absolute. */
function resolveUrl(url: string | URL): string {
  const here = (globalThis as { location?: { href?: unknown } }).location?.href;
  try {
    return typeof here === 'string' ? new URL(String(url), here).href : new URL(String(url)).href;
  } catch {
    throw new TypeError(
      `collection(url): ${JSON.stringify(String(url))} is not a URL; outside a browser pass an absolute one ` +
        '(http://host/realm?subscribe=1)',
    );
  }
}

function defaultNotifyScheduler(): SchedulerLike {
  const g = globalThis as { requestAnimationFrame?: unknown };
  return typeof g.requestAnimationFrame === 'function' ? animationFrameScheduler : asapScheduler;
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
