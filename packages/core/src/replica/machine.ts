/**
 * The replica's state machine: what each SyncMessage (what the wire said) means for the replica
 * (the Changes), and which batches the store must commit, with which cookie. It decides; it does
 * not do: `apply` performs no I/O and emits nothing. `replicate()` (replicate.ts) is the thin
 * Observable wrapper that hands the batches to the store, in order, then emits the changes.
 *
 * One file for one concern: the rules below and the code that implements them (over 400 lines
 * because the rules are spelled out in full next to it).
 *
 * ## States
 *
 *        start(store) ── a `reset` (storeDiscarded) first when the store discarded its replica
 *             │
 *             ▼
 *   ┌───────────────────────────────────────┐  present / add, modify (presence) / delete /
 *   │ refresh { startCookie, presented,     │  syncIdSet: classify and stage, note presence;
 *   │           tracked, swept, unknown… }  │  cookies held back (safeCookie stays)
 *   │                                       │
 *   │  present phase ──refreshPresent,──┐   │  end of a present phase: sweep (rule 1),
 *   │       │           done(deletes=F) │   │  commit with its cookie
 *   │       ▼                           ▼   │
 *   │  delete phase                   (end) │  every `maxBatch` staged: commit under the
 *   └──────────────────┬────────────────────┘  start cookie
 *        ▲    ▲        │ refreshDone=TRUE (refreshPresent / refreshDelete), or done:
 *        │    │        │ sweep if from no cookie (rule 3), commit with the final cookie, `ready`
 *        │    │        ▼
 *        │    │  ┌─────────────────┐  add / modify / delete with a cookie, cookie,
 *        │    │  │ persist         │  syncIdSet deletes=T: classify, stage, and commit at
 *        │    │  │                 │  the end of every step with the step's cookie
 *        │    │  └───────┬─────────┘
 *        │    └──────────┘ present, add or delete without a cookie, syncIdSet deletes=F,
 *        │                 refreshPresent, refreshDelete, done: the refresh of a reconnect,
 *        │                 from the current cookie
 *        └── reset (e-syncRefreshRequired), from either state: cookie dropped, `reset`,
 *            a new refresh from no cookie
 *
 * The present and delete phases are not states of their own: nothing depends on which one is
 * running until it ends, and the message that ends it says which it was (RFC 4533 §3.3.2).
 *
 * ## Phases (RFC 4533 §3.3, §3.4)
 *
 *   search ─┬─ refresh stage ─────────────────────────────────────────────┬─ persist stage ──▶
 *           │  present phase            │ delete phase                   │
 *           │  add  (changed/new)       │ add  (changed/new)             │ add / modify /
 *           │  present (unchanged)      │ delete (gone)                  │ delete, each with
 *           │  syncIdSet deletes=FALSE  │ syncIdSet deletes=TRUE         │ a cookie
 *           │                           │                                │
 *           │  ends: refreshPresent     │ ends: refreshDelete            │
 *           │        or done(deletes=F) │       or done(deletes=T)       │
 *           └── refreshDone=TRUE (refreshAndPersist) or done (refreshOnly) ┘
 *                                       ▲ `ready` is emitted here, after every refresh
 *
 * A refresh has a present phase, a delete phase, or a present phase then a delete phase
 * (RFC 4533 §3.3.2). The wire does not always announce the start of a refresh: after a
 * reconnect, the protocol layer just starts a new search. A refresh therefore starts at
 * subscription, at `reset`, and, during the persist stage, at the first message that only a
 * refresh sends: `present`, an `add` or `delete` without a cookie (refresh-stage entries carry no
 * cookie, RFC 4533 §3.3.2; syncprov puts one on every persist-stage entry), a syncIdSet with
 * refreshDeletes=FALSE, or a refreshPresent / refreshDelete / done.
 *
 * ## The sweep rule
 *
 * Presence: during a refresh, every entryUUID named by `present`, `add`, `modify` or a syncIdSet
 * with refreshDeletes=FALSE is recorded in a Set (a `delete` removes it).
 *
 * 1. At the end of a present phase (a refreshPresent Sync Info, or `done` with
 *    refreshDeletes=FALSE), every replica entry that was not presented is deleted, *unless*
 *    the refresh resumed from a cookie, presented nothing, and the phase ended without a cookie
 *    newer than the one it resumed from (newer by its CSNs, see `cookieMoved`). That combination
 *    is the server saying "nothing changed" (slapd before ITS#5210 answered an unchanged resume
 *    with an empty refreshPresent; OpenLDAP's own consumer, do_syncrep2 in syncrepl.c, likewise
 *    only purges when the cookie moved), and deleting everything there would be a phantom mass
 *    deletion. A refresh from no cookie that presents nothing, or a
 *    resume whose cookie moved and that presents nothing, is a directory that is really empty
 *    now: everything is deleted.
 * 2. A delete phase never sweeps: it names what is gone (delete states, syncIdSet
 *    refreshDeletes=TRUE). A syncIdSet refreshDeletes=TRUE deletes exactly the UUIDs it lists,
 *    so an empty one deletes nothing (it is never "delete all"). In particular, a resume served
 *    from slapd's session log (changed entries as `add`, deletes, then refreshDelete) sweeps
 *    nothing.
 * 2a. 389 Directory Server: a refreshOnly resumed from one of its native cookies (see
 *    `is389DsCookie`) ends with `done` refreshDeletes=FALSE although it sent only the changes since
 *    the cookie (a delete phase in all but name); it is treated as the delete phase it is.
 * 3. A refresh that started from no cookie (the first load, or the reload after a `reset`)
 *    transfers the whole content, so when it completes, any entry that was not seen in it is
 *    deleted, whichever way it ended. This matters: slapd ends an initial load with a
 *    refreshDelete (or done with refreshDeletes=TRUE), not with a present phase, and the deletes
 *    that purge ghosts after a `reset` must still come, before `ready`.
 *
 * Deletes from a sweep come before the `ready` (or before the next phase's changes). The sweep is
 * set arithmetic: one pass over the replica's UUIDs against the presence Set.
 *
 * ## Classification
 *
 * By the replica, not by the wire (classify.ts): an `add` or `modify` for an unknown entryUUID is
 * an `add`; for a known one it is a `rename` when the DN differs, a `modify` when the attributes
 * differ, and nothing when the entry is the same (OpenLDAP resends changed entries as `add`
 * during a refresh, and a reload resends everything). A `present` with attributes is classified
 * the same way; a `present` without attributes only marks presence. A `delete` for an unknown
 * entry is nothing.
 *
 * ## The batching rule (what makes the stored cookie never ahead of the stored entries)
 *
 * Mutations are staged in memory and handed to the store as one batch with a cookie:
 * - persist stage: after every message that changed an entry or moved the cookie (a persist
 *   cookie covers everything before it). lmdb-js folds all transactions queued in one event
 *   turn into one LMDB commit, so a burst still costs one commit.
 * - refresh stage: cookies are held back until the phase they belong to is complete, because a
 *   resume from a mid-phase cookie would skip the sweep that is still owed. Batches go out at the
 *   end of a present phase (with its cookie, after the sweep), at the end of the refresh (with
 *   the final cookie, before `ready`), and every `maxBatch` staged mutations in between, with the
 *   cookie the refresh started from. Entries ahead of their cookie are safe: a resume from the
 *   older cookie resends them, and the replica classifies the resent entries as unchanged.
 * - `reset` drops the cookie: batches of the reload carry no cookie until the reload completes.
 *   A store that discarded its state (ReplicaStore.discarded) is announced with a `reset` as the
 *   first change of the subscription; it holds no cookie, so the search is a full reload.
 * - complete, error and unsubscribe commit what is staged, with the last safe cookie (`flush`).
 *
 * ## The contract with the wrapper
 *
 * The state reads the store (`get`, `has`, `size`, `entryUUIDs`, `sameRecord`, `cookie`) and never
 * writes it. Before the next `apply` or `flush`, the caller hands every batch of a step to the
 * store's `commit`, in order; until then, the machine reads those batches ahead of the store, so a
 * step that cuts several batches (a long syncIdSet, a sweep) sees its own earlier decisions. The
 * state is owned by one subscription and updated in place (a refresh of 100k entries stages 100k
 * entries: copying maps per message is not an option); `apply` returns what that step decided.
 */
