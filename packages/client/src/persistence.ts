/**
 * The local copy of one stream in IndexedDB, through idb-keyval: one database per stream URL
 * (`createStore(dbName, storeName)`), holding
 *
 *   meta        the resume cookie, the format version, the buster, the writer, and the layout below
 *   base:<i>    up to 1000 [entryUUID, body] pairs each: the state at the last compaction
 *   seg:<n>     up to 1000 puts and deletes each, one or more per written batch, applied in order
 *
 * Why records of 1000 entries rather than one record per entry: IndexedDB's cost is per record
 * (in Chromium about 50 µs to write and 20 µs to read one, whatever its size), so 100k entries
 * stored one per record take seconds; in records of 1000 they take tens of milliseconds. A batch
 * appends segments (cheap, whatever the collection's size); once the segments hold as much as
 * the state itself, or number more than 256, the next batch writes the whole state as new base
 * records instead (compaction), in the same kind of single transaction.
 *
 * Like idb-keyval's own functions, each function here takes the store as its trailing parameter,
 * defaulting lazily to the stream's own: nothing opens a database until the first call, and tests
 * pass a store over fake-indexeddb.
 *
 * Rules (SPEC.md):
 * - P1: a batch's entries and the cookie that covers them are written in ONE readwrite
 *   transaction (what idb-keyval's `setMany` does, plus deletes), so the stored cookie is never
 *   ahead of the stored entries (docs/design.md invariant 2). A failed transaction writes nothing.
 * - P3: one tab writes. Each write first reads the meta record in its own transaction: if another
 *   writer wrote since (another tab of the same stream), this one writes nothing and stops, so the
 *   entries of one tab can never sit under the cookie of another.
 * - P4: stored data that is unreadable, inconsistent, of another format version, or of another
 *   buster is discarded (the store is cleared) and the collection replays in full.
 *
 * The fast path for loading is idb-keyval's `entries()`: getAllKeys + getAll on one transaction.
 */
import { clear, createStore, entries, promisifyRequest, type UseStore } from 'idb-keyval';

/**
 * Where a stream's local copy lives: an idb-keyval store, what `createStreamStore` (or idb-keyval's
 * own `createStore`) returns. Typed without the DOM lib, so that a Node project compiles without
 * it; in a browser the callback's `store` is the transaction's IDBObjectStore.
 */
export type LocalStore = <T>(
  txMode: 'readonly' | 'readwrite',
  callback: (store: unknown) => T | PromiseLike<T>,
) => Promise<T>;

/** The same store as idb-keyval's functions type it (they need the DOM lib, which we have here). */
const idb = (store: LocalStore): UseStore => store as UseStore;

/** Whether this runtime has IndexedDB (browsers and workers do; Node does not). */
export function hasIndexedDB(): boolean {
  return typeof (globalThis as { indexedDB?: unknown }).indexedDB !== 'undefined';
}
import { FORMAT_VERSION } from './constants.js';
import type { DiscardReason } from './state.js';

/** The key of the meta record. */
export const META_KEY = 'meta';
/** Entries per base or segment record. */
export const RECORD_SIZE = 1000;
/** Segment records before the next write compacts. */
export const MAX_SEGMENTS = 256;

const baseKey = (i: number) => `base:${i}`;
const segmentKey = (n: number) => `seg:${n}`;

/** What the collection says about its state: written with every batch. */
export interface StateMeta {
  /** The stream URL, for humans reading the database in devtools. */
  url: string;
  /** The resume cookie (SSE `id:`) that covers the stored entries; undefined: none yet. */
  cookie: string | undefined;
  /** A full replay was under way: resuming must replay again, so the cookie is not used. */
  replaying: boolean;
  buster: string | undefined;
  /** The collection instance that wrote (P3); where tabs share, the leader's epoch (tabs.ts). */
  writer: string;
  /**
   * Where tabs share: the number of the writer's last relayed event that the stored state covers,
   * so that a tab which reads this copy knows where the relay continues (SPEC.md M4).
   */
  seq?: number;
}

/** The meta record: the state's meta plus the layout of the records. */
export interface StoredMeta extends StateMeta {
  format: number;
  savedAt: number;
  /** base:0 … base:(baseRecords - 1). */
  baseRecords: number;
  /** seg:firstSegment … seg:(nextSegment - 1). */
  firstSegment: number;
  nextSegment: number;
  /** Puts and deletes held in segments (what compaction would reclaim). */
  segmentItems: number;
}

