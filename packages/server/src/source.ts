/**
 * One upstream per source (DESIGN.md "Scale"): a single syncrepl search, replicated into a store,
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
  checkLmdbFile,
  MemoryStore,
  replicateFrom,
  syncrepl,
  type Change,
  type ReplicaStore,
  type SyncreplOptions,
  type SyncStatus,
} from '@syncrepl-rx/core';
import { ChangeLog, type LogRecord } from './change-log.js';
import type { ServerLogger } from './options.js';

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
}

const FATAL_RETRY_MS = 15_000;

export class Upstream {
  state: UpstreamState = 'starting';
  /** True once the first refresh completed: before that, requests get 503. */
  ready = false;
  /** When the replica last received a cookie (ms since the epoch). */
  lastCookieAt: number | undefined;
  store!: ReplicaStore;
  log!: ChangeLog;
  /** The cookie of the entry message being replicated, if it had its own. */
  private messageCookie: string | undefined;
  private subscription: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private recording = false;
  private readonly changeListeners = new Set<(r: LogRecord) => void>();
  private readonly stateListeners = new Set<(s: UpstreamState) => void>();
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly def: SourceDefinition,
    private readonly logger: ServerLogger,
  ) {}

  async start(): Promise<void> {
    const { def } = this;
    const identity = {
      url: def.url,
      bindDN: def.bindDN,
      base: def.base,
      scope: def.scope,
      filter: def.filter,
      attributes: def.attributes,
    };
    const replicaLogger = {
      info: (m: string) => this.logger.info?.(m, { source: this.name }),
      warn: (m: string) => this.logger.warn?.(m, { source: this.name }),
    };
    this.store = def.storeDir
      ? await LmdbStore.open(join(def.storeDir, 'replica'), { identity, logger: replicaLogger })
      : new MemoryStore();
    const resuming = this.store.cookie !== undefined;
    const logOptions = {
      capacity: def.logCapacity ?? 10_000,
      dir: def.storeDir ? join(def.storeDir, 'log') : undefined,
      // A replica that starts over starts a new history: old resume cookies get a reset.
      fresh: !resuming,
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
        mode: 'refreshAndPersist',
        cookie,
        reconnect: reconnect ?? true,
        logger: this.logger,
        onStatus: (s) => this.onStatus(s),
      }).pipe(
        tap((m) => {
          if ('cookie' in m && m.cookie !== undefined) this.lastCookieAt = Date.now();
          // A change is tagged with an LDAP position only when its own message carried one (the
          // persist stage): refresh-stage entries carry none, and the position before them does
          // not cover them, so another instance could not resume there exactly.
          const entry =
            m.type === 'add' || m.type === 'modify' || m.type === 'delete' || m.type === 'present';
          this.messageCookie = entry ? m.cookie : undefined;
        }),
      ),
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

  private onStatus(s: SyncStatus): void {
    if (s.state === 'connecting') this.setState('connecting');
    else if (s.state === 'refreshing') this.setState('refreshing');
    else if (s.state === 'persisting') this.setState('live');
    else if (s.state === 'backoff') this.setState('backoff');
  }

  private onChange(change: Change): void {
    switch (change.type) {
      case 'ready':
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
        const record = this.log.append({
          entryUUID: change.entryUUID,
          ...(change.type === 'add' ? {} : { old: change.old }),
          ...(change.type === 'add'
            ? { new: change.entry }
            : change.type === 'delete'
              ? {}
              : { new: change.new }),
          ...(this.messageCookie === undefined ? {} : { ldap: this.messageCookie }),
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
    const set = (event === 'change' ? this.changeListeners : this.stateListeners) as Set<UpstreamEvents[E]>;
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
