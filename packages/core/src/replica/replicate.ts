/**
 * `replicate()`: SyncMessages (what the wire said) in, Changes (what it means for the replica)
 * out, with the replica's entries and cookie kept in a ReplicaStore.
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
 * Deletes from a sweep are emitted before the `ready` (or before the next phase's changes). The
 * sweep is set arithmetic: one pass over the replica's UUIDs against the presence Set.
 *
 * ## Classification
 *
 * By the replica, not by the wire: an `add` or `modify` for an unknown entryUUID is an `add`; for
 * a known one it is a `rename` when the DN differs, a `modify` when the attributes differ, and
 * nothing when the entry is the same (OpenLDAP resends changed entries as `add` during a refresh,
 * and a reload resends everything). A `present` with attributes is classified the same way; a
 * `present` without attributes only marks presence. A `delete` for an unknown entry is nothing.
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
 * - complete, error and unsubscribe commit what is staged, with the last safe cookie.
 *
 * Changes are emitted as soon as the replica state is updated, before the batch is durable:
 * after a crash the replica resumes from the last committed cookie and the server replays what
 * was lost; the classification turns replays into no-ops. A consumer that keeps derived state
 * of its own should save it with `ready.cookie`, or apply changes idempotently.
 *
 * ## Assumptions
 *
 * - The search resumes from the replica's cookie: pass `store.cookie` to `syncrepl()` (or use
 *   `replicateFrom`), and let `syncrepl({ reconnect })` resume from the last cookie it passed on,
 *   which is the last cookie this operator saw.
 * - Detecting the refresh of a reconnect relies on persist-stage `add` / `delete` carrying a
 *   cookie, as syncprov's do. A server that sends them without one makes this operator think a
 *   refresh started: cookies are then held back until the next refresh end (safe, only later).
 */
import { Observable, defer } from '../rx.js';
import type { OperatorFunction } from 'rxjs';
import type { Attributes, SyncMessage } from '../sync/messages.js';
import { MemoryStore } from '../stores/memory.js';
import { ReplicaStoreBusyError, defaultReplicaLogger } from '../stores/store.js';
import type { ReplicaStore } from '../stores/store.js';
import type { Logger } from '../logger.js';
import type { Change, Entry } from './changes.js';
import { diffAttributes, isEmptyDiff } from './diff.js';
import { subscribeFor } from './subscribeFor.js';
import { compareCsn, is389DsCookie, parseCookie } from '../protocol/cookie.js';
import { entryRecordOf, withEntryRecords } from '../sync/syncrepl.js';
import { recordEntry } from '../stores/codec.js';

export interface ReplicateOptions {
  /**
   * Where the replica lives. Defaults to a new `MemoryStore` per subscription. A persistent
   * store resumes: pass its `cookie` to `syncrepl()` (or use `replicateFrom`). One store serves
   * one subscription at a time.
   */
  store?: ReplicaStore;
  /** Staged mutations that trigger an intermediate batch during a refresh. Default 1000. */
  maxBatch?: number;
  /** Where to report oddities of the server (e.g. presents for entries the replica lacks). */
  logger?: Logger;
}

/** The refresh in progress. */
interface Refresh {
  /** The cookie the refresh resumed from; undefined: a full content transfer. */
  startCookie: string | undefined;
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
  unknownPresents: Set<string>;
}

// Small enough that staged entries (decoded objects, about 1 KB each) stay out of V8's old space
// during a 100k-entry refresh (peak RSS: 153 MB at 1000 vs 198 MB at 5000 with a MemoryStore),
// large enough that an LMDB refresh costs one transaction per thousand entries.
const DEFAULT_MAX_BATCH = 1000;

/** Stores in use by a subscription: one store holds one replica. */
const activeStores = new WeakSet<ReplicaStore>();

/**
 * Turns a stream of SyncMessages into the replica's changes: `add`, `modify`, `rename`,
 * `delete` (each with the old entry from the replica), `ready` after every completed refresh,
 * and `reset` when a full reload starts. See the top of this file for the phase, sweep and
 * batching rules.
 *
 * State lives per subscription: each subscription replicates on its own (from its own
 * MemoryStore unless a store is given).
 *
 * @example
 * const messages$ = of<SyncMessage>(
 *   { type: 'add', entryUUID: 'u1', dn: 'uid=ann,ou=people,dc=example', attributes: { cn: ['Ann'] } },
 *   { type: 'refreshDelete', refreshDone: true, cookie: 'c1' },
 *   { type: 'modify', entryUUID: 'u1', dn: 'uid=ann,ou=people,dc=example', attributes: { cn: ['Anne'] }, cookie: 'c2' },
 *   { type: 'modify', entryUUID: 'u1', dn: 'uid=anne,ou=people,dc=example', attributes: { cn: ['Anne'] }, cookie: 'c3' },
 * );
 * messages$.pipe(replicate()).subscribe((c) => console.log(c.type));
 * // Logs:
 * // add
 * // ready
 * // modify
 * // rename
 *
 * @param options The store to keep the replica in, batching and logging.
 * @return A function that returns an Observable of the replica's changes.
 */