import type { Attributes, SyncMessage } from '../sync/messages.js';
import type { ReplicaBatch, ReplicaStore } from '../stores/store.js';
import type { Change, Entry } from './changes.js';
import { classify } from './classify.js';
import { compareCsn, is389DsCookie, parseCookie } from '../protocol/cookie.js';
import { entryRecordOf } from '../sync/syncrepl.js';
import { recordEntry } from '../stores/codec.js';

/** What the machine reads of the store: never its writes. */
export type ReplicaReader = Pick<
  ReplicaStore,
  'cookie' | 'discarded' | 'size' | 'get' | 'has' | 'entryUUIDs' | 'sameRecord'
>;

/** The refresh in progress. */
export interface Refresh {
  readonly kind: 'refresh';
  /** The cookie the refresh resumed from; undefined: a full content transfer. */
  readonly startCookie: string | undefined;
  /** entryUUIDs presented since the start of the current present phase (when `tracked`). */
  presented: Set<string>;
  /**
   * False while the current present phase began with an empty replica: every entry it can hold
   * then was presented in the phase, so there is nothing to sweep and nothing to record (the
   * first load of 100k entries builds no presence Set and walks no replica at its end).
   */
  tracked: boolean;
  /** Whether a sweep already ran in this refresh. */
  swept: boolean;
  /** `present` states without attributes for entries the replica does not have. */
  readonly unknownPresents: Set<string>;
}