/** Entries to put, entries to delete, and the meta that covers them: one transaction. */
export interface Batch<Body> {
  puts: Map<string, Body>;
  deletes: Set<string>;
  meta: StateMeta;
}

interface Segment<Body> {
  puts: [string, Body][];
  deletes: string[];
}

export type LoadResult<Body> =
  | { kind: 'restored'; entries: Map<string, Body>; meta: StoredMeta }
  | { kind: 'empty' }
  | { kind: 'discarded'; reason: DiscardReason; detail: string };

export type WriteResult = { kind: 'written'; meta: StoredMeta } | { kind: 'yielded' };

/** The database name for a stream URL. */
export function databaseName(url: string): string {
  return `syncrepl-rx ${url}`;
}

/** The idb-keyval store of one stream: database `syncrepl-rx <url>`, object store `entries`. */
export function createStreamStore(url: string, dbName: string = databaseName(url)): LocalStore {
  return createStore(dbName, 'entries');
}

/** Whether a segment count and size call for a compaction, for a state of `size` entries. */
export function needsCompaction(meta: StoredMeta | undefined, size: number): boolean {
  if (!meta) return false;
  return meta.nextSegment - meta.firstSegment >= MAX_SEGMENTS || meta.segmentItems >= size + RECORD_SIZE;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function isStoredMeta(value: unknown): value is StoredMeta {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.format === 'number' &&
    typeof m.url === 'string' &&
    (m.cookie === undefined || typeof m.cookie === 'string') &&
    typeof m.replaying === 'boolean' &&
    (m.buster === undefined || typeof m.buster === 'string') &&
    typeof m.writer === 'string' &&
    (m.seq === undefined || isCount(m.seq)) &&
    isCount(m.baseRecords) &&
    isCount(m.firstSegment) &&
    isCount(m.nextSegment) &&
    m.nextSegment >= m.firstSegment &&
    isCount(m.segmentItems)
  );
}

const isPair = (p: unknown): p is [string, unknown] =>
  Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && p[1] !== undefined && p[1] !== null;

/**
 * Reads the stored copy, or discards it (clearing the store) when it cannot be trusted (P4).
 * Rejects only when IndexedDB itself fails.
 *
 * @param url The stream URL (names the default store).
 * @param options `buster`: stored data written under another buster is discarded.
 * @param customStore The stream's store.
 */
export async function loadLocal<Body>(
  url: string,
  options: { buster?: string | undefined } = {},
  customStore: LocalStore = createStreamStore(url),
): Promise<LoadResult<Body>> {
  const discard = async (reason: DiscardReason, detail: string): Promise<LoadResult<Body>> => {
    await clear(idb(customStore));
    return { kind: 'discarded', reason, detail };
  };
  let rows: [unknown, unknown][];
  try {
    rows = await entries<string, unknown>(idb(customStore));
  } catch (err) {
    // A value that cannot be deserialized fails the whole read: discard, if we can.
    return discard('corrupt', `unreadable (${err instanceof Error ? err.message : String(err)})`);
  }
  if (rows.length === 0) return { kind: 'empty' };
  const records = new Map(rows);
  const meta = records.get(META_KEY);
  if (meta === undefined) return discard('corrupt', `${rows.length} records without a meta record`);
  if (!isStoredMeta(meta)) return discard('corrupt', 'a meta record of the wrong shape');
  if (meta.format !== FORMAT_VERSION) {
    return discard('old-format', `format ${meta.format}, this client writes format ${FORMAT_VERSION}`);
  }
  if (meta.buster !== options.buster) {
    return discard(
      'buster',
      `buster ${JSON.stringify(meta.buster)} is now ${JSON.stringify(options.buster)}`,
    );
  }
  const expected = 1 + meta.baseRecords + (meta.nextSegment - meta.firstSegment);
  if (rows.length !== expected)
    return discard('corrupt', `${rows.length} records where the meta names ${expected}`);
  const state = new Map<string, Body>();
  for (let i = 0; i < meta.baseRecords; i++) {
    const chunk = records.get(baseKey(i));
    if (!Array.isArray(chunk)) return discard('corrupt', `${baseKey(i)} is missing or not a list`);
    for (const pair of chunk) {
      if (!isPair(pair)) return discard('corrupt', `${baseKey(i)} holds something that is not an entry`);
      state.set(pair[0], pair[1] as Body);
    }
  }
  for (let n = meta.firstSegment; n < meta.nextSegment; n++) {
    const segment = records.get(segmentKey(n)) as Partial<Segment<Body>> | undefined;
    if (!segment || !Array.isArray(segment.puts) || !Array.isArray(segment.deletes)) {
      return discard('corrupt', `${segmentKey(n)} is missing or of the wrong shape`);
    }
    for (const pair of segment.puts) {
      if (!isPair(pair)) return discard('corrupt', `${segmentKey(n)} holds something that is not an entry`);
      state.set(pair[0], pair[1] as Body);
    }
    for (const entryUUID of segment.deletes) state.delete(entryUUID);
  }
  return { kind: 'restored', entries: state, meta };
}

