/**
 * The state part of a collection: the wire events of docs/stream-contract.md in, the entries
 * (keyed on entryUUID, through `Rebuild`) and the resume cookie kept, and what each event means
 * for the world out, as a `Step`:
 *
 *   SseEvent ──► parse (§E1; S5) ──► Rebuild (S1–S4) ──► Step { event, changes, dropped, status }
 *                                      cookie := id:
 *
 * No I/O, no timers, no RxJS: each method maps one input to its outputs, synchronously and
 * deterministically, so the rules are tested here without a stream, a store or a tab
 * (test/unit/client-stream-state.test.ts). It is not a pure function in the strict sense: the
 * entries are one Map updated in place, because copying a 100k-entry Map per event is not an
 * option; everything else a caller sees goes through the returned steps.
 *
 * The caller (collection.ts) does the rest with each step: the status machine (state.ts) hears
 * `status`, the local copy (local-copy.ts) stores `changes` and the cookie, the followers get the
 * event and `dropped` (tabs.ts), and consumers `event` and `changes`.
 */
import { EVENT_ENTRY, EVENT_READY, EVENT_RESET } from './constants.js';
import { MalformedEventError } from './errors.js';
import { Rebuild, type CollectionChange, type EntryEvent, type StreamEvent } from './rebuild.js';
import type { SseEvent } from './sse.js';
import type { StatusEvent } from './state.js';

/** What one wire event did. */
export interface Step<Body> {
  /** The event as received (what `events$` emits). */
  readonly event: StreamEvent<Body>;
  /** What changed, in order: nothing for a no-op upsert (S4) or a `reset`. */
  readonly changes: readonly CollectionChange<Body>[];
  /** `ready`: the entryUUIDs it dropped, which followers drop too (M6). */
  readonly dropped?: readonly string[];
  /** For the status machine: `ready`, or `full-replay` when this event started one. */
  readonly status?: Extract<StatusEvent, { type: 'ready' } | { type: 'full-replay' }>;
}

/** The whole state, as a leader hands it to a follower its log cannot catch up (M5). */
export interface Snapshot<Body> {
  readonly entries: readonly (readonly [string, Body])[];
  readonly cookie: string | undefined;
  readonly replaying: boolean;
}

/** What a stored copy holds (local-copy.ts): the entries and the cookie that covers them. */
export interface RestoredState<Body> {
  readonly entries: Iterable<readonly [string, Body]>;
  readonly cookie: string | undefined;
  /** A full replay had not reached `ready` when this was stored (P5). */
  readonly replaying: boolean;
}

/**
 * One stream's entries and resume cookie.
 *
 * @example
 * const state = new StreamState<Sub>('https://x/realm?subscribe=1');
 * state.beginFullReplay(); // a request without a cookie
 * const step = state.apply({ event: 'entry', data: '{"entryUUID":"u1","syncOp":"present","body":{}}', id: 'c1' });
 * console.log(step?.changes.length, state.cookie);
 * // Logs: 1 c1
 */
export class StreamState<Body> {
  private rebuild = new Rebuild<Body>();
  private cookie_: string | undefined;
  /** A 400 made us drop the cookie once; it is not dropped again before the next `ready`. */
  private cookieRejected = false;

  /** @param url The stream URL, for the errors of a malformed event. */
  constructor(private readonly url: string) {}

  /** The entries now: the same Map, updated in place (read it, never keep it as a snapshot). */
  get entries(): ReadonlyMap<string, Body> {
    return this.rebuild.entries;
  }

  /** The `id:` of the last event applied: what a (re)connection sends and what the stored copy holds. */
  get cookie(): string | undefined {
    return this.cookie_;
  }

  /** True between the start of a full replay and its `ready`. */
  get replaying(): boolean {
    return this.rebuild.replaying;
  }

  /**
   * Starts from a stored copy (C1). A replay that had not reached `ready` is not resumed from its
   * cookie (P5): it covers a partial state, so the next request replays in full again.
   */
  restore(stored: RestoredState<Body>): void {
    this.rebuild = new Rebuild(stored.entries);
    this.cookie_ = stored.replaying ? undefined : stored.cookie;
    if (stored.replaying) this.rebuild.mirrorReplaying(true);
  }

