/**
 * A rename or a move (a modrdn, with or without a new parent) reaches a collection as two changes
 * of one entryUUID: a `delete` of the old id and `_url`, then an `add` under the new ones (docs/stream-contract.md §E5,
 * SPEC.md S2). `foldRenames()` turns each such pair into one `rename` change, for views that say
 * what happened ("sub1 renamed to sub1-r1", "re-homed from example.org to example.net").
 *
 *   changes$:       delete(u, old) ─ upsert add(u, new) ─ upsert modify(v) ─ delete(w) ·· (holdMs) ··
 *   foldRenames():  rename(u, old → new) ─────────────── upsert modify(v) ────────────── delete(w)
 */
import {
  Observable,
  asapScheduler,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { CollectionChange } from './rebuild.js';

/** A change of a collection, where a delete and add of one entryUUID are one `rename`. */
export type CollectionEdit<Body> =
  | CollectionChange<Body>
  | {
      type: 'rename';
      entryUUID: string;
      /** The body under its new id / `_url`. */
      body: Body;
      /** The body before: its old id / `_url` (and anything else that changed with it). */
      previous: Body;
    };

export interface FoldRenamesOptions {
  /**
   * How long a `delete` waits for the `add` of the same entryUUID, when it does not come in the
   * same burst (the two are sent together, but may arrive in two network reads). Default 100 ms.
   */
  holdMs?: number;
  scheduler?: SchedulerLike;
}

/**
 * Folds each `delete` followed by an `add` of the same entryUUID into one `rename`; every other
 * change passes unchanged, in order. A `delete` is held until the next change (or `holdMs`).
 *
 * @example
 * subscribers.changes$.pipe(foldRenames()).subscribe((edit) => {
 *   if (edit.type === 'rename') console.log(`${edit.previous.id} renamed to ${edit.body.id}`);
 * });
 * // Logs: sub1 renamed to sub1-r1
 *
 * @param options How long a delete waits for its add.
 * @return A function that returns an Observable of edits.
 */
export function foldRenames<Body>(
  options: FoldRenamesOptions = {},
): OperatorFunction<CollectionChange<Body>, CollectionEdit<Body>> {
  const holdMs = options.holdMs ?? 100;
  const scheduler = options.scheduler ?? asapScheduler;
  return (source) =>
    new Observable<CollectionEdit<Body>>((subscriber) => {
      let held: Extract<CollectionChange<Body>, { type: 'delete' }> | undefined;
      let timer: Subscription | undefined;
      const release = () => {
        timer?.unsubscribe();
        timer = undefined;
        const change = held;
        held = undefined;
        if (change) subscriber.next(change);
      };
      const subscription = source.subscribe({
        next: (change) => {
          if (held) {
            if (change.type === 'upsert' && change.syncOp === 'add' && change.entryUUID === held.entryUUID) {
              const previous = held.previous;
              held = undefined;
              timer?.unsubscribe();
              timer = undefined;
              subscriber.next({ type: 'rename', entryUUID: change.entryUUID, body: change.body, previous });
              return;
            }
            release();
          }
          if (change.type === 'delete' && change.cause === 'delete') {
            held = change;
            timer = scheduler.schedule(release, holdMs);
            return;
          }
          subscriber.next(change);
        },
        error: (err: unknown) => {
          release();
          subscriber.error(err);
        },
        complete: () => {
          release();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
