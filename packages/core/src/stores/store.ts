/**
 * What `replicate({ store })` needs from a place that keeps the replica: entries keyed on
 * entryUUID plus the cookie, committed together (docs/design.md invariant 2).
 *
 * A store is deliberately dumb: it reads synchronously (the replica classifies each message
 * against the entry it holds, so a read per message must be cheap) and applies whole batches
 * atomically. Deciding *when* a batch may carry a newer cookie is the replica's job (see the
 * batching rule in replica/machine.ts); the store only promises that a batch lands whole or
 * not at all, in the order batches were given.
 *
 * Implementations: `MemoryStore` (the default, nothing persisted) and `LmdbStore` (on disk).
 */
import type { Logger } from '../logger.js';
import type { Attributes } from '../sync/messages.js';

/** An entry as the replica holds it: its DN and its attributes (names as the server spelled them). */
export interface Entry {
  dn: string;
  attributes: Attributes;
}

/** One atomic write: entry mutations and the cookie that covers them. */
export interface ReplicaBatch {
  /** entryUUID → the entry's new state, or `null` when the entry is gone. */
  readonly mutations: ReadonlyMap<string, Entry | null>;
  /**
   * entryUUID → the record (stores/codec.ts) of the entry in `mutations`, for the entries that
   * came from the wire with one. A store that keeps records takes it instead of encoding the
   * entry (`encodeEntryRecord` for the others); it always describes the same entry.
   */
  readonly records?: ReadonlyMap<string, string>;
  /**
   * The cookie to store with these mutations; `undefined` removes the stored cookie (the next
   * start is then a full refresh). Never newer than the entries it covers.
   */
  readonly cookie: string | undefined;
}

/**
 * A replica's persistent state. Reads reflect every batch given to `commit`, including batches
 * still being written (read your writes); after a restart, only the batches that completed.
 *
 * Entries returned by `get` and `entries` are fresh objects or objects nobody else mutates:
 * callers must treat them as read-only.
 */
export interface ReplicaStore {
  /** The cookie committed with the entries; `undefined`: none, start with a full refresh. */
  readonly cookie: string | undefined;
  /**
   * Set while the store is reloading after it discarded the replica it held (opened for another
   * view of the directory, damaged or unreadable state, another format): why, for a log line.
   * `replicate()` then begins with a `reset` change (reason `storeDiscarded`), so that a consumer
   * that keeps state derived from earlier changes drops what the reload does not bring back.
   * Cleared by the first batch that carries a cookie (the reload completed), so a reload that
   * was interrupted is announced again. Stores that never discard leave it undefined.
   */
  readonly discarded?: string;
  /** The number of entries. */
  readonly size: number;
  get(entryUUID: string): Entry | undefined;
  /**
   * Optional, for stores that keep records (stores/codec.ts): whether the store holds the entry
   * with exactly the content of `record`. The replica asks before it decodes anything, so an
   * entry the server resends unchanged (every entry of a reload) costs a comparison, not a
   * decode and a diff.
   */
  sameRecord?(entryUUID: string, record: string): boolean;
  has(entryUUID: string): boolean;
  /** Every entryUUID, in no particular order. Safe to iterate while nothing is committed. */
  entryUUIDs(): Iterable<string>;
  /** Every entry, in no particular order. */
  entries(): Iterable<[entryUUID: string, entry: Entry]>;
  /**
   * Applies the batch atomically. Returns nothing when the batch is already durable (memory), or
   * a promise that settles once it is; a rejected promise means the batch was not written.
   */
  commit(batch: ReplicaBatch): void | Promise<void>;
}

/**
 * What a persisted replica is a view of: the directory seen through a bind, base, scope, filter
 * and attribute list. A store opened with a different identity does not reuse its entries: they
 * are a different set. The server is not part of it: every provider and replica of a directory
 * holds the same entries (same entryUUIDs) and understands the same cookie, so a store resumes
 * against any of them with a delta (see docs/cookies.md). Never holds a credential.
 */