/** Between refreshes: live changes, each with its cookie. */
export interface Persist {
  readonly kind: 'persist';
}

/** What one step decided, in order. */
export interface Step {
  /** What the message meant for the replica, to emit once the batches are handed over. */
  readonly changes: Change[];
  /** Batches for the store's `commit`, in order, before the changes are emitted. */
  readonly batches: ReplicaBatch[];
  /** Oddities of the server, for the logger. */
  readonly warnings: string[];
}

/** The replica's state between two messages. See the diagram at the top of this file. */
export interface ReplicaState {
  /** The store the replica lives in, read-only. */
  readonly store: ReplicaReader;
  /** Staged mutations that trigger an intermediate batch during a refresh. */
  readonly maxBatch: number;
  stage: Refresh | Persist;
  /** Mutations not yet in a batch: entryUUID → the entry, or null when it is gone. */
  staged: Map<string, Entry | null>;
  /** The records of staged entries that came with one (see `withEntryRecords`). */
  records: Map<string, string>;
  /** The last cookie seen on any message. */
  cookie: string | undefined;
  /** The newest cookie that may be committed: everything it covers is applied. */
  safeCookie: string | undefined;
  /** The step being applied (its batches are read ahead of the store). */
  step: Step;
}

// Small enough that staged entries (decoded objects, about 1 KB each) stay out of V8's old space
// during a 100k-entry refresh (peak RSS: 153 MB at 1000 vs 198 MB at 5000 with a MemoryStore),
// large enough that an LMDB refresh costs one transaction per thousand entries.
export const DEFAULT_MAX_BATCH = 1000;

const PERSIST: Persist = { kind: 'persist' };

/**
 * The state of a replica held in `store`: a refresh from the store's cookie. `changes` holds a
 * `reset` (storeDiscarded) when the store discarded the replica it held: whoever folded earlier
 * changes must start over too.
 */
export function start(
  store: ReplicaReader,
  maxBatch = DEFAULT_MAX_BATCH,
): { state: ReplicaState; changes: Change[] } {
  const state: ReplicaState = {
    store,
    maxBatch: Math.max(1, maxBatch),
    stage: newRefresh(store.cookie, store.size === 0),
    staged: new Map(),
    records: new Map(),
    cookie: store.cookie,
    safeCookie: store.cookie,
    step: newStep(),
  };
  const changes: Change[] =
    store.discarded === undefined ? [] : [{ type: 'reset', reason: 'storeDiscarded' }];
  return { state, changes };
}

/**
 * Applies one message: updates `state` and returns the changes it means and the batches it
 * cuts, in order. Throws only what the store's reads or the record decoder throw.
 */
