/**
 * A replica store on disk, in one LMDB environment (the `lmdb` package). Above 400 lines as one
 * concern: the LmdbStore object, its reads (the committed B-tree under an overlay of pending
 * batches) and its commit path (one buffer and one transaction per batch).
 *
 * Layout of the environment directory (the databases: ./lmdbLayout.ts; the lock: ./lmdbFiles.ts):
 *
 *   replica.lock             the pid of the process that has the store open (one writer only)
 *   data.mdb, lock.mdb       one LMDB environment, databases "entries" and "meta"
 *
 * Both databases live in the same environment, so one LMDB write transaction covers both: a
 * batch's entries and its cookie become durable together or not at all (docs/design.md invariant 2).
 * test/unit/core/stores/lmdb.test.ts SIGKILLs a writer process while transactions are in flight, and
 * finds every batch up to the stored cookie whole and nothing of a later one.
 *
 * Entries are not cached in memory: a `get` is a memory-mapped B-tree lookup plus the decode of
 * the record (a few microseconds). Only the entryUUIDs are (about 70 bytes each), so that the
 * question a refresh asks of every entry, "do I hold it?", and the sweep's walk over all of them
 * never touch the B-tree. An entry from the wire is written as the record it came with, so a
 * write is a copy, not an encode. Each batch is one asynchronous LMDB transaction (an lmdb-js
 * `batch()`, which its writer thread carries out without calling back into this thread); until it
 * commits, the batch's records stay in one byte buffer as an overlay that reads see (read your
 * writes). The buffers are reused, so a refresh that outruns the disk allocates few.
 *
 * Honest limits:
 * - lmdb-js does NOT undo the operations a `batch()` callback queued before it threw: they are
 *   committed. So every value is validated and converted before the batch starts, and the
 *   callback itself only queues puts that cannot throw.
 * - LMDB has no checksums. The header check (./lmdbFiles.ts) catches a file that is not LMDB or that was
 *   cut short (opening those makes the native code crash the process, which no JS can catch);
 *   damage deeper inside the B-tree surfaces as an error on read, and `open` reads every entry
 *   once, so it is handled like undecodable values: the state is discarded.
 * - One process, one open store per directory (`replica.lock`, see ReplicaStoreBusyError). A
 *   lock left by a crashed process is taken over; pid reuse could fool that check.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry } from './store.js';
import { encodeEntryRecord, recordEntry, recordOfStored, storedRecord } from './codec.js';
import { ReplicaIdentityError, canonicalIdentity, defaultReplicaLogger, describeIdentity } from './store.js';
import type { CanonicalIdentity, ReplicaBatch, ReplicaIdentity, ReplicaStore } from './store.js';
import type { Logger } from '../logger.js';
import { acquireLock, checkLmdbFile, moveAside, type Lock } from './lmdbFiles.js';
import {
  discarding,
  inspect,
  load,
  loadLmdb,
  openEnvironment,
  reason,
  reset,
  type Environment,
  type Loaded,
} from './lmdbLayout.js';

export { checkLmdbFile } from './lmdbFiles.js';

export interface LmdbStoreOptions {
  /**
   * What this replica is a view of (bind DN, base, scope, filter, attributes; not the URL); a
   * store built for another identity starts empty, and `replicate()` says `reset` first.
   */
  identity: ReplicaIdentity;
  /**
   * What to do with a store that holds the replica of another identity: `discard` it (the
   * default: it starts empty, and `replicate()` says `reset` first), or `refuse` to open it:
   * `open` rejects with a ReplicaIdentityError and leaves the store as it is.
   */
  otherIdentity?: 'discard' | 'refuse';
  /**
   * Discard whatever the store holds, whichever identity it was built for: the next refresh is
   * a full one (and `replicate()` says `reset` first, when there was something to discard).
   */
  startOver?: boolean;
  /** Where to say that stored state was discarded, and why. Defaults to console warnings. */
  logger?: Logger;
  /**
   * Awaited before each batch is written (reads see the batch at once, as always): for a caller
   * that keeps a log of its own of the changes `replicate()` emits and needs it on disk before
   * the replica's cookie moves past them, so that after a crash the log is never behind the store.
   */
  beforeWrite?: () => PromiseLike<unknown> | undefined;
}