export interface ReplicaIdentity {
  /**
   * Ignored: accepted so that syncrepl options can be passed as the identity. Stores written
   * before the URL left the identity have it recorded; they are reused when the other fields
   * match, whatever URL they recorded.
   */
  url?: string | readonly string[];
  /** The bind DN; empty or absent for an anonymous bind. */
  bindDN?: string;
  base: string;
  /** `base`, `one`, `sub` (the default) or `children`. */
  scope?: string;
  /** The search filter; `(objectClass=*)` when absent. */
  filter?: string;
  /** The requested attributes; all user attributes when absent. */
  attributes?: readonly string[];
}

/**
 * A store is already in use: by another `replicate()` subscription, or (LmdbStore) by another
 * open of the same directory, in this process or another one. A store holds one replica, and two
 * writers would interleave their batches and cookies.
 */
export class ReplicaStoreBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaStoreBusyError';
  }
}

/**
 * A store holds the replica of another view of the directory (another bind DN, base, scope,
 * filter or attributes), and was opened with `otherIdentity: 'refuse'`: it was left as it is.
 */
export class ReplicaIdentityError extends Error {
  constructor(
    /** The store's directory. */
    readonly path: string,
    /** What the store holds a replica of. */
    readonly stored: CanonicalIdentity,
    /** What it was opened for. */
    readonly requested: CanonicalIdentity,
  ) {
    super(
      `Replica store at ${path} holds a replica of ${describeIdentity(stored)}, not of ` +
        `${describeIdentity(requested)}; it was left as it is. Open another directory, or let the store discard it.`,
    );
    this.name = 'ReplicaIdentityError';
  }

  /** The fields that differ, in the order bindDN, base, scope, filter, attributes. */
  get differences(): (keyof CanonicalIdentity)[] {
    const fields = ['bindDN', 'base', 'scope', 'filter', 'attributes'] as const;
    return fields.filter((f) => JSON.stringify(this.stored[f]) !== JSON.stringify(this.requested[f]));
  }
}

/** Where stores say what they did with stored state (discarded, reset), when given no logger:
 * warnings to the console, information dropped. */
export const defaultReplicaLogger: Logger = {
  info: () => {},
  warn: (message) => console.warn(message),
};

/**
 * The identity of the view that `options` search: the five fields that name it (bindDN, base,
 * scope, filter, attributes), copied from syncrepl options, a CLI configuration or a server
 * source, and nothing else (no password, no URL: any provider or replica of the directory
 * resumes the store). The one place that lists them; stores canonicalize it when they open.
 */
export function viewIdentity(options: ReplicaIdentity): ReplicaIdentity {
  return {
    bindDN: options.bindDN,
    base: options.base,
    scope: options.scope,
    filter: options.filter,
    attributes: options.attributes,
  };
}

/** An identity as stores record and compare it (see {@link canonicalIdentity}). */
export type CanonicalIdentity = Required<Omit<ReplicaIdentity, 'url'>>;

/**
 * The identity in a canonical form: only the five fields that make the view (whatever else the
 * object holds, such as a password or the URL, is left behind), defaults filled in, attribute
 * names lower-cased, sorted and deduplicated (their order does not change the content).
 */
export function canonicalIdentity(identity: ReplicaIdentity): CanonicalIdentity {
  const attributes = [...new Set((identity.attributes ?? []).map((name) => name.toLowerCase()))].sort();
  return {
    bindDN: identity.bindDN ?? '',
    base: String(identity.base),
    scope: identity.scope ?? 'sub',
    filter: identity.filter ?? '(objectClass=*)',
    attributes,
  };
}

/** Whether two identities name the same view of the directory (whatever their URLs). */
export function sameIdentity(a: ReplicaIdentity, b: ReplicaIdentity): boolean {
  return JSON.stringify(canonicalIdentity(a)) === JSON.stringify(canonicalIdentity(b));
}

/** A short human description for log lines: what, and as whom; never a credential. */
export function describeIdentity(identity: ReplicaIdentity): string {
  const id = canonicalIdentity(identity);
  const who = id.bindDN === '' ? 'anonymous' : id.bindDN;
  const attrs = id.attributes.length === 0 ? '*' : id.attributes.join(',');
  return `base=${JSON.stringify(id.base)} scope=${id.scope} filter=${id.filter} attributes=${attrs} as ${who}`;
}