  /**
   * Applies one event (S1–S5). A follower passes the entries its leader's `ready` dropped (M6).
   * Events of other names are not ours (forward compatible): undefined, nothing changes.
   *
   * @throws MalformedEventError for an `entry` that is not `{ entryUUID, syncOp, body }`, before
   * anything of it is applied (S5).
   */
  apply(e: SseEvent, leaderDropped?: readonly string[]): Step<Body> | undefined {
    const wasReplaying = this.rebuild.replaying;
    let step: Step<Body>;
    switch (e.event) {
      case EVENT_ENTRY: {
        const event = parseEntry<Body>(this.url, e);
        const change = this.rebuild.apply(event);
        if (e.id !== undefined) this.cookie_ = e.id;
        step = { event, changes: change ? [change] : [] };
        break;
      }
      case EVENT_READY: {
        const changes = this.rebuild.ready(leaderDropped);
        if (e.id !== undefined) this.cookie_ = e.id;
        this.cookieRejected = false;
        const dropped = changes.map((change) => change.entryUUID);
        return { event: { type: 'ready', id: e.id }, changes, dropped, status: { type: 'ready' } };
      }
      case EVENT_RESET:
        this.rebuild.beginFullReplay();
        if (e.id !== undefined) this.cookie_ = e.id;
        step = { event: { type: 'reset', id: e.id }, changes: [] };
        break;
      default:
        return undefined;
    }
    return !wasReplaying && this.rebuild.replaying ? { ...step, status: { type: 'full-replay' } } : step;
  }

  /** A request went out without a cookie: the server replays everything, and what it leaves out is gone (S3). */
  beginFullReplay(): void {
    this.rebuild.beginFullReplay();
  }

  /**
   * The server answered 400, most likely to our cookie (over 1024 bytes or control characters:
   * docs/stream-contract.md §K4). Drops the cookie, once until the next `ready`: without it the
   * server replays in full, and the replay rebuilds the exact state.
   *
   * @return Whether the cookie was dropped (then connect again without it); false when there was
   * none, or it was dropped already (the 400 is about something else).
   */
  rejectCookie(): boolean {
    if (this.cookie_ === undefined || this.cookieRejected) return false;
    this.cookieRejected = true;
    this.cookie_ = undefined;
    return true;
  }

  /** Follower: mirrors its leader's `replaying` after each relayed event (M6, P5). */
  mirrorReplaying(replaying: boolean): void {
    this.rebuild.mirrorReplaying(replaying);
  }

  /** Follower: takes the leader's whole state (M5); returns what changed, as changes. */
  replace(snapshot: Snapshot<Body>): CollectionChange<Body>[] {
    const changes = this.rebuild.replace(snapshot.entries);
    this.cookie_ = snapshot.cookie;
    this.rebuild.mirrorReplaying(snapshot.replaying);
    return changes;
  }

  /** Leader: the whole state, for a follower (M5). */
  snapshot(): Snapshot<Body> {
    return { entries: [...this.rebuild.entries], cookie: this.cookie_, replaying: this.rebuild.replaying };
  }

  /** This tab takes over from another: a replay the old leader had not finished is not resumed from its cookie (P5). */
  takeOver(): void {
    if (this.rebuild.replaying) this.cookie_ = undefined;
  }
}

/** Checks the shape docs/stream-contract.md §E1 promises: `{ entryUUID, syncOp, body }`. */
function parseEntry<Body>(url: string, e: SseEvent): EntryEvent<Body> {
  let data: unknown;
  try {
    data = JSON.parse(e.data);
  } catch {
    throw new MalformedEventError(url, 'is not JSON', e.data);
  }
  if (!data || typeof data !== 'object') throw new MalformedEventError(url, 'is not a JSON object', e.data);
  const { entryUUID, syncOp, body } = data as Record<string, unknown>;
  if (typeof entryUUID !== 'string' || entryUUID === '') {
    throw new MalformedEventError(url, 'has no entryUUID', e.data);
  }
  if (!body || typeof body !== 'object') throw new MalformedEventError(url, 'has no body object', e.data);
  switch (syncOp) {
    case 'present':
    case 'add':
    case 'modify':
      return { type: 'entry', syncOp, entryUUID, body: body as Body, id: e.id };
    case 'delete':
      return { type: 'entry', syncOp, entryUUID, body: body as Record<string, unknown>, id: e.id };
    default:
      throw new MalformedEventError(url, `has an unknown syncOp ${JSON.stringify(syncOp)}`, e.data);
  }
}