export function apply(state: ReplicaState, message: SyncMessage): Step {
  const s = state;
  const step = (s.step = newStep());
  switch (message.type) {
    case 'present':
    case 'add':
    case 'modify': {
      const current =
        message.type === 'present' || (message.type === 'add' && message.cookie === undefined)
          ? beginRefresh(s)
          : refreshOf(s);
      if (current?.tracked) current.presented.add(message.entryUUID);
      // From syncrepl() with records, an entry comes as its record (which reading `attributes`
      // would decode).
      const record = entryRecordOf(message);
      if (message.type === 'present' && record === undefined && isEmptyAttributes(message.attributes)) {
        if (current !== undefined && !knows(s, message.entryUUID)) {
          current.unknownPresents.add(message.entryUUID);
        }
      } else {
        // Present phases list new entries in a syncIdSet before sending them: not unknown after all.
        if (current !== undefined && current.unknownPresents.size > 0) {
          current.unknownPresents.delete(message.entryUUID);
        }
        if (record === undefined) {
          put(s, message.entryUUID, read(s, message.entryUUID), {
            dn: message.dn,
            attributes: message.attributes,
          });
        } else {
          putRecord(s, message.entryUUID, message.dn, record);
        }
      }
      noteCookie(s, message.cookie);
      break;
    }
    case 'delete': {
      const current = message.cookie === undefined ? beginRefresh(s) : refreshOf(s);
      current?.presented.delete(message.entryUUID);
      deleteEntry(s, message.entryUUID);
      noteCookie(s, message.cookie);
      break;
    }
    case 'syncIdSet': {
      if (message.refreshDeletes) {
        const current = refreshOf(s);
        for (const entryUUID of message.entryUUIDs) {
          current?.presented.delete(entryUUID);
          deleteEntry(s, entryUUID);
        }
      } else {
        const current = beginRefresh(s);
        for (const entryUUID of message.entryUUIDs) {
          if (current.tracked) current.presented.add(entryUUID);
          if (!knows(s, entryUUID)) current.unknownPresents.add(entryUUID);
        }
      }
      noteCookie(s, message.cookie);
      break;
    }
    case 'cookie':
      noteCookie(s, message.cookie);
      break;
    case 'refreshPresent': {
      const current = beginRefresh(s);
      endPresentPhase(s, current, message.cookie);
      if (message.refreshDone) completeRefresh(s, current, message.cookie);
      break;
    }
    case 'refreshDelete': {
      const current = beginRefresh(s);
      noteCookie(s, message.cookie);
      if (message.refreshDone) completeRefresh(s, current, message.cookie);
      break;
    }
    case 'done': {
      const current = beginRefresh(s);
      // 389-ds resumes a refreshOnly from its own cookie with only what changed since (deletes
      // in a syncIdSet, changed entries as `add`): a delete phase, which it ends with
      // refreshDeletes=FALSE all the same (hard-coded in sync_result_msg). Sweeping there
      // would delete every unchanged entry. See docs/research-389ds.md.
      const deletePhase = message.refreshDeletes || is389DsCookie(current.startCookie);
      if (!deletePhase) endPresentPhase(s, current, message.cookie);
      completeRefresh(s, current, message.cookie);
      break;
    }
    case 'reset':
      // The old cookie is void: nothing staged from here on may be committed under it.
      s.cookie = undefined;
      s.safeCookie = undefined;
      s.stage = newRefresh(undefined, replicaEmpty(s));
      step.changes.push({ type: 'reset', reason: message.reason });
      break;
  }
  // Persist stage: every change is covered by the cookie seen with it (or the one before).
  if (s.stage.kind === 'persist') commit(s);
  return step;
}

/**
 * What is staged, as one batch with the last safe cookie, for the end of the stream (complete,
 * error, unsubscribe); undefined when the store already holds all of it. Call it only once the
 * batches of the last step are handed to the store.
 */
export function flush(state: ReplicaState): ReplicaBatch | undefined {
  const step = (state.step = newStep());
  commit(state);
  return step.batches[0];
}

/**
 * Whether `next` is a later position than `start`, not merely another spelling of it: the
 * protocol layer merges partial cookies (protocol/cookie.ts), so an unchanged position can come
 * back as a different string. OpenLDAP cookies compare by their CSNs (and delcsn); other
 * cookies are opaque, and a different string counts as a move.
 */
