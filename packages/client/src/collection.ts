/**
 * `collection(url, options)`: one stream's entries as live state, keyed on entryUUID, kept in
 * IndexedDB and resumed from there. It composes four parts, each usable and tested alone:
 *
 *   transport (transport.ts)      wire events and connection states in; nothing about storage
 *   state (stream-state.ts)       each wire event → entries, cookie, and a Step of what it did;
 *                                 the status (state.ts: nextStatus) from the connection states
 *   local copy (local-copy.ts)    load, the position a tab stands at, write-behind
 *   view (snapshots.ts)           snapshots and coalesced notifications for UI stores
 *
 *   local copy ──load──► state ──► view: snapshots$ / subscribe / getSnapshot
 *       ▲                  ▲ │
 *       └── change, meta ──┼─┘ Step: events$, changes$, status, relay to followers (tabs.ts)
 *                          │
 *   transport (Last-Event-ID: state.cookie) ── entry / ready / reset
 *
 * Order on start (SPEC.md C1): the stored copy is read and emitted first; only then is the
 * request made, carrying the stored cookie on that very first request.
 *
 * Where tabs share (tabs.ts, SPEC.md M1–M10), only the elected tab connects and writes; the others
 * apply the events it relays through the same `StreamState.apply`, so every tab holds the same state.
 */