/** A batch queued for writing: its records' bytes back to back, until its transaction committed. */
interface PendingBatch {
  sequence: number;
  bytes: Buffer;
}

/** An entry written by a batch that has not committed yet; dropped once that batch committed. */
interface Pending {
  batch: PendingBatch;
  /** Where the record lies in `batch.bytes`; `start` is -1 for a delete. */
  start: number;
  end: number;
}

/**
 * A persistent replica store. Open it with `LmdbStore.open(dir, { identity })`, pass its
 * `cookie` to `syncrepl()`, and the store to `replicate()`:
 *
 * @example
 * const store = await LmdbStore.open('./replica', { identity: { bindDN, base, filter } });
 * syncrepl({ url, bindDN, password, base, filter, cookie: store.cookie })
 *   .pipe(replicate({ store }))
 *   .subscribe((change) => console.log(change.type));
 * // Logs: add, add, …, ready   (first run)
 * // Logs: modify, ready        (a restart: only what changed while the process was down)
 */
export class LmdbStore implements ReplicaStore {
  readonly path: string;
  #env: Environment;
  #cookie: string | undefined;
  /** Every entryUUID held, pending batches included. */
  #keys: Set<string>;
  #pending = new Map<string, Pending>();
  /** Byte buffers of committed batches, for reuse. */
  #spare: Buffer[] = [];
  #spareBytes = 0;
  #batches = 0;
  #writing: Promise<void> = Promise.resolve();
  #failure: Error | undefined;
  #closed = false;
  #lock: Lock;
  #discarded: string | undefined;
  #beforeWrite: LmdbStoreOptions['beforeWrite'];
  /** Resolves when the barrier of the newest batch did (see `beforeWrite`). */
  #gate: Promise<void> = Promise.resolve();

  private constructor(path: string, env: Environment, loaded: Loaded, lock: Lock) {
    this.path = path;
    this.#env = env;
    this.#cookie = loaded.cookie;
    this.#keys = loaded.keys;
    this.#discarded = loaded.discarded;
    this.#lock = lock;
  }

