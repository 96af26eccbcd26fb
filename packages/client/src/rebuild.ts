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

  /**
   * Ends a full replay, if one is running: drops and returns the entries not seen again. A tab
   * that follows another (tabs.ts) passes the entries its leader dropped instead: it joined in
   * the middle of the replay and cannot know itself what was presented before (SPEC.md M6).
   */
  ready(dropped?: Iterable<string>): CollectionChange<Body>[] {
    const unseen = dropped ?? this.unseen;
    this.unseen = undefined;
    if (!unseen) return [];
    const changes: CollectionChange<Body>[] = [];
    for (const entryUUID of unseen) {
      const previous = this.entries.get(entryUUID);
      if (previous === undefined) continue;
      this.entries.delete(entryUUID);
      changes.push({ type: 'delete', cause: 'reset', entryUUID, previous });
    }
    return changes;
  }

  /**
   * A follower mirrors its leader's `replaying` (which `ready(dropped)` then ends): so that, if it
   * takes over, it knows not to resume a partial replay's cookie (SPEC.md P5).
   */
  mirrorReplaying(replaying: boolean): void {
    if (replaying && !this.unseen) this.unseen = new Set();
    else if (!replaying) this.unseen = undefined;
  }

  /**
   * Replaces the whole state with `next` (a leader's snapshot) and returns what changed: an
   * `add` or `modify` upsert per new or different entry, a `delete` per entry gone.
   */
  replace(next: Iterable<readonly [string, Body]>): CollectionChange<Body>[] {
    const changes: CollectionChange<Body>[] = [];
    const kept = new Set<string>();
    for (const [entryUUID, body] of next) {
      kept.add(entryUUID);
      const previous = this.entries.get(entryUUID);
      if (previous !== undefined && jsonEqual(previous, body)) continue;
      this.entries.set(entryUUID, body);
      changes.push({
        type: 'upsert',
        syncOp: previous === undefined ? 'add' : 'modify',
        entryUUID,
        body,
        previous,
      });
    }
    for (const [entryUUID, previous] of this.entries) {
      if (kept.has(entryUUID)) continue;
      this.entries.delete(entryUUID);
      changes.push({ type: 'delete', cause: 'delete', entryUUID, previous });
    }
    return changes;
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
