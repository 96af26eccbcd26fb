/**
 * The default store: the replica in process memory, gone when the process ends.
 *
 * Entries are kept as records (protocol/record.ts): one flat one-byte string each, about the size
 * of the entry's DN and values, and decoded on read. A decoded entry costs V8 an object, plus an
 * array and a string per attribute (about 1.2 KB for a typical 13-attribute person entry), and the
 * garbage collector traces every one of them; a record is one string it never looks into (364
 * bytes of heap with its key and map slot, 255 of them the record). That is what lets 100k
 * entries and the rest of a pipeline fit in 150 MB. An entry from the wire comes with its record,
 * so keeping it is a copy, not an encode.
 * Reads happen once per incoming message for an entry the replica holds (to classify it and to
 * build `old`), so the decode is not on a hot loop.
 */
import type { Entry } from './store.js';
import { encodeEntryRecord, recordEntry } from './codec.js';
import type { ReplicaBatch, ReplicaStore } from './store.js';

/** Entries and cookie to start a MemoryStore with, e.g. a snapshot taken elsewhere. */
export interface MemoryStoreInit {
  entries?: Iterable<[entryUUID: string, entry: Entry]>;
  cookie?: string;
}

/**
 * A replica store in memory. `commit` applies synchronously, so with this store `replicate()`
 * emits, completes and errors synchronously (marble tests rely on that).
 *
 * @example
 * const store = new MemoryStore();
 * source$.pipe(replicate({ store })).subscribe();
 * // later: store.get(entryUUID), store.size, store.cookie
 */
export class MemoryStore implements ReplicaStore {
  /** entryUUID → record */
  #entries = new Map<string, string>();
  #cookie: string | undefined;

  constructor(init: MemoryStoreInit = {}) {
    for (const [entryUUID, entry] of init.entries ?? [])
      this.#entries.set(entryUUID, encodeEntryRecord(entry));
    this.#cookie = init.cookie;
  }

  get cookie(): string | undefined {
    return this.#cookie;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(entryUUID: string): Entry | undefined {
    const record = this.#entries.get(entryUUID);
    return record === undefined ? undefined : recordEntry(record, entryUUID);
  }

  sameRecord(entryUUID: string, record: string): boolean {
    return this.#entries.get(entryUUID) === record;
  }

  has(entryUUID: string): boolean {
    return this.#entries.has(entryUUID);
  }

  entryUUIDs(): IterableIterator<string> {
    return this.#entries.keys();
  }

  *entries(): IterableIterator<[string, Entry]> {
    for (const [entryUUID, record] of this.#entries) yield [entryUUID, recordEntry(record, entryUUID)];
  }

  commit(batch: ReplicaBatch): void {
    // Encode everything first: a value that cannot be encoded throws before anything changed,
    // so the batch stays all-or-nothing.
    const records: [string, string | null][] = [];
    for (const [entryUUID, entry] of batch.mutations) {
      records.push([
        entryUUID,
        entry === null ? null : (batch.records?.get(entryUUID) ?? encodeEntryRecord(entry)),
      ]);
    }
    for (const [entryUUID, value] of records) {
      if (value === null) this.#entries.delete(entryUUID);
      else this.#entries.set(entryUUID, value);
    }
    this.#cookie = batch.cookie;
  }
}