  /**
   * Opens (or creates) the store in directory `path`. Stored state that was built for another
   * identity (unless `otherIdentity: 'refuse'`), written by another format version, or cannot be
   * decoded is discarded with a warning through `logger`, and the store starts empty: the next
   * refresh is then a full one, and `discarded` says why until it completed. A store recorded with a URL in its identity
   * (before the URL left it) is reused when the rest of the identity matches.
   */
  static async open(path: string, options: LmdbStoreOptions): Promise<LmdbStore> {
    // The native module loads on first use: importing @syncrepl-rx/core stays cheap for the many
    // programs that never open a persistent store, and works without it (an optional peer).
    await loadLmdb();
    const logger = options.logger ?? defaultReplicaLogger;
    const identity = canonicalIdentity(options.identity);
    mkdirSync(path, { recursive: true });
    const lock = acquireLock(path);
    try {
      const store = await LmdbStore.#open(path, identity, logger, lock, options);
      store.#beforeWrite = options.beforeWrite;
      return store;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  static async #open(
    path: string,
    identity: CanonicalIdentity,
    logger: Logger,
    lock: Lock,
    options: Pick<LmdbStoreOptions, 'otherIdentity' | 'startOver'>,
  ): Promise<LmdbStore> {
    /** Why stored state is being discarded, if it is. */
    let discarded: string | undefined;
    const damage = checkLmdbFile(join(path, 'data.mdb'));
    if (damage !== undefined) {
      logger.warn?.(`${discarding(path, damage)}`);
      discarded = damage;
      moveAside(path);
    }

    let env = openEnvironment(path);
    let loaded: Loaded | undefined;
    // One read transaction for all of it: cookie and entries from the same snapshot.
    const snapshot = env.root.useReadTransaction();
    /** A replica of another identity that the caller refused to discard. */
    let refused: ReplicaIdentityError | undefined;
    try {
      const problem = inspect(env, snapshot, identity, path);
      if (problem?.other !== undefined && options.otherIdentity === 'refuse' && !options.startOver) {
        refused = new ReplicaIdentityError(path, problem.other, identity);
      } else if (problem === undefined && options.startOver) {
        const why = 'the caller asked to start over';
        logger.warn?.(discarding(path, why));
        discarded ??= why;
      } else if (problem === undefined) {
        loaded = load(env, snapshot);
      } else {
        (problem.level === 'info' ? logger.info : logger.warn)?.call(logger, problem.message);
        if (problem.level === 'warn') discarded ??= problem.reason;
      }
    } catch (error) {
      logger.warn?.(discarding(path, reason(error)));
      discarded ??= reason(error);
    } finally {
      snapshot.done();
    }
    if (refused !== undefined) {
      await env.root.close();
      throw refused;
    }

    if (loaded === undefined) {
      try {
        reset(env, identity, discarded);
      } catch (error) {
        // The environment itself is damaged beyond clearing: start a new one beside it.
        logger.warn?.(discarding(path, reason(error)));
        discarded ??= reason(error);
        await env.root.close().catch(() => {});
        moveAside(path);
        env = openEnvironment(path);
        reset(env, identity, discarded);
      }
      loaded = { cookie: undefined, keys: new Set(), discarded };
    } else {
      logger.info?.(
        `Replica store at ${path}: ${loaded.keys.size} entries, ${loaded.cookie === undefined ? 'no cookie' : 'with a cookie'}, ` +
          `for ${describeIdentity(identity)}.`,
      );
    }
    return new LmdbStore(path, env, loaded, lock);
  }

  get cookie(): string | undefined {
    return this.#cookie;
  }

  get discarded(): string | undefined {
    return this.#discarded;
  }

  get size(): number {
    return this.#keys.size;
  }

  get(entryUUID: string): Entry | undefined {
    const record = this.#record(entryUUID);
    return record === undefined ? undefined : recordEntry(record, entryUUID);
  }

  sameRecord(entryUUID: string, record: string): boolean {
    return this.#record(entryUUID) === record;
  }

  #record(entryUUID: string): string | undefined {
    if (!this.#keys.has(entryUUID)) return undefined;
    const pending = this.#pending.get(entryUUID);
    if (pending !== undefined) return pendingRecord(pending, entryUUID);
    // A view of LMDB's memory, valid until the next read: read at once.
    const stored = this.#env.entries.getBinaryFast(entryUUID);
    return stored === undefined ? undefined : recordOfStored(stored, entryUUID);
  }

  has(entryUUID: string): boolean {
    return this.#keys.has(entryUUID);
  }

  entryUUIDs(): IterableIterator<string> {
    return this.#keys.values();
  }

  *entries(): IterableIterator<[string, Entry]> {
    for (const { key, value } of this.#env.entries.getRange()) {
      if (!this.#pending.has(key)) yield [key, recordEntry(recordOfStored(value, key), key)];
    }
    for (const [key, pending] of this.#pending) {
      const record = pendingRecord(pending, key);
      if (record !== undefined) yield [key, recordEntry(record, key)];
    }
  }

  /**
   * Writes the batch in one LMDB transaction; resolves once it is committed. Reads see the batch
   * at once. After a failed commit the store refuses further batches: what is on disk is still
   * a consistent earlier state, which the next start resumes from.
   */
  commit(batch: ReplicaBatch): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`Replica store at ${this.path} is closed.`));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    // Encode first: a bad value throws here, before anything is visible or queued.
    const records: [entryUUID: string, record: string | null][] = [];
    let size = 0;
    for (const [entryUUID, entry] of batch.mutations) {
      const record = entry === null ? null : (batch.records?.get(entryUUID) ?? encodeEntryRecord(entry));
      records.push([entryUUID, record]);
      if (record !== null) size += record.length;
    }