export function cookieMoved(start: string | undefined, next: string | undefined): boolean {
  if (next === undefined || next === start) return false;
  if (start === undefined) return true;
  const before = parseCookie(start);
  const after = parseCookie(next);
  if (before === undefined || after === undefined) return true;
  for (const [sid, csn] of after.csns) {
    const old = before.csns.get(sid);
    if (old === undefined || compareCsn(csn, old) > 0) return true;
  }
  return after.delcsn !== undefined && after.delcsn !== before.delcsn;
}

function newStep(): Step {
  return { changes: [], batches: [], warnings: [] };
}

function newRefresh(startCookie: string | undefined, replicaEmpty: boolean): Refresh {
  return {
    kind: 'refresh',
    startCookie,
    presented: new Set(),
    tracked: !replicaEmpty,
    swept: false,
    unknownPresents: new Set(),
  };
}

function refreshOf(s: ReplicaState): Refresh | undefined {
  return s.stage.kind === 'refresh' ? s.stage : undefined;
}

function beginRefresh(s: ReplicaState): Refresh {
  if (s.stage.kind === 'persist') s.stage = newRefresh(s.cookie, replicaEmpty(s));
  return s.stage;
}

// ── Reading the replica: staged mutations, then this step's batches, then the store ──

/** The newest batch of this step that holds `entryUUID` (batches are cut only in a refresh). */
function batchOf(s: ReplicaState, entryUUID: string): ReplicaBatch | undefined {
  const batches = s.step.batches;
  for (let i = batches.length - 1; i >= 0; i--) if (batches[i]!.mutations.has(entryUUID)) return batches[i];
  return undefined;
}

function read(s: ReplicaState, entryUUID: string): Entry | undefined {
  const entry = s.staged.get(entryUUID);
  if (entry !== undefined) return entry ?? undefined;
  if (s.step.batches.length > 0) {
    const batch = batchOf(s, entryUUID);
    if (batch !== undefined) return batch.mutations.get(entryUUID) ?? undefined;
  }
  return s.store.get(entryUUID);
}

function knows(s: ReplicaState, entryUUID: string): boolean {
  const entry = s.staged.get(entryUUID);
  if (entry !== undefined) return entry !== null;
  if (s.step.batches.length > 0) {
    const batch = batchOf(s, entryUUID);
    if (batch !== undefined) return batch.mutations.get(entryUUID) !== null;
  }
  return s.store.has(entryUUID);
}

function replicaEmpty(s: ReplicaState): boolean {
  if (s.step.batches.length > 0) {
    for (const _ of replicaUUIDs(s)) return false;
    return true;
  }
  if (s.store.size > 0) return false;
  for (const entry of s.staged.values()) if (entry !== null) return false;
  return true;
}

/** Every entryUUID in the replica: the store's, corrected by this step's batches and the staged. */
function* replicaUUIDs(s: ReplicaState): Generator<string> {
  const { staged } = s;
  const batches = s.step.batches;
  const later = (entryUUID: string, from: number): boolean => {
    for (let i = from; i < batches.length; i++) if (batches[i]!.mutations.has(entryUUID)) return true;
    return staged.has(entryUUID);
  };
  if (batches.length === 0) {
    for (const entryUUID of s.store.entryUUIDs()) if (!staged.has(entryUUID)) yield entryUUID;
  } else {
    for (const entryUUID of s.store.entryUUIDs()) if (!later(entryUUID, 0)) yield entryUUID;
    for (let i = 0; i < batches.length; i++) {
      for (const [entryUUID, entry] of batches[i]!.mutations) {
        if (entry !== null && !later(entryUUID, i + 1)) yield entryUUID;
      }
    }
  }
  for (const [entryUUID, entry] of staged) if (entry !== null) yield entryUUID;
}

// ── Deciding ──

function stage(s: ReplicaState, entryUUID: string, entry: Entry | null, record?: string): void {
  s.staged.set(entryUUID, entry);
  if (record !== undefined) s.records.set(entryUUID, record);
  else if (s.records.size > 0) s.records.delete(entryUUID);
  if (s.stage.kind === 'refresh' && s.staged.size >= s.maxBatch) commit(s);
}

