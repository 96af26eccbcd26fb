/**
 * One upstream per source (docs/design.md "Scale"): a single syncrepl search, replicated into a store,
 * whose changes go into the change log that every subscriber of every resource on this source
 * reads. Never one LDAP search per HTTP client.
 *
 *   syncrepl(reconnect) ─► replicate(store) ─► ChangeLog.append ─► listeners (subscribers)
 *
 * While LDAP is unreachable, syncrepl's reconnect keeps trying; streams stay open meanwhile and
 * get the changes after recovery. A fatal error (a refused bind, say) is retried slowly, so a
 * fixed directory brings the source back without a restart.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tap, type Subscription } from 'rxjs';
import {
  LmdbStore,
  getAttribute,
  MemoryStore,
  replicateFrom,
  syncrepl,
  type Change,
  type Entry,
  type Logger,
  type ReplicaStore,
  type SyncMessage,
  type SyncreplOptions,
  type SyncStatus,
} from '@syncrepl-rx/core';
import { checkLmdbFile, viewIdentity } from '@syncrepl-rx/core/internal';
import { ChangeLog, type LogRecord } from './change-log.js';
import { advancedCsn, formatPosition, positionOfCookie, sidOfCsn, type Position } from './position.js';

/** An LDAP source: the syncrepl options (mode is always refreshAndPersist), and where to keep it. */
export interface SourceDefinition extends Omit<
  SyncreplOptions,
  'mode' | 'cookie' | 'cookieStore' | 'stop' | 'onStatus' | 'logger' | 'reconnect'
> {
  /** Persist the replica and the change log here (LMDB): restarts resume without a full refresh. */
  storeDir?: string;
  /** Changes kept for resuming streams. Default 10,000. */
  logCapacity?: number;
  /** Backoff for lost connections; default `true` (BACKOFF_DEFAULTS). */
  reconnect?: SyncreplOptions['reconnect'];
}

export type UpstreamState =
  'starting' | 'connecting' | 'refreshing' | 'live' | 'backoff' | 'failed' | 'stopped';

export interface UpstreamEvents {
  /** A change was appended to the log. */
  change(record: LogRecord): void;
  state(state: UpstreamState): void;
  /** The replica's directory position moved on (with or without a change). */
  position(position: Position): void;
}

/** The operational attribute that holds an entry's last change CSN; requested with every source. */
const ENTRY_CSN = 'entryCSN';

const FATAL_RETRY_MS = 15_000;

