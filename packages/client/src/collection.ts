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
 *
 * Where tabs share (tabs.ts, SPEC.md M1–M10), only the elected tab connects and writes; the others
 * apply the events it relays, through the same `applyEvent`, so every tab holds the same state.
 */
import {
  BehaviorSubject,
  Subject,
  animationFrameScheduler,
  asapScheduler,
  defer,
  distinctUntilChanged,
  map,
  startWith,
  type Observable,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { DEFAULT_BATCH_DELAY_MS, EVENT_ENTRY, EVENT_READY, EVENT_RESET } from './constants.js';
import { BadRequestError, MalformedEventError, StorageError, describe } from './errors.js';
import type { BackoffOptions, Fetch } from './fetch-backoff.js';
import { localWriter, type LocalWriter } from './local-writer.js';
import {
  createStreamStore,
  hasIndexedDB,
  type LocalStore,
  loadLocal,
  type StateMeta,
  type StoredMeta,
} from './persistence.js';
import { Rebuild, type CollectionChange, type EntryEvent, type StreamEvent } from './rebuild.js';
import { eventStream, type Connectivity, type HeadersOption, type SseEvent, type SseNotice } from './sse.js';
import {
  INITIAL_STATUS,
  statusMachine,
  type CollectionStatus,
  type LeaderStatus,
  type LocalState,
  type StatusEvent,
} from './state.js';
import {
  EMPTY_POSITION,
  TabGroup,
  browserSharing,
  type Position,
  type TabHost,
  type TabSharing,
} from './tabs.js';

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
  /**
   * How tabs of this origin share the stream (SPEC.md M1–M10): by default Web Locks and
   * BroadcastChannel, where both exist (one tab connects and writes, the others follow it);
   * `null`: this collection works alone, as where they are missing (Node).
   */
  share?: TabSharing | null;
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
  const sharing = options.share === null ? undefined : (options.share ?? browserSharing());
  /** The writer id of a collection that works alone (a shared one writes as its term's epoch). */
  const aloneId = randomId();

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
  /** The stored meta the state was loaded from (its writer, seq and layout). */
  let loadedMeta: StoredMeta | undefined;
  let canWrite = false;
  let writer: LocalWriter<Body> | undefined;
  let cookieRejected = false;
  let closed = false;
  let stream: Subscription | undefined;
  let group: TabGroup<Body> | undefined;
  let persisted: Promise<void> = Promise.resolve();

  const statusEvents = new Subject<StatusEvent>();
  const status = new BehaviorSubject<CollectionStatus>(INITIAL_STATUS);
  statusEvents.pipe(statusMachine()).subscribe(status);
  const changes = new Subject<CollectionChange<Body>>();
  const events = new Subject<StreamEvent<Body>>();
  const notifications = new Subject<void>();

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
  const meta = (): StateMeta => {
    const pos = group?.position;
    return {
      url: streamUrl,
      cookie,
      replaying: rebuild.replaying,
      buster: options.buster,
      ...(group && pos ? { writer: pos.epoch, seq: pos.seq } : { writer: aloneId }),
    };
  };
  /** Queued after the changes of each event: the batch holding them holds their cookie too (P1). */
  const persistMeta = () => writer?.meta(meta());
  const startWriting = (
    expect: { writer: string | undefined; seq?: number | undefined },
    replace: boolean,
  ) => {
    if (!store || !canWrite) return;
    const w: LocalWriter<Body> = localWriter<Body>({
      store,
      delayMs: options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS,
      meta,
      entries: () => rebuild.entries,
      layout: loadedMeta,
      expect,
      replace,
      onStopped: (reason, detail) => {
        if (writer !== w) return; // a term gone by
        writer = undefined;
        setLocal({ kind: 'stopped', reason, detail });
      },
    });
    writer = w;
  };
  const stopWriting = () => {
    const w = writer;
    writer = undefined;
    persisted = w ? w.close() : persisted;
  };

  // ── applying events (from the stream, or relayed by the leader tab) ──────────────────────────
  const apply = (change: CollectionChange<Body> | undefined) => {
    if (!change) return;
    // State first, then the world: a listener may call getSnapshot() or re-enter.
    notifyChanged();
    writer?.change(change);
    changes.next(change);
  };

  /**
   * Applies one event to the state; returns the entries a `ready` dropped. A follower passes the
   * ones its leader dropped (M6). Other event names are not ours: ignored (forward compatible).
   */
  const applyEvent = (e: SseEvent, leaderDropped?: readonly string[]): string[] | undefined => {
    switch (e.event) {
      case EVENT_ENTRY: {
        const event = parseEntry<Body>(streamUrl, e);
        const change = rebuild.apply(event);
        if (e.id !== undefined) cookie = e.id;
        events.next(event);
        apply(change);
        return undefined;
      }
      case EVENT_READY: {
        const dropped = rebuild.ready(leaderDropped);
        if (e.id !== undefined) cookie = e.id;
        cookieRejected = false;
        events.next({ type: 'ready', id: e.id });
        for (const change of dropped) apply(change);
        return dropped.map((change) => change.entryUUID);
      }
      case EVENT_RESET:
        rebuild.beginFullReplay();
        if (e.id !== undefined) cookie = e.id;
        events.next({ type: 'reset', id: e.id });
        return undefined;
      default:
        return undefined;
    }
  };

  /** An event from our own connection: applied, relayed to the other tabs, stored, and the status. */
  const onEvent = (e: SseEvent) => {
    if (e.event !== EVENT_ENTRY && e.event !== EVENT_READY && e.event !== EVENT_RESET) return;
    const wasReplaying = rebuild.replaying;
    const dropped = applyEvent(e);
    group?.publish(e, dropped, rebuild.replaying); // before the meta: it carries the event's seq
    persistMeta();
    if (e.event === EVENT_READY) statusEvents.next({ type: 'ready' });
    else if (!wasReplaying && rebuild.replaying) statusEvents.next({ type: 'full-replay' });
  };

  // ── the stream ──────────────────────────────────────────────────────────────────────────────
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

  const reconnect = () => {
    statusEvents.next({ type: 'reconnect' });
    connect();
  };

  // ── tabs (tabs.ts): this collection leads, or follows the tab that does ──────────────────────
  const host: TabHost<Body> = {
    applyEvent: (item) => {
      try {
        applyEvent(item.event, item.dropped ?? []);
      } catch (err) {
        // The leader parsed it first and would have stopped: cannot happen; say so if it does.
        fail(err);
      }
      rebuild.mirrorReplaying(item.replaying);
    },
    applySnapshot: (leader) => {
      for (const change of rebuild.replace(leader.entries)) apply(change);
      cookie = leader.cookie;
      rebuild.mirrorReplaying(leader.replaying);
    },
    followStatus: (leaderStatus) => statusEvents.next({ type: 'follow', status: leaderStatus }),
    snapshot: () => ({ entries: [...rebuild.entries], cookie, replaying: rebuild.replaying }),
    lead: (base) => {
      // A replay the old leader had not finished is not resumed from its cookie (P5).
      if (rebuild.replaying) cookie = undefined;
      // The stored copy this state was built on (M8): the base's meta, or the one loaded.
      const expect = base
        ? { writer: base.epoch || undefined, seq: base.epoch ? base.seq : undefined }
        : { writer: loadedMeta?.writer, seq: loadedMeta?.seq };
      startWriting(expect, true);
      reconnect();
    },
    stepDown: () => {
      stream?.unsubscribe();
      stream = undefined;
      writer?.abandon();
      writer = undefined;
    },
    reconnect: () => {
      if (!closed) reconnect();
    },
    roleChanged: (role) => statusEvents.next({ type: 'role', role }),
  };
  // The leader tells its followers every status it goes through.
  status.subscribe((s) => {
    if (group?.role !== 'leader' || s.kind === 'loading-local') return;
    const { local: _local, role: _role, ...leaderStatus } = s;
    group.publishStatus(leaderStatus as LeaderStatus);
  });

  const start = async () => {
    let position: Position | undefined = EMPTY_POSITION;
    if (store) {
      try {
        const loaded = await loadLocal<Body>(streamUrl, { buster: options.buster }, store);
        if (loaded.kind === 'restored') {
          rebuild = new Rebuild(loaded.entries);
          // A replay that did not reach `ready` must start over: its cookie covers a partial state.
          cookie = loaded.meta.replaying ? undefined : loaded.meta.cookie;
          if (loaded.meta.replaying) rebuild.mirrorReplaying(true);
          loadedMeta = loaded.meta;
          // Written by a version that did not number events: a joining tab cannot say where it is.
          position =
            loaded.meta.seq === undefined ? undefined : { epoch: loaded.meta.writer, seq: loaded.meta.seq };
          local = { kind: 'restored', entries: loaded.entries.size };
          snapshotStale = true;
        } else if (loaded.kind === 'empty') local = { kind: 'empty' };
        else local = { kind: 'discarded', reason: loaded.reason, detail: loaded.detail };
        canWrite = true;
      } catch (err) {
        local = { kind: 'off', detail: new StorageError('read', err).message };
      }
    }
    if (closed) return;
    // The stored state goes out now, before any request (C1): synchronously, not on the scheduler.
    if (snapshotStale) notifications.next();
    if (sharing) {
      // Follow until elected: the leader, if there is one, catches this tab up (M3–M5).
      statusEvents.next({ type: 'local-loaded', local, role: 'follower' });
      group = new TabGroup<Body>(lockName(streamUrl, options.buster), sharing, host);
      group.join(position);
      return;
    }
    startWriting({ writer: loadedMeta?.writer }, false);
    statusEvents.next({ type: 'local-loaded', local });
    connect();
  };

  const close = async () => {
    if (!closed) {
      closed = true;
      stream?.unsubscribe();
      stream = undefined;
      stopWriting();
    }
    await persisted;
    // A leader lets go once its writes are stored: the next one then finds them (M8).
    group?.close();
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
      if (group?.role === 'follower') group.requestReconnect();
      else reconnect();
    },
    close,
  };
}

/** The Web Lock and BroadcastChannel name of a stream: tabs share it only with the same buster. */
function lockName(url: string, buster: string | undefined): string {
  return buster === undefined ? `syncrepl-rx ${url}` : `syncrepl-rx ${url} ${buster}`;
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
