/**
 * `replicate()`: SyncMessages (what the wire said) in, Changes (what it means for the replica)
 * out, with the replica's entries and cookie kept in a ReplicaStore.
 *
 * This file is the Observable wrapper: one store per subscription, the records fast path, the
 * store's writes in the order the state machine cut them, emission, errors, and saving at the
 * end. What each message means, the phases, the sweep, the classification and the batching rule
 * are the state machine's (machine.ts, with its diagram).
 *
 * ## Per message
 *
 *   message ──▶ apply(state, message) ──▶ { changes, batches, warnings }
 *                                              │
 *               warnings → logger; batches → store.commit, in order; then changes → subscriber
 *
 * State first, then emit: a consumer may synchronously push more messages while it handles a
 * change (a `ready`, say), and the next step then starts from a state that is complete.
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
import { rx } from '../rx.js';
import type { Observable, OperatorFunction } from 'rxjs';
import type { SyncMessage } from '../sync/messages.js';
import { MemoryStore } from '../stores/memory.js';
import { ReplicaStoreBusyError, defaultReplicaLogger } from '../stores/store.js';
import type { ReplicaBatch, ReplicaStore } from '../stores/store.js';
import type { Logger } from '../logger.js';
import type { Change } from './changes.js';
import { apply, flush, start } from './machine.js';
import type { Step } from './machine.js';
import { subscribeFor } from './subscribeFor.js';
import { withEntryRecords } from '../sync/syncrepl.js';

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

/** Stores in use by a subscription: one store holds one replica. */
const activeStores = new WeakSet<ReplicaStore>();

/**
 * Turns a stream of SyncMessages into the replica's changes: `add`, `modify`, `rename`,
 * `delete` (each with the old entry from the replica), `ready` after every completed refresh,
 * and `reset` when a full reload starts. See machine.ts for the phase, sweep and batching rules.
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
  const logger = options.logger ?? defaultReplicaLogger;

  return (source) =>
    new (rx().Observable)<Change>((subscriber) => {
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

      const { state, changes: opening } = start(store, options.maxBatch);
      let lastCommit: Promise<void> | undefined;
      let ended = false;

      /** Hands the batches to the store, in order; the promise of the last one still pending. */
      const perform = (batches: readonly ReplicaBatch[]): Promise<void> | undefined => {
        for (const batch of batches) {
          const result = store.commit(batch);
          if (result === undefined) continue;
          lastCommit = result;
          result.catch((error: unknown) => subscriber.error(error));
        }
        return lastCommit;
      };
      const save = (): Promise<void> | undefined => {
        const batch = flush(state);
        return batch === undefined ? lastCommit : perform([batch]);
      };

      const finish = (then: () => void): void => {
        ended = true;
        let pending: Promise<void> | undefined;
        try {
          pending = save();
        } catch (error) {
          subscriber.error(error);
          return;
        }
        if (pending === undefined) then();
        else pending.then(then, (error: unknown) => subscriber.error(error));
      };

      for (const change of opening) subscriber.next(change);

      // Straight from syncrepl(), entries come with their records: the store keeps them as they are.
      const subscription = subscribeFor(subscriber, withEntryRecords(source) ?? source, {
        next: (message) => {
          let step: Step;
          try {
            step = apply(state, message);
            for (const warning of step.warnings) logger.warn?.(warning);
            perform(step.batches);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          for (const change of step.changes) subscriber.next(change);
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
          save()?.catch((error: unknown) =>
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
  return rx().defer(() => connect(store.cookie).pipe(replicate({ ...options, store })));
}