export class Upstream {
  state: UpstreamState = 'starting';
  /** True once the first refresh completed: before that, requests get 503. */
  ready = false;
  /** When the replica last received a cookie (ms since the epoch). */
  lastCookieAt: number | undefined;
  /** The LDAP server followed or being connected to (one of the source's URLs). */
  server: string | undefined;
  /** Connections opened after the first one (a lost server, the next URL, a fatal restart). */
  reconnects = 0;
  private connections = 0;
  store!: ReplicaStore;
  log!: ChangeLog;
  /**
   * The directory position the replica covers (a floor, see position.ts): moved by persist
   * cookies and by the cookie that ends a refresh, never by a refresh's entries (they come
   * before their cookie, in no CSN order).
   */
  position: Position | undefined;
  /** The position after the entry message being replicated, when it carried a persist cookie. */
  private messagePosition: Position | undefined;
  /** The CSN the entry message being replicated moved its position by, when known. */
  private messageCsn: string | undefined;
  /** Between a refresh's end and the next connect: cookies are positions of their own. */
  private persisting = false;
  private pendingPosition: { position: Position; raise: boolean; refreshEnd: boolean } | undefined;
  private subscription: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private recording = false;
  private readonly changeListeners = new Set<(r: LogRecord) => void>();
  private readonly stateListeners = new Set<(s: UpstreamState) => void>();
  private readonly positionListeners = new Set<(p: Position) => void>();
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly def: SourceDefinition,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const { def } = this;
    const identity = viewIdentity(def);
    const replicaLogger = {
      info: (m: string) => this.logger.info?.(m, { source: this.name }),
      warn: (m: string) => this.logger.warn?.(m, { source: this.name }),
    };
    this.store = def.storeDir
      ? await LmdbStore.open(join(def.storeDir, 'replica'), {
          identity,
          logger: replicaLogger,
          // The log's records of a batch's changes are on disk before the batch's cookie: after a
          // kill -9 the log is never behind the replica (resumes by position rely on it).
          beforeWrite: () => this.log?.flushed(),
        })
      : new MemoryStore();
    const resuming = this.store.cookie !== undefined;
    this.position = positionOfCookie(this.store.cookie);
    const logOptions = {
      capacity: def.logCapacity ?? 10_000,
      dir: def.storeDir ? join(def.storeDir, 'log') : undefined,
      // A replica that starts over starts a new history: old resume cookies get a reset.
      fresh: !resuming,
      // A new history (also after a crash) starts where the stored replica is.
      ...(this.position ? { base: formatPosition(this.position) } : {}),
    };
    try {
      // lmdb's native code can crash on a damaged file: check its header before opening it.
      const damage = logOptions.dir ? checkLmdbFile(join(logOptions.dir, 'data.mdb')) : undefined;
      if (damage) throw new Error(damage);
      this.log = await ChangeLog.open(logOptions);
    } catch (err) {
      // A damaged change log costs resumes (they get a reset), never the source.
      const aside = `${logOptions.dir}.damaged-${Date.now()}`;
      this.logger.warn?.(
        `source ${this.name}: the change log could not be opened (${err instanceof Error ? err.message : String(err)}); ` +
          `moved it to ${aside} and started a new one: streams from before get a reset`,
        { source: this.name },
      );
      if (logOptions.dir)
        await rename(logOptions.dir, aside).catch(() =>
          rm(logOptions.dir!, { recursive: true, force: true }),
        );
      this.log = await ChangeLog.open({ ...logOptions, fresh: true });
    }
    // The first full load goes to the replica only: no stream can be behind it. A resumed
    // replica's catch-up is logged, so streams from before a restart resume through it.
    this.recording = resuming;
    this.connect();
  }

  private connect(): void {
    const { storeDir: _dir, logCapacity: _cap, reconnect, ...options } = this.def;
    this.setState('connecting');
    this.subscription = replicateFrom(this.store, (cookie) =>
      syncrepl({
        ...options,
        // Every change's CSN (entryCSN) places it in the directory for resumes on any instance.
        attributes: [...(options.attributes?.length ? options.attributes : ['*']), ENTRY_CSN],
        mode: 'refreshAndPersist',
        cookie,
        // The tap below sits between syncrepl() and replicate(): entries keep their wire records
        // through it, so the replica stores them without encoding them again.
        entryRecords: true,
        reconnect: reconnect ?? true,
        logger: this.logger,
        onStatus: (s) => this.onStatus(s),
      }).pipe(tap((m) => this.onMessage(m))),
    ).subscribe({
      next: (change) => this.onChange(change),
      error: (err: unknown) => {
        this.setState('failed');
        this.logger.error?.(`source ${this.name}: ${err instanceof Error ? err.message : String(err)}`, {
          source: this.name,
        });
        if (this.stopped) return;
        this.retryTimer = setTimeout(() => this.connect(), FATAL_RETRY_MS);
        this.retryTimer.unref();
      },
    });
  }

  /**
   * Learns, by timing, the position of the message replicate() is about to apply: its changes
   * are emitted synchronously while it applies it (see replica/replicate.ts).
   */
  private onMessage(m: SyncMessage): void {
    this.flushPosition();
    this.messagePosition = undefined;
    this.messageCsn = undefined;
    const cookie = 'cookie' in m ? m.cookie : undefined;
    if (cookie === undefined) return;
    this.lastCookieAt = Date.now();
    const next = positionOfCookie(cookie);
    if (!next) return;
    const refreshEnd =
      m.type === 'done' || ((m.type === 'refreshPresent' || m.type === 'refreshDelete') && m.refreshDone);
    // Refresh-stage cookies (a present phase's end, a syncIdSet) may come before entries they
    // cover: only the refresh's end, and persist-stage cookies, are positions.
    if (!this.persisting && !refreshEnd) return;
    if (m.type === 'add' || m.type === 'modify' || m.type === 'delete') {
      this.messageCsn = advancedCsn(this.position, next);
      this.messagePosition = next;
    }
    this.position = next;
    // Announced once replicate() has applied the message (a refresh's end sweeps deletes first).
    this.pendingPosition = {
      position: next,
      raise: m.type !== 'add' && m.type !== 'modify' && m.type !== 'delete',
      refreshEnd,
    };
    queueMicrotask(() => this.flushPosition());
  }

  /** After the message that moved the position was applied: its cookie covers the last change. */
  private flushPosition(): void {
    const pending = this.pendingPosition;
    if (!pending) return;
    this.pendingPosition = undefined;
    const floor = formatPosition(pending.position);
    if (pending.raise) this.log?.raiseFloor(floor);
    if (pending.refreshEnd) this.log?.coverUnknown(floor);
    for (const l of this.positionListeners) this.notify(l, pending.position);
  }

  private onStatus(s: SyncStatus): void {
    if ('url' in s) this.server = s.url;
    if (s.state === 'connecting' && this.connections++ > 0) this.reconnects++;
    if (s.state === 'connecting' || s.state === 'refreshing') this.persisting = false;
    if (s.state === 'persisting') this.persisting = true;
    if (s.state === 'connecting') this.setState('connecting');
    else if (s.state === 'refreshing') this.setState('refreshing');
    else if (s.state === 'persisting') this.setState('live');
    else if (s.state === 'backoff') this.setState('backoff');
  }

  private onChange(change: Change): void {
    switch (change.type) {
      case 'ready':
        // The refresh's end is applied (its sweep came before `ready`): its cookie is a position.
        this.flushPosition();
        this.recording = true;
        if (!this.ready) {
          this.ready = true;
          this.logger.info?.(`source ${this.name}: ready with ${this.store.size} entries`, {
            source: this.name,
          });
        }
        this.setState('live');
        return;
      case 'reset':
        this.logger.warn?.(`source ${this.name}: the directory asked for a full reload`, {
          source: this.name,
        });
        return;
      default: {
        if (!this.recording) return;
        const after =
          change.type === 'add' ? change.entry : change.type === 'delete' ? undefined : change.new;
        const csn = (after && entryCsn(after)) ?? this.messageCsn;
        const floor = this.messagePosition ?? this.position;
        const record = this.log.append({
          entryUUID: change.entryUUID,
          ...(change.type === 'add' ? {} : { old: change.old }),
          ...(after ? { new: after } : {}),
          ...(csn === undefined ? {} : { csn }),
          ...(floor === undefined ? {} : { floor: formatPosition(floor) }),
          // A persist-stage change without a CSN of its own (a delete whose cookie moved more than
          // one serverID): the cookie it came with covers it.
          ...(csn === undefined && this.messagePosition
            ? { upper: formatPosition(this.messagePosition) }
            : {}),
        });
        for (const l of this.changeListeners) this.notify(l, record);
      }
    }
  }

  private setState(state: UpstreamState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.stateListeners) this.notify(l, state);
  }

  /** Listeners run inside the RxJS pipeline: a throw there would end the process, so it is logged. */
  private notify<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (err) {
      this.logger.error?.(
        `source ${this.name}: a listener failed: ${err instanceof Error ? err.message : String(err)}`,
        {
          source: this.name,
        },
      );
    }
  }

  on<E extends keyof UpstreamEvents>(event: E, listener: UpstreamEvents[E]): () => void {
    const set = (
      event === 'change'
        ? this.changeListeners
        : event === 'state'
          ? this.stateListeners
          : this.positionListeners
    ) as Set<UpstreamEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.subscription?.unsubscribe();
    this.setState('stopped');
    await this.log?.close();
    if (this.store instanceof LmdbStore) await this.store.close();
  }
}

/** The CSN of an entry's last change, as the directory wrote it (lower case), when it has one. */
function entryCsn(entry: Entry): string | undefined {
  const value = getAttribute(entry.attributes, ENTRY_CSN)?.[0];
  if (typeof value !== 'string') return undefined;
  const csn = value.toLowerCase();
  return sidOfCsn(csn) === undefined ? undefined : csn;
}
