/**
 * The local-copy part of a collection: where its stored copy is, reading it on start (and where a
 * tab that reads it stands, M4), and writing behind the state in memory while this collection is
 * the one writer (P1–P6, M8). It says what happens to the copy as a `LocalState`, which the
 * status carries as `local`.
 *
 *   load() ──► { state to restore, position } ──► (the collection shows it, C1)
 *   writeAlone() / writeAsLeader(base) ──► localWriter (local-writer.ts: batches, one transaction each)
 *        ▲ change(c) … saveMeta()   (the meta queued after an event's changes carries its cookie: P1)
 *   stopWriting() (close: flush) / abandon() (a frozen leader: M9)
 *
 * It knows nothing of the stream or the entries' rules: what the meta says (cookie, replaying,
 * position) and the entries come from the caller, read when a batch is taken.
 */
import { DEFAULT_BATCH_DELAY_MS } from './constants.js';
import { StorageError } from './errors.js';
import { localWriter, type LocalWriter } from './local-writer.js';
import {
  createStreamStore,
  hasIndexedDB,
  loadLocal,
  type LocalStore,
  type StateMeta,
  type StoredMeta,
} from './persistence.js';
import type { CollectionChange } from './rebuild.js';
import { randomId } from './random-id.js';
import type { LocalState } from './state.js';
import type { RestoredState } from './stream-state.js';
import { EMPTY_POSITION, type Position } from './tab-messages.js';

export interface LocalCopyOptions<Body> {
  /** The absolute stream URL (it names the default store). */
  url: string;
  /** As `CollectionOptions.store`: a store, `null` for none, undefined for the stream's own. */
  store: LocalStore | null | undefined;
  buster: string | undefined;
  /** Default `DEFAULT_BATCH_DELAY_MS`. */
  batchDelayMs: number | undefined;
  /**
   * What the stored meta says about the state in memory now: its cookie, whether a full replay
   * is under way, and where tabs share, the position it is at (undefined: this collection works
   * alone, and writes as itself).
   */
  describe: () => { cookie: string | undefined; replaying: boolean; position: Position | undefined };
  /** The entries in memory now, for compactions and for a takeover's first write (M8). */
  entries: () => ReadonlyMap<string, Body>;
  /** `local` changed after loading: the copy was discarded, or writing stopped. */
  onChanged: (local: LocalState) => void;
}

/** What `load()` found. */
export interface Loaded<Body> {
  /** What the stored copy says to start from, if it was restored. */
  restored: RestoredState<Body> | undefined;
  /**
   * Where the stored copy stands for a tab that joins (M4); undefined when it cannot say (written
   * by a version that did not number events). Nothing stored: the empty position.
   */
  position: Position | undefined;
  local: LocalState;
}

export interface LocalCopy<Body> {
  /** What happened to the stored copy so far. */
  readonly local: LocalState;
  /** Reads the stored copy (or finds none); never rejects: a failing IndexedDB turns persistence off. */
  load(): Promise<Loaded<Body>>;
  /** Starts writing as a collection that works alone: it appends to what it loaded (P3). */
  writeAlone(): void;
  /**
   * Starts writing as the elected tab, whose state was built on `base` (undefined: the stored
   * copy it loaded); the first write replaces the stored copy if it is not at that base (M8).
   */
  writeAsLeader(base: Position | undefined): void;
  /** Queues a change for the next batch (nothing when not writing). */
  change(change: CollectionChange<Body>): void;
  /** Queues the meta as of now: after an event's changes, so its cookie covers them (P1). */
  saveMeta(): void;
  /** The cookie was thrown away (the server rejected it): the copy is `discarded`. */
  discard(reason: 'rejected-cookie', detail: string): void;
  /** Writes what is pending and stops (close); `flushed()` resolves after the last write. */
  stopWriting(): void;
  /** Stops without writing what is pending (a frozen leader, M9: its successor writes). */
  abandon(): void;
  /** Resolves when what `stopWriting()` flushed is stored. */
  flushed(): Promise<void>;
}

