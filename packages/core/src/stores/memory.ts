/**
 * The default store: the replica in process memory, gone when the process ends.
 *
 * Entries are kept encoded, one compact string each (EntryCodec in stores/codec.ts), and decoded
 * on read. A decoded entry costs V8 an object, plus an array and a string header per attribute
 * (about 1.2 KB for a typical 10-attribute person entry); the encoded string costs about the
 * size of its values (about 0.5 KB with its key and map slot), which is what lets 100k entries
 * and the rest of a pipeline fit in 150 MB. Reads happen once per incoming message (to classify
 * it and to build `old`), so the decode is not on a hot loop.
 */
import type { Entry } from '../replica/changes.js';
import { EntryCodec } from './codec.js';
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
  #codec = new EntryCodec();
  #entries = new Map<string, string>();
  #cookie: string | undefined;

  constructor(init: MemoryStoreInit = {}) {
    for (const [entryUUID, entry] of init.entries ?? [])
      this.#entries.set(entryUUID, this.#codec.encode(entry));
    this.#cookie = init.cookie;
  }

  get cookie(): string | undefined {
    return this.#cookie;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(entryUUID: string): Entry | undefined {
    const encoded = this.#entries.get(entryUUID);
    return encoded === undefined ? undefined : this.#codec.decode(encoded, entryUUID);
  }

  has(entryUUID: string): boolean {
    return this.#entries.has(entryUUID);
  }

  entryUUIDs(): IterableIterator<string> {
    return this.#entries.keys();
  }

  *entries(): IterableIterator<[string, Entry]> {
    for (const [entryUUID, encoded] of this.#entries)
      yield [entryUUID, this.#codec.decode(encoded, entryUUID)];
  }

  commit(batch: ReplicaBatch): void {
    // Encode everything first: a value that cannot be encoded throws before anything changed,
    // so the batch stays all-or-nothing.
    const encoded: [string, string | null][] = [];
    for (const [entryUUID, entry] of batch.mutations)
      encoded.push([entryUUID, entry === null ? null : this.#codec.encode(entry)]);
    for (const [entryUUID, value] of encoded) {
      if (value === null) this.#entries.delete(entryUUID);
      else this.#entries.set(entryUUID, value);
    }
    this.#cookie = batch.cookie;
  }
}
