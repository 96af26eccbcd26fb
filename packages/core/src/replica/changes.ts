/**
 * The change model: what a SyncMessage means for the replica (docs/design.md "Words").
 *
 * The wire says present / add / modify / delete; the replica says what actually happened to an
 * entry, classified against what it held before: an `add` for a known entryUUID is a `modify`,
 * a `rename`, or nothing at all. Every entry change carries the entryUUID, so a consumer can
 * correlate across renames and moves (docs/design.md invariant 3), and every change that replaces
 * or removes an entry carries the `old` state from the replica, like Univention's
 * `handler(dn, new, old, command)` and syncrepl_client's `record_change(dn, old, new)`.
 *
 * Every variant is discriminated on `type`, so `switch (change.type)` narrows to its fields.
 */
import type { AttributeValue, ResetMessage } from '../sync/messages.js';
import type { Entry } from '../stores/store.js';

// An entry is what a store holds, so its type is the store layer's, below this one; it is part of
// the change model, and exported from the package, as it always was.
export type { Entry };

/**
 * How one attribute changed. Values are compared byte-exactly as a set (LDAP attribute values
 * are a set, RFC 4512 §2.2): `added` lists values of the new entry the old one did not have,
 * `removed` the reverse, each in the order the server sent them.
 */
export interface AttributeChange {
  added: AttributeValue[];
  removed: AttributeValue[];
  /** The attribute did not exist before (every value is in `added`). */
  appeared?: true;
  /** The attribute no longer exists (every old value is in `removed`). */
  vanished?: true;
}

/**
 * The attribute-level difference between two entries, keyed by attribute name as spelled in the
 * new entry (else the old one). Attributes that did not change are absent, so an empty object
 * means "same attributes". JSON-serialisable, binary values aside.
 *
 * @example
 * for (const [name, { added, removed }] of Object.entries(change.diff)) {
 *   for (const v of removed) console.log(`- ${name}: ${v}`);
 *   for (const v of added) console.log(`+ ${name}: ${v}`);
 * }
 */
export type AttributeDiff = Record<string, AttributeChange>;

/** An entry entered the content (created, or started matching the search). */
export interface AddChange {
  type: 'add';
  entryUUID: string;
  dn: string;
  entry: Entry;
}

/** An entry changed its attributes but kept its DN. */
export interface ModifyChange {
  type: 'modify';
  entryUUID: string;
  dn: string;
  old: Entry;
  new: Entry;
  diff: AttributeDiff;
}

/**
 * An entry changed its DN: a modrdn, or a move within the search base. The attributes may have
 * changed too (often the RDN attribute), see `diff`.
 */
export interface RenameChange {
  type: 'rename';
  entryUUID: string;
  oldDn: string;
  newDn: string;
  old: Entry;
  new: Entry;
  diff: AttributeDiff;
}

/** An entry left the content (deleted, or no longer matching the search). */
export interface DeleteChange {
  type: 'delete';
  entryUUID: string;
  dn: string;
  old: Entry;
}

/**
 * A refresh completed: the replica equals the directory as seen through this search (docs/design.md
 * invariant 1), and live changes follow. Emitted after every completed refresh, including the
 * refresh that follows a reconnect or a reset, so a consumer may see it more than once.
 */
export interface ReadyChange {
  type: 'ready';
  /** The cookie the replica is at, if the server sent one. */
  cookie?: string;
}

/**
 * A full reload started: the server could not honour the cookie (e-syncRefreshRequired,
 * `refreshRequired`), or the store discarded the replica it held (`storeDiscarded`: opened for
 * another view of the directory, or its state was damaged; see ReplicaStore.discarded). Entries
 * that do not come back in the reload get a `delete` before the next `ready`, as far as the
 * replica still knows them; after `storeDiscarded` it knows none, so a consumer that keeps state
 * of its own must drop whatever the reload does not bring back itself.
 */
export interface ResetChange {
  type: 'reset';
  reason: ResetMessage['reason'] | 'storeDiscarded';
}

/** A change to one entry. */
export type EntryChange = AddChange | ModifyChange | RenameChange | DeleteChange;

/** What `replicate()` emits: entry changes, plus the `ready` and `reset` boundaries. */
export type Change = EntryChange | ReadyChange | ResetChange;