/**
 * The local copy of one collection's stream.
 *
 * @example
 * const copy = localCopy({ url, store: undefined, buster: undefined, batchDelayMs: undefined, describe, entries, onChanged });
 * const { restored, local } = await copy.load(); // restore the state, show it
 * copy.writeAlone(); copy.change(change); copy.saveMeta();
 *
 * @param options Where the copy is, and what the state in memory is.
 * @return The local copy; it reads or writes nothing until `load()`.
 */
export function localCopy<Body>(options: LocalCopyOptions<Body>): LocalCopy<Body> {
  const { url } = options;
  // No IndexedDB (Node, some embedded webviews): the default is memory, and the status says so.
  const noIndexedDB = options.store === undefined && !hasIndexedDB();
  const store = options.store === null || noIndexedDB ? undefined : (options.store ?? createStreamStore(url));
  /** The writer id of a collection that works alone (a shared one writes as its term's epoch). */
  const aloneId = randomId();

  let local: LocalState = {
    kind: 'off',
    detail: noIndexedDB ? 'no IndexedDB here, state is in memory' : 'store: null',
  };
  /** The stored meta the state was loaded from (its writer, seq and layout). */
  let loadedMeta: StoredMeta | undefined;
  let canWrite = false;
  let writer: LocalWriter<Body> | undefined;
  let persisted: Promise<void> = Promise.resolve();

  const setLocal = (next: LocalState) => {
    local = next;
    options.onChanged(local);
  };

  const meta = (): StateMeta => {
    const { cookie, replaying, position } = options.describe();
    return {
      url,
      cookie,
      replaying,
      buster: options.buster,
      ...(position ? { writer: position.epoch, seq: position.seq } : { writer: aloneId }),
    };
  };

  const startWriting = (
    expect: { writer: string | undefined; seq?: number | undefined },
    replace: boolean,
  ) => {
    if (!store || !canWrite) return;
    const w: LocalWriter<Body> = localWriter<Body>({
      store,
      delayMs: options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS,
      meta,
      entries: options.entries,
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

  return {
    get local() {
      return local;
    },
    load: async () => {
      let restored: RestoredState<Body> | undefined;
      let position: Position | undefined = EMPTY_POSITION;
      if (!store) return { restored, position, local };
      try {
        const loaded = await loadLocal<Body>(url, { buster: options.buster }, store);
        if (loaded.kind === 'restored') {
          const m = loaded.meta;
          restored = { entries: loaded.entries, cookie: m.cookie, replaying: m.replaying };
          loadedMeta = m;
          // Written by a version that did not number events: a joining tab cannot say where it is.
          position = m.seq === undefined ? undefined : { epoch: m.writer, seq: m.seq };
          local = { kind: 'restored', entries: loaded.entries.size };
        } else if (loaded.kind === 'empty') local = { kind: 'empty' };
        else local = { kind: 'discarded', reason: loaded.reason, detail: loaded.detail };
        canWrite = true;
      } catch (err) {
        local = { kind: 'off', detail: new StorageError('read', err).message };
      }
      return { restored, position, local };
    },
    writeAlone: () => startWriting({ writer: loadedMeta?.writer }, false),
    writeAsLeader: (base) => {
      // The stored copy this state was built on (M8): the base's meta, or the one loaded.
      const expect = base
        ? { writer: base.epoch || undefined, seq: base.epoch ? base.seq : undefined }
        : { writer: loadedMeta?.writer, seq: loadedMeta?.seq };
      startWriting(expect, true);
    },
    change: (change) => writer?.change(change),
    saveMeta: () => writer?.meta(meta()),
    discard: (reason, detail) => setLocal({ kind: 'discarded', reason, detail }),
    stopWriting: () => {
      const w = writer;
      writer = undefined;
      persisted = w ? w.close() : persisted;
    },
    abandon: () => {
      writer?.abandon();
      writer = undefined;
    },
    flushed: () => persisted,
  };
}