import {
  BehaviorSubject,
  Subject,
  animationFrameScheduler,
  asapScheduler,
  defer,
  distinctUntilChanged,
  startWith,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { BadRequestError, describe } from './errors.js';
import type { BackoffOptions, Fetch } from './fetch-backoff.js';
import { localCopy } from './local-copy.js';
import type { LocalStore } from './persistence.js';
import type { CollectionChange, StreamEvent } from './rebuild.js';
import { externalStore, snapshotView, type ExternalStore } from './snapshots.js';
import type { Connectivity, HeadersOption, SseEvent } from './sse.js';
import {
  INITIAL_STATUS,
  statusMachine,
  type CollectionStatus,
  type LeaderStatus,
  type StatusEvent,
} from './state.js';
import { StreamState, type Step } from './stream-state.js';
import { browserSharing, type TabSharing } from './tab-sharing.js';
import { TabGroup, type TabHost } from './tabs.js';
import { transport, type TransportNotice } from './transport.js';

export type { ExternalStore } from './snapshots.js';

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
  const sharing = options.share === null ? undefined : (options.share ?? browserSharing());
  let closed = false;
  let group: TabGroup<Body> | undefined;

  const statusEvents = new Subject<StatusEvent>();
  const status = new BehaviorSubject<CollectionStatus>(INITIAL_STATUS);
  statusEvents.pipe(statusMachine()).subscribe(status);
  const changes = new Subject<CollectionChange<Body>>();
  const events = new Subject<StreamEvent<Body>>();

  // ── the parts ───────────────────────────────────────────────────────────────────────────────
  const state = new StreamState<Body>(streamUrl);
  const view = snapshotView(() => state.entries, options.notifyScheduler ?? defaultNotifyScheduler());
  const copy = localCopy<Body>({
    url: streamUrl,
    store: options.store,
    buster: options.buster,
    batchDelayMs: options.batchDelayMs,
    describe: () => ({ cookie: state.cookie, replaying: state.replaying, position: group?.position }),
    entries: () => state.entries,
    onChanged: (local) => statusEvents.next({ type: 'local-changed', local }),
  });
  const link = transport(streamUrl, options, (notice) => onNotice(notice));

  // ── applying events (from the stream, or relayed by the leader tab) ──────────────────────────
  /** Changes the state holds already go out: state first, then the world (a listener may re-enter). */
  const announce = (applied: readonly CollectionChange<Body>[]) => {
    for (const change of applied) {
      view.changed();
      copy.change(change);
      changes.next(change);
    }
  };
  /** What an applied event did: the event as received, then its changes (C3). */
  const emit = (step: Step<Body>) => {
    events.next(step.event);
    announce(step.changes);
  };

  /** An event from our own connection: applied, relayed to the other tabs, stored, and the status. */
  const onEvent = (e: SseEvent) => {
    const step = state.apply(e);
    if (!step) return; // not one of ours (forward compatible)
    emit(step);
    group?.publish(e, step.dropped, state.replaying); // before the meta: it carries the event's seq
    copy.saveMeta();
    if (step.status) statusEvents.next(step.status);
  };

  // ── the stream ──────────────────────────────────────────────────────────────────────────────
  const onNotice = (notice: TransportNotice) => {
    switch (notice.type) {
      case 'event':
        try {
          onEvent(notice.event);
        } catch (err) {
          fail(err);
        }
        return;
      case 'open':
        if (!notice.resumed) {
          // No cookie: the server replays everything, and whatever it leaves out is gone (S3).
          state.beginFullReplay();
          copy.saveMeta();
        }
        statusEvents.next(notice);
        return;
      case 'failed':
        if (notice.error instanceof BadRequestError && state.rejectCookie()) {
          // Most likely our stored cookie (docs/stream-contract.md §K4): dropped, and replayed in full.
          copy.discard('rejected-cookie', notice.error.message);
          copy.saveMeta();
          link.connect(state.cookie);
          return;
        }
        fail(notice.error);
        return;
      default:
        statusEvents.next(notice);
    }
  };

  const fail = (err: unknown) => {
    link.disconnect();
    statusEvents.next({ type: 'failed', error: err instanceof Error ? err : new Error(describe(err)) });
  };

  const reconnect = () => {
    statusEvents.next({ type: 'reconnect' });
    link.connect(state.cookie);
  };

  // ── tabs (tabs.ts): this collection leads, or follows the tab that does ──────────────────────
  const host: TabHost<Body> = {
    applyEvent: (item) => {
      try {
        const step = state.apply(item.event, item.dropped ?? []);
        if (step) emit(step);
      } catch (err) {
        // The leader parsed it first and would have stopped: cannot happen; say so if it does.
        fail(err);
      }
      state.mirrorReplaying(item.replaying);
    },
    applySnapshot: (leader) => announce(state.replace(leader)),
    followStatus: (leaderStatus) => statusEvents.next({ type: 'follow', status: leaderStatus }),
    snapshot: () => state.snapshot(),
    lead: (base) => {
      state.takeOver();
      copy.writeAsLeader(base);
      reconnect();
    },
    stepDown: () => {
      link.disconnect();
      copy.abandon();
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
    const loaded = await copy.load();
    if (loaded.restored) {
      state.restore(loaded.restored);
      view.invalidate();
    }
    if (closed) return;
    // The stored state goes out now, before any request (C1): synchronously, not on the scheduler.
    view.emitNow();
    if (sharing) {
      // Follow until elected: the leader, if there is one, catches this tab up (M3–M5).
      statusEvents.next({ type: 'local-loaded', local: loaded.local, role: 'follower' });
      group = new TabGroup<Body>(lockName(streamUrl, options.buster), sharing, host);
      group.join(loaded.position);
      return;
    }
    copy.writeAlone();
    statusEvents.next({ type: 'local-loaded', local: loaded.local });
    link.connect(state.cookie);
  };

  const close = async () => {
    if (!closed) {
      closed = true;
      view.stop();
      link.disconnect();
      copy.stopWriting();
    }
    await copy.flushed();
    // A leader lets go once its writes are stored: the next one then finds them (M8).
    group?.close();
    statusEvents.complete();
    changes.complete();
    events.complete();
    view.complete();
  };

  // The current status at once, even after close() (a completed BehaviorSubject replays nothing).
  const status$ = defer(() => status.pipe(startWith(status.getValue()), distinctUntilChanged()));
  const entries = externalStore(view.snapshots$, view.getSnapshot);

  options.signal?.addEventListener('abort', () => void close(), { once: true });
  if (options.signal?.aborted) void close();
  else void start();

  return {
    url: streamUrl,
    snapshots$: view.snapshots$,
    changes$: changes.asObservable(),
    events$: events.asObservable(),
    status$,
    status: externalStore(status$, () => status.getValue()),
    subscribe: entries.subscribe,
    getSnapshot: entries.getSnapshot,
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
