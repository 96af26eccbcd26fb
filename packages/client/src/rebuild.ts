/**
 * The state rebuild: applies the events of a stream (docs/stream-contract.md) to a Map keyed on
 * entryUUID.
 *
 * - `present`, `add` and `modify` upsert the body; `delete` removes the entry (SPEC.md S1).
 * - A rename or move arrives as `delete` then `add` with the same entryUUID; applied in order, the
 *   entry ends under its new id and `_url`, still keyed on its entryUUID (S2).
 * - A full replay (no cookie sent, a `reset`, or `present` events) marks every entry unseen; each
 *   event of the replay marks its entry seen, and `ready` drops the entries still unseen (S3):
 *   the state then equals the server's, with no ghost entries (docs/design.md invariant 4).
 * - An upsert whose body equals the current one changes nothing: after a reset most of the replay
 *   is like that, and it must cost neither a snapshot nor a write (S4).
 */

export type { SyncOp } from './wire.js';

/**
 * The body of a `delete` event: only enough to identify what went away (id and _url,
 * docs/stream-contract.md §E4).
 */
export type Tombstone = Readonly<Record<string, unknown>>;

/** One event of the stream, as received (see `Collection.events$`). */
export type StreamEvent<Body> =
  | {
      type: 'entry';
      syncOp: 'present' | 'add' | 'modify';
      entryUUID: string;
      body: Body;
      id: string | undefined;
    }
  | { type: 'entry'; syncOp: 'delete'; entryUUID: string; body: Tombstone; id: string | undefined }
  | { type: 'ready'; id: string | undefined }
  | { type: 'reset'; id: string | undefined };

export type EntryEvent<Body> = Extract<StreamEvent<Body>, { type: 'entry' }>;

/** What changed in the collection (see `Collection.changes$`). */
export type CollectionChange<Body> =
  | {
      type: 'upsert';
      syncOp: 'present' | 'add' | 'modify';
      entryUUID: string;
      body: Body;
      /** The body before, undefined for a new entry (also the `add` half of a rename). */
      previous: Body | undefined;
    }
  | {
      type: 'delete';
      /** `delete`: the server deleted it (or it left the view); `reset`: not re-presented after a reset. */
      cause: 'delete' | 'reset';
      entryUUID: string;
      previous: Body;
    };

export class Rebuild<Body> {
  readonly entries: Map<string, Body>;
  /** During a full replay: the entries not (re-)presented yet. */
  private unseen: Set<string> | undefined;

  constructor(initial: Iterable<readonly [string, Body]> = []) {
    this.entries = new Map(initial);
  }

  /** True between the start of a full replay and its `ready`. */
  get replaying(): boolean {
    return this.unseen !== undefined;
  }

  /** Starts a full replay: until `ready`, every entry must be presented again or it goes. */
  beginFullReplay(): void {
    this.unseen = new Set(this.entries.keys());
  }

  /** Applies one entry event; returns the change, or undefined when nothing changed. */
  apply(event: EntryEvent<Body>): CollectionChange<Body> | undefined {
    const { entryUUID } = event;
    if (event.syncOp === 'present' && !this.unseen) {
      // A server that replays without announcing a reset: treat it as one (S3).
      this.beginFullReplay();
    }
    this.unseen?.delete(entryUUID);
    const previous = this.entries.get(entryUUID);
    if (event.syncOp === 'delete') {
      if (previous === undefined) return undefined;
      this.entries.delete(entryUUID);
      return { type: 'delete', cause: 'delete', entryUUID, previous };
    }
    if (previous !== undefined && jsonEqual(previous, event.body)) return undefined;
    this.entries.set(entryUUID, event.body);
    return { type: 'upsert', syncOp: event.syncOp, entryUUID, body: event.body, previous };
  }

  /** Ends a full replay, if one is running: drops and returns the entries not seen again. */
  ready(): CollectionChange<Body>[] {
    const unseen = this.unseen;
    this.unseen = undefined;
    if (!unseen) return [];
    const dropped: CollectionChange<Body>[] = [];
    for (const entryUUID of unseen) {
      const previous = this.entries.get(entryUUID);
      if (previous === undefined) continue;
      this.entries.delete(entryUUID);
      dropped.push({ type: 'delete', cause: 'reset', entryUUID, previous });
    }
    return dropped;
  }
}

/** Deep equality of JSON values (what JSON.parse returns), without stringifying. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