/**
 * Writes one batch in one readwrite transaction (P1), if the last writer is still `expectedWriter`
 * (P3), and (when given) the stored `seq` is still `expectedSeq`: as segments appended to what is
 * stored, or, with `compactTo` (the whole state that the batch's meta covers), as new base records
 * replacing everything.
 *
 * `replaceWith` is for the tab that has just been elected to write (SPEC.md M8): the whole state
 * the batch's meta covers, written as new base records instead of yielding when what is stored is
 * not what this tab's state was built on (its predecessor's last writes did not all land).
 *
 * @return `written` with the new meta, or `yielded` when another writer got there first (then
 * nothing is written).
 */
export function writeBatch<Body>(
  batch: Batch<Body>,
  options: {
    expectedWriter: string | undefined;
    expectedSeq?: number | undefined;
    compactTo?: readonly (readonly [string, Body])[];
    replaceWith?: readonly (readonly [string, Body])[];
  },
  customStore: LocalStore,
): Promise<WriteResult> {
  return idb(customStore)(
    'readwrite',
    (store) =>
      // Built by hand rather than by chaining promises: the transaction must still be active when
      // the puts are issued, which only holds inside the request's success callback.
      new Promise<WriteResult>((resolve, reject) => {
        const read = store.get(META_KEY);
        read.onsuccess = () => {
          const current: unknown = read.result;
          const stored = isStoredMeta(current) ? current : undefined;
          const expected =
            stored?.writer === options.expectedWriter &&
            (!('expectedSeq' in options) || stored?.seq === options.expectedSeq);
          if (!expected && !options.replaceWith) return resolve({ kind: 'yielded' });
          const compactTo = expected ? options.compactTo : options.replaceWith;
          const meta: StoredMeta = {
            ...batch.meta,
            format: FORMAT_VERSION,
            savedAt: Date.now(),
            baseRecords: stored?.baseRecords ?? 0,
            firstSegment: stored?.firstSegment ?? 0,
            nextSegment: stored?.nextSegment ?? 0,
            segmentItems: stored?.segmentItems ?? 0,
          };
          try {
            if (compactTo) {
              store.clear();
              const all = compactTo;
              meta.baseRecords = Math.ceil(all.length / RECORD_SIZE);
              for (let i = 0; i < meta.baseRecords; i++) {
                store.put(all.slice(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), baseKey(i));
              }
              meta.firstSegment = meta.nextSegment = meta.segmentItems = 0;
            } else {
              const puts = [...batch.puts];
              const deletes = [...batch.deletes];
              for (let p = 0, d = 0; p < puts.length || d < deletes.length;) {
                const segment: Segment<Body> = { puts: puts.slice(p, p + RECORD_SIZE), deletes: [] };
                p += segment.puts.length;
                const room = RECORD_SIZE - segment.puts.length;
                segment.deletes = deletes.slice(d, d + room);
                d += segment.deletes.length;
                store.put(segment, segmentKey(meta.nextSegment++));
              }
              meta.segmentItems += puts.length + deletes.length;
            }
            store.put(meta, META_KEY);
          } catch (err) {
            // e.g. DataCloneError: a body IndexedDB cannot store; abort so nothing is half-written
            store.transaction.abort();
            return reject(err instanceof Error ? err : new Error(String(err)));
          }
          resolve(promisifyRequest(store.transaction).then(() => ({ kind: 'written', meta }) as const));
        };
        read.onerror = () => reject(read.error ?? new Error('IndexedDB read failed'));
      }),
  );
}

/** Removes everything stored for the stream. */
export function clearLocal(url: string, customStore: LocalStore = createStreamStore(url)): Promise<void> {
  return clear(idb(customStore));
}