    // The records' stored forms go into one buffer: held until the transaction runs (tens of
    // milliseconds during a refresh), 100k strings or buffers would outlive two scavenges, be
    // promoted, and pile up as old-generation garbage: ~40 MB of peak RSS. A stored form is
    // larger than its record (typically 1.7×): the buffer grows when the estimate falls short.
    const pendingBatch: PendingBatch = { sequence: ++this.#batches, bytes: this.#buffer(2 * size + 1024) };
    const writes: [entryUUID: string, pending: Pending][] = [];
    let at = 0;
    for (const [entryUUID, record] of records) {
      const pending: Pending = { batch: pendingBatch, start: -1, end: -1 };
      if (record !== null) {
        const stored = storedRecord(record);
        if (at + stored.length > pendingBatch.bytes.length) {
          const grown = this.#buffer(2 * (at + stored.length));
          pendingBatch.bytes.copy(grown, 0, 0, at);
          this.#release(pendingBatch.bytes);
          pendingBatch.bytes = grown;
        }
        pending.start = at;
        pending.end = at += stored.copy(pendingBatch.bytes, at);
      }
      writes.push([entryUUID, pending]);
    }
    for (const [entryUUID, pending] of writes) {
      if (pending.start < 0) this.#keys.delete(entryUUID);
      else this.#keys.add(entryUUID);
      this.#pending.set(entryUUID, pending);
    }
    const { bytes } = pendingBatch;
    this.#cookie = batch.cookie;
    // A cookie ends the reload that followed a discard (it is only committed once complete).
    const reloaded = this.#discarded !== undefined && batch.cookie !== undefined;
    if (reloaded) this.#discarded = undefined;

    const { root, entries, meta } = this.#env;
    const cookie = batch.cookie;
    // One batch is one LMDB transaction, written by lmdb-js's writer thread from pointers to
    // `bytes` (kept until it committed), without waiting for this thread (which a transaction()
    // callback would: during a refresh this thread is busy decoding, and commits would lag).
    const write = () =>
      root.batch(() => {
        for (const [entryUUID, { start, end }] of writes) {
          if (start < 0) void entries.remove(entryUUID);
          else void entries.put(entryUUID, bytes.subarray(start, end));
        }
        if (cookie === undefined) void meta.remove('cookie');
        else void meta.put('cookie', cookie);
        if (reloaded) void meta.remove('discarded');
      });
    // With a barrier, batches still reach lmdb-js in order: batch n is handed over as soon as
    // its barrier resolved, and barrier n + 1 is asked for only after that. A failing barrier
    // does not stop the replica.
    const barrier = this.#beforeWrite;
    let written: Promise<unknown>;
    if (barrier) {
      const gate = (this.#gate = this.#gate.then(barrier).then(
        () => undefined,
        () => undefined,
      ));
      written = gate.then(write);
    } else written = write();
    const committed = written.then(
      () => {
        // Transactions commit in the order they were queued, so every batch up to this one
        // is now on disk and readable there.
        for (const [entryUUID, pending] of this.#pending) {
          if (pending.batch.sequence <= pendingBatch.sequence) this.#pending.delete(entryUUID);
        }
        this.#release(bytes);
      },
      (error: unknown) => {
        this.#failure = new Error(`Writing the replica to ${this.path} failed: ${reason(error)}.`, {
          cause: error,
        });
        throw this.#failure;
      },
    );
    this.#writing = committed.catch(() => {});
    return committed;
  }

  /**
   * A buffer of at least `size` bytes that no pending batch uses. Buffers are reused: while a
   * refresh outruns the disk, dozens of batches wait for their transaction, and buffers dropped
   * for the GC would stay allocated until its next full collection.
   */
  #buffer(size: number): Buffer {
    const spare = this.#spare.findIndex((buffer) => buffer.length >= size);
    if (spare >= 0) {
      const buffer = this.#spare.splice(spare, 1)[0]!;
      this.#spareBytes -= buffer.length;
      return buffer;
    }
    return Buffer.allocUnsafeSlow(Math.ceil(Math.max(size, 1) / BATCH_BUFFER_UNIT) * BATCH_BUFFER_UNIT);
  }

  #release(buffer: Buffer): void {
    if (this.#spareBytes + buffer.length > MAX_SPARE_BYTES) return;
    this.#spare.push(buffer);
    this.#spareBytes += buffer.length;
  }

  /** Waits for queued batches, then closes the environment and releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#writing;
      await this.#env.root.close();
    } finally {
      this.#lock.release();
    }
  }
}

/** Batch buffers are sized in these steps, so that one can serve the next batch. */
const BATCH_BUFFER_UNIT = 64 * 1024;
/** How many bytes of batch buffers are kept for reuse at most. */
const MAX_SPARE_BYTES = 32 * 1024 * 1024;

/** The record of a pending write, or undefined for a pending delete. */
function pendingRecord({ batch, start, end }: Pending, entryUUID: string): string | undefined {
  return start < 0 ? undefined : recordOfStored(batch.bytes.subarray(start, end), entryUUID);
}