/** Cuts a batch of what is staged, with the safe cookie, unless the store would not change. */
function commit(s: ReplicaState): void {
  const batches = s.step.batches;
  const committed = batches.length > 0 ? batches[batches.length - 1]!.cookie : s.store.cookie;
  if (s.staged.size === 0 && s.safeCookie === committed) return;
  // The maps belong to the batch from here on: the state starts new ones.
  batches.push({ mutations: s.staged, records: s.records, cookie: s.safeCookie });
  s.staged = new Map();
  s.records = new Map();
}

/** Stages `entry` when it changes the replica's `old`, and says how (classify.ts). */
function put(
  s: ReplicaState,
  entryUUID: string,
  old: Entry | undefined,
  entry: Entry,
  record?: string,
): void {
  const change = classify(entryUUID, old, entry);
  if (change === undefined) return;
  stage(s, entryUUID, entry, record);
  s.step.changes.push(change);
}

/** `put` for an entry that came as its record: unchanged when the records are equal. */
function putRecord(s: ReplicaState, entryUUID: string, dn: string, record: string): void {
  const pending = s.staged.get(entryUUID);
  let old: Entry | undefined;
  if (pending !== undefined) {
    if (pending !== null && s.records.get(entryUUID) === record) return;
    old = pending ?? undefined;
  } else {
    const batch = s.step.batches.length > 0 ? batchOf(s, entryUUID) : undefined;
    if (batch !== undefined) {
      const cut = batch.mutations.get(entryUUID) ?? null;
      if (cut !== null && batch.records?.get(entryUUID) === record) return;
      old = cut ?? undefined;
    } else if (s.store.sameRecord?.(entryUUID, record) === true) {
      return;
    } else {
      old = s.store.get(entryUUID);
    }
  }
  put(s, entryUUID, old, recordEntry(record, entryUUID, dn), record);
}

function deleteEntry(s: ReplicaState, entryUUID: string): void {
  const old = read(s, entryUUID);
  if (old === undefined) return;
  stage(s, entryUUID, null);
  s.step.changes.push(classify(entryUUID, old, undefined)!);
}

function sweep(s: ReplicaState, presented: ReadonlySet<string>): void {
  const gone: string[] = [];
  for (const entryUUID of replicaUUIDs(s)) if (!presented.has(entryUUID)) gone.push(entryUUID);
  for (const entryUUID of gone) deleteEntry(s, entryUUID);
}

function noteCookie(s: ReplicaState, next: string | undefined): void {
  if (next === undefined) return;
  s.cookie = next;
  if (s.stage.kind === 'persist') s.safeCookie = next;
}

function endPresentPhase(s: ReplicaState, current: Refresh, endCookie: string | undefined): void {
  const moved = cookieMoved(current.startCookie, endCookie);
  if (!current.tracked) {
    current.swept = true; // the replica holds only entries presented in this phase
  } else if (current.startCookie === undefined || current.presented.size > 0 || moved) {
    sweep(s, current.presented);
    current.swept = true;
  }
  current.presented = new Set();
  current.tracked = true;
  noteCookie(s, endCookie);
  // The present phase is complete: its cookie covers the sweep, a resume may start there.
  s.safeCookie = s.cookie;
  commit(s);
}

function completeRefresh(s: ReplicaState, current: Refresh, endCookie: string | undefined): void {
  if (current.startCookie === undefined && !current.swept && current.tracked) sweep(s, current.presented);
  if (current.unknownPresents.size > 0) {
    s.step.warnings.push(
      `The server presented ${current.unknownPresents.size} entries as unchanged that this replica does not hold; ` +
        'the replica may be incomplete. Restart from an empty store (no cookie) to reload it.',
    );
  }
  s.stage = PERSIST;
  noteCookie(s, endCookie);
  s.safeCookie = s.cookie;
  commit(s);
  s.step.changes.push(s.cookie === undefined ? { type: 'ready' } : { type: 'ready', cookie: s.cookie });
}

function isEmptyAttributes(attributes: Attributes): boolean {
  for (const _ in attributes) return false;
  return true;
}
