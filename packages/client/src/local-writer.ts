/**
 * The writing side of the local copy for one collection: changes and metas in, batched
 * transactions out (write-behind.ts, persistence.ts). A collection that leads (or works alone)
 * has one; a tab that follows has none, and gets one when it takes over (SPEC.md P3, M8).
 */
import { Subject, from, tap, type Subscription } from 'rxjs';
import { StorageError } from './errors.js';
import {
  needsCompaction,
  writeBatch,
  type Batch,
  type LocalStore,
  type StateMeta,
  type StoredMeta,
} from './persistence.js';
import type { CollectionChange } from './rebuild.js';
import { writeBehind } from './write-behind.js';

type WriteItem<Body> =
  | { type: 'put'; entryUUID: string; body: Body }
  | { type: 'delete'; entryUUID: string }
  | { type: 'meta'; meta: StateMeta };

export interface LocalWriterOptions<Body> {
  store: LocalStore;
  /** How long a batch stays open after its first change. */
  delayMs: number;
  /** The meta as of now (the state in memory): a new batch starts with it. */
  meta: () => StateMeta;
  /** The state in memory, for compactions (and for `replace`). */
  entries: () => ReadonlyMap<string, Body>;
  /** The stored meta this writer's state was built on, if known (its layout says when to compact). */
  layout: StoredMeta | undefined;
  /**
   * What the stored copy must be for this writer to append to it (P3): the writer (and, where tabs
   * share, the seq) of the meta that the state in memory was built on.
   */
  expect: { writer: string | undefined; seq?: number | undefined };
  /**
   * Elected by the other tabs (M8): when the stored copy is not what is expected, the first batch
   * writes the whole state instead of yielding.
   */
  replace: boolean;
  /** Writing stopped: another writer wrote since (P3), or a write failed (P6). */
  onStopped: (reason: 'other-tab' | 'write-failed', detail: string) => void;
}

export interface LocalWriter<Body> {
  /** Queues a change for the next batch. */
  change(change: CollectionChange<Body>): void;
  /** Queues the meta (its cookie covers the changes queued before it, P1). */
  meta(meta: StateMeta): void;
  /** Writes what is pending and stops; resolves after the last write. */
  close(): Promise<void>;
  /**
   * Stops without writing what is pending: for a leader that steps down (M9), whose successor
   * writes the state from its own copy; a late write of this one could only be older.
   */
  abandon(): void;
}

/**
 * Starts writing. Each batch is one transaction holding its changes and the meta that covers them.
 *
 * @example
 * const writer = localWriter({ store, delayMs: 25, meta, entries, layout: undefined, expect: { writer: undefined }, replace: false, onStopped });
 * writer.change(change); writer.meta(meta());
 * await writer.close(); // one transaction written
 *
 * @param options Where and how to write.
 * @return The writer.
 */
export function localWriter<Body>(options: LocalWriterOptions<Body>): LocalWriter<Body> {
  const items = new Subject<WriteItem<Body>>();
  let stopped = false;
  let layout = options.layout;
  let expectedWriter = options.expect.writer;
  let expectedSeq = options.expect.seq;
  const checkSeq = 'seq' in options.expect;
  let replace = options.replace;
  const stop = (reason: 'other-tab' | 'write-failed', detail: string) => {
    if (stopped) return;
    stopped = true;
    options.onStopped(reason, detail);
  };
  let subscription: Subscription | undefined;
  const done = new Promise<void>((resolve) => {
    subscription = items
      .pipe(
        writeBehind({
          createBatch: (): Batch<Body> => ({ puts: new Map(), deletes: new Set(), meta: options.meta() }),
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
          // meta covers, so a compaction (or a replacement) captures it now (as an array: the Map
          // moves on).
          write: (batch) => {
            const size = options.entries().size;
            const all = needsCompaction(layout, size) || replace ? [...options.entries()] : undefined;
            const compactTo = needsCompaction(layout, size) ? all : undefined;
            const replaceWith = replace ? all : undefined;
            replace = false;
            return from(
              writeBatch(
                batch,
                { expectedWriter, ...(checkSeq ? { expectedSeq } : {}), compactTo, replaceWith },
                options.store,
              ),
            ).pipe(
              tap((result) => {
                if (result.kind === 'written') {
                  expectedWriter = result.meta.writer;
                  expectedSeq = result.meta.seq;
                  layout = result.meta;
                } else stop('other-tab', 'another tab (or window) with this stream wrote since');
              }),
            );
          },
          delayMs: options.delayMs,
        }),
      )
      .subscribe({
        complete: resolve,
        error: (err: unknown) => {
          // The failed transaction wrote nothing: what is stored is still consistent, only older.
          stop('write-failed', new StorageError('write', err).message);
          resolve();
        },
      });
  });
  return {
    change: (change) => {
      if (stopped) return;
      if (change.type === 'upsert')
        items.next({ type: 'put', entryUUID: change.entryUUID, body: change.body });
      else items.next({ type: 'delete', entryUUID: change.entryUUID });
    },
    meta: (meta) => {
      if (!stopped) items.next({ type: 'meta', meta });
    },
    close: () => {
      items.complete();
      return done;
    },
    abandon: () => {
      stopped = true;
      subscription?.unsubscribe();
    },
  };
}