export function replicate(options: ReplicateOptions = {}): OperatorFunction<SyncMessage, Change> {
  const maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  const logger = options.logger ?? defaultReplicaLogger;

  return (source) =>
    new Observable<Change>((subscriber) => {
      const store: ReplicaStore = options.store ?? new MemoryStore();
      if (activeStores.has(store)) {
        subscriber.error(
          new ReplicaStoreBusyError(
            'This ReplicaStore is already used by another replicate() subscription. A store holds one replica: ' +
              'give each subscription its own store, or share() one subscription.',
          ),
        );
        return;
      }
      activeStores.add(store);

      let staged = new Map<string, Entry | null>();
      /** The records of staged entries that came with one (see `withEntryRecords`). */
      let records = new Map<string, string>();
      /** The last cookie seen on any message. */
      let cookie = store.cookie;
      /** The newest cookie that may be committed: everything it covers is applied. */
      let safeCookie = store.cookie;
      let refresh: Refresh | undefined = newRefresh(store.cookie, store.size === 0);
      let lastCommit: Promise<void> | undefined;
      let ended = false;

      const read = (entryUUID: string): Entry | undefined => {
        const entry = staged.get(entryUUID);
        return entry === undefined ? store.get(entryUUID) : (entry ?? undefined);
      };
      const knows = (entryUUID: string): boolean => {
        const entry = staged.get(entryUUID);
        return entry === undefined ? store.has(entryUUID) : entry !== null;
      };
      const replicaEmpty = (): boolean => {
        if (store.size > 0) return false;
        for (const entry of staged.values()) if (entry !== null) return false;
        return true;
      };
      const stage = (entryUUID: string, entry: Entry | null, record?: string): void => {
        staged.set(entryUUID, entry);
        if (record !== undefined) records.set(entryUUID, record);
        else if (records.size > 0) records.delete(entryUUID);
        if (refresh !== undefined && staged.size >= maxBatch) commit();
      };
      const commit = (): Promise<void> | undefined => {
        if (staged.size === 0 && safeCookie === store.cookie) return lastCommit;
        const mutations = staged;
        const batchRecords = records;
        // Swap before handing the batch over: it belongs to the store from here on (if the store
        // throws, the stream errors, and the batch is not offered twice).
        staged = new Map();
        records = new Map();
        const result = store.commit({ mutations, records: batchRecords, cookie: safeCookie });
        if (result === undefined) return lastCommit;
        lastCommit = result;
        result.catch((error: unknown) => subscriber.error(error));
        return result;
      };

      /** Every entryUUID in the replica: the store's, corrected by what is staged. */
      const replicaUUIDs = function* (): Generator<string> {
        for (const entryUUID of store.entryUUIDs()) if (!staged.has(entryUUID)) yield entryUUID;
        for (const [entryUUID, entry] of staged) if (entry !== null) yield entryUUID;
      };

      const sweep = (presented: ReadonlySet<string>, out: Change[]): void => {
        const gone: string[] = [];
        for (const entryUUID of replicaUUIDs()) if (!presented.has(entryUUID)) gone.push(entryUUID);
        for (const entryUUID of gone) deleteEntry(entryUUID, out);
      };

      const deleteEntry = (entryUUID: string, out: Change[]): void => {
        const old = read(entryUUID);
        if (old === undefined) return;
        stage(entryUUID, null);
        out.push({ type: 'delete', entryUUID, dn: old.dn, old });
      };

      const putEntry = (entryUUID: string, dn: string, attributes: Attributes, out: Change[]): void => {
        classify(entryUUID, read(entryUUID), { dn, attributes }, undefined, out);
      };

      /** putEntry for an entry that came as its record: unchanged when the records are equal. */
      const putRecord = (entryUUID: string, dn: string, record: string, out: Change[]): void => {
        const pending = staged.get(entryUUID);
        let old: Entry | undefined;
        if (pending !== undefined) {
          if (pending !== null && records.get(entryUUID) === record) return;
          old = pending ?? undefined;
        } else if (store.sameRecord?.(entryUUID, record) === true) {
          return;
        } else {
          old = store.get(entryUUID);
        }
        classify(entryUUID, old, recordEntry(record, entryUUID, dn), record, out);
      };

      /** Stages `entry` and says what it means against `old`: add, rename, modify or nothing. */
      const classify = (
        entryUUID: string,
        old: Entry | undefined,
        entry: Entry,
        record: string | undefined,
        out: Change[],
      ): void => {
        const { dn } = entry;
        if (old === undefined) {
          stage(entryUUID, entry, record);
          out.push({ type: 'add', entryUUID, dn, entry });
          return;
        }
        const diff = diffAttributes(old.attributes, entry.attributes);
        if (old.dn !== dn) {
          stage(entryUUID, entry, record);
          out.push({ type: 'rename', entryUUID, oldDn: old.dn, newDn: dn, old, new: entry, diff });
        } else if (!isEmptyDiff(diff)) {
          stage(entryUUID, entry, record);
          out.push({ type: 'modify', entryUUID, dn, old, new: entry, diff });
        }
      };

      const noteCookie = (next: string | undefined): void => {
        if (next === undefined) return;
        cookie = next;
        if (refresh === undefined) safeCookie = next;
      };

      const endPresentPhase = (current: Refresh, endCookie: string | undefined, out: Change[]): void => {
        const moved = cookieMoved(current.startCookie, endCookie);
        if (!current.tracked) {
          current.swept = true; // the replica holds only entries presented in this phase
        } else if (current.startCookie === undefined || current.presented.size > 0 || moved) {
          sweep(current.presented, out);
          current.swept = true;
        }
        current.presented = new Set();
        current.tracked = true;
        noteCookie(endCookie);
        // The present phase is complete: its cookie covers the sweep, a resume may start there.
        safeCookie = cookie;
        commit();
      };

      const completeRefresh = (current: Refresh, endCookie: string | undefined, out: Change[]): void => {
        if (current.startCookie === undefined && !current.swept && current.tracked)
          sweep(current.presented, out);
        if (current.unknownPresents.size > 0) {
          logger.warn?.(
            `The server presented ${current.unknownPresents.size} entries as unchanged that this replica does not hold; ` +
              'the replica may be incomplete. Restart from an empty store (no cookie) to reload it.',
          );
        }
        // State first, then emit: a consumer of `ready` may synchronously push more messages.
        refresh = undefined;
        noteCookie(endCookie);
        safeCookie = cookie;
        commit();
        out.push(cookie === undefined ? { type: 'ready' } : { type: 'ready', cookie });
      };

      const beginRefresh = (): Refresh => {
        refresh ??= newRefresh(cookie, replicaEmpty());
        return refresh;
      };

      /** Applies one message to the state and returns the changes it means, in order. */
      const apply = (message: SyncMessage): Change[] => {
        const out: Change[] = [];
        switch (message.type) {
          case 'present':
          case 'add':
          case 'modify': {
            const current =
              message.type === 'present' || (message.type === 'add' && message.cookie === undefined)
                ? beginRefresh()
                : refresh;
            if (current?.tracked) current.presented.add(message.entryUUID);
            // From syncrepl() with records, an entry comes as its record (which reading
            // `attributes` would decode).
            const record = entryRecordOf(message);
            if (message.type === 'present' && record === undefined && isEmptyAttributes(message.attributes)) {
              if (current !== undefined && !knows(message.entryUUID)) {
                current.unknownPresents.add(message.entryUUID);
              }
            } else {
              // Present phases list new entries in a syncIdSet before sending them: not unknown after all.
              if (current !== undefined && current.unknownPresents.size > 0) {
                current.unknownPresents.delete(message.entryUUID);
              }
              if (record === undefined) putEntry(message.entryUUID, message.dn, message.attributes, out);
              else putRecord(message.entryUUID, message.dn, record, out);
            }
            noteCookie(message.cookie);
            break;
          }
          case 'delete': {
            const current = message.cookie === undefined ? beginRefresh() : refresh;
            current?.presented.delete(message.entryUUID);
            deleteEntry(message.entryUUID, out);
            noteCookie(message.cookie);
            break;
          }
          case 'syncIdSet': {
            if (message.refreshDeletes) {
              for (const entryUUID of message.entryUUIDs) {
                refresh?.presented.delete(entryUUID);
                deleteEntry(entryUUID, out);
              }
            } else {
              const current = beginRefresh();
              for (const entryUUID of message.entryUUIDs) {
                if (current.tracked) current.presented.add(entryUUID);
                if (!knows(entryUUID)) current.unknownPresents.add(entryUUID);
              }
            }
            noteCookie(message.cookie);
            break;
          }
          case 'cookie':
            noteCookie(message.cookie);
            break;
          case 'refreshPresent': {
            const current = beginRefresh();
            endPresentPhase(current, message.cookie, out);
            if (message.refreshDone) completeRefresh(current, message.cookie, out);
            break;
          }
          case 'refreshDelete': {
            const current = beginRefresh();
            noteCookie(message.cookie);
            if (message.refreshDone) completeRefresh(current, message.cookie, out);
            break;
          }
          case 'done': {
            const current = beginRefresh();
            // 389-ds resumes a refreshOnly from its own cookie with only what changed since (deletes
            // in a syncIdSet, changed entries as `add`): a delete phase, which it ends with
            // refreshDeletes=FALSE all the same (hard-coded in sync_result_msg). Sweeping there
            // would delete every unchanged entry. See docs/research-389ds.md.
            const deletePhase = message.refreshDeletes || is389DsCookie(current.startCookie);
            if (!deletePhase) endPresentPhase(current, message.cookie, out);
            completeRefresh(current, message.cookie, out);
            break;
          }
          case 'reset':
            // The old cookie is void: nothing staged from here on may be committed under it.
            cookie = undefined;
            safeCookie = undefined;
            refresh = newRefresh(undefined, replicaEmpty());
            out.push({ type: 'reset', reason: message.reason });
            break;
        }
        // Persist stage: every change is covered by the cookie seen with it (or the one before).
        if (refresh === undefined) commit();
        return out;
      };

      const finish = (then: () => void): void => {
        ended = true;
        let pending: Promise<void> | undefined;
        try {
          pending = commit();
        } catch (error) {
          subscriber.error(error);
          return;
        }
        if (pending === undefined) then();
        else pending.then(then, (error: unknown) => subscriber.error(error));
      };

      // The store threw away what it held: whoever folded earlier changes must start over too.
      if (store.discarded !== undefined) subscriber.next({ type: 'reset', reason: 'storeDiscarded' });

      // Straight from syncrepl(), entries come with their records: the store keeps them as they are.
      const subscription = subscribeFor(subscriber, withEntryRecords(source) ?? source, {
        next: (message) => {
          let out: Change[];
          try {
            out = apply(message);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          for (const change of out) subscriber.next(change);
        },
        error: (error: unknown) => finish(() => subscriber.error(error)),
        complete: () => {
          // Also called when the consumer unsubscribed (see subscribeFor): the teardown saves then.
          if (!subscriber.closed) finish(() => subscriber.complete());
        },
      });

      return () => {
        subscription.unsubscribe();
        activeStores.delete(store);
        if (ended) return;
        // Unsubscribed mid-stream: keep what was applied, under the last safe cookie.
        try {
          commit()?.catch((error: unknown) =>
            logger.warn?.(`Saving the replica on unsubscribe failed: ${String(error)}`),
          );
        } catch (error) {
          logger.warn?.(`Saving the replica on unsubscribe failed: ${String(error)}`);
        }
      };
    });
}

/**
 * Replicates into `store`, calling `connect` with the store's cookie on every subscription, so
 * a retry or a restart resumes from the cookie committed with the entries, never a stale one.
 * This is the wiring between the store and the protocol layer in one call.
 *
 * @example
 * const store = await LmdbStore.open('./replica', { identity });
 * replicateFrom(store, (cookie) => syncrepl({ ...options, cookie })).subscribe(console.log);
 *
 * @param store The replica to resume.
 * @param connect Starts the SyncMessage stream from a cookie (undefined: a full refresh).
 * @param options As for `replicate`, without `store`.
 * @return An Observable of the replica's changes.
 */
export function replicateFrom(
  store: ReplicaStore,
  connect: (cookie: string | undefined) => Observable<SyncMessage>,
  options: Omit<ReplicateOptions, 'store'> = {},
): Observable<Change> {
  return defer(() => connect(store.cookie).pipe(replicate({ ...options, store })));
}

function newRefresh(startCookie: string | undefined, replicaEmpty: boolean): Refresh {
  return {
    startCookie,
    presented: new Set(),
    tracked: !replicaEmpty,
    swept: false,
    unknownPresents: new Set(),
  };
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

function isEmptyAttributes(attributes: Attributes): boolean {
  for (const _ in attributes) return false;
  return true;
}
