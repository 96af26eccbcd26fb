import { rx } from '../rx.js';
import type { MonoTypeOperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import type { Change, DeleteChange } from '../replica/changes.js';
import { classify } from '../replica/classify.js';
import { subscribeFor } from '../replica/subscribeFor.js';

export interface FoldRenamesConfig {
  /**
   * How long (ms) a `delete` waits for the `add` that would make it a rename, when nothing else
   * arrives. Default 50. `Infinity`: wait for the next change, a `ready`, completion or error.
   */
  within?: number;
  /** Schedules the wait. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** How long a delete waits for its add by default, in ms. */
export const FOLD_RENAMES_WITHIN = 50;

/**
 * Folds a `delete` immediately followed by an `add` of the same entryUUID into one `rename` (old
 * from the delete, new from the add, with the attribute diff): for change streams that arrive
 * unfolded, such as the SSE stream contract (docs/stream-contract.md §E5: a rename is a delete then
 * an add). If both name the same DN it is a `modify` instead, or nothing when the entry is
 * unchanged: the replica's own classifier (replica/classify.ts) decides, on the delete's `old`
 * entry and the add's `entry`.
 *
 * To know that a delete is not followed by its add, the operator holds it back until the next
 * change arrives (a `ready` or `reset` releases it too), the source completes or errors, or
 * `within` ms pass. The trade-off: on an idle live stream a delete reaches the consumer up to
 * `within` ms late; with a window too short for the source, a rename arrives unfolded (a delete
 * then an add), which is still correct, only less informative. Nothing is ever dropped.
 *
 * @example
 * of<Change>(
 *   { type: 'delete', entryUUID: 'u1', dn: 'cn=a,dc=x', old },
 *   { type: 'add', entryUUID: 'u1', dn: 'cn=b,dc=x', entry },
 *   { type: 'delete', entryUUID: 'u2', dn: 'cn=c,dc=x', old: other },
 * )
 *   .pipe(foldRenames())
 *   .subscribe((c) => console.log(c.type));
 * // Logs:
 * // rename
 * // delete
 *
 * @param config The wait for the add, and its scheduler.
 * @return A function that returns an Observable of the changes, with renames folded.
 */
export function foldRenames(config: FoldRenamesConfig = {}): MonoTypeOperatorFunction<Change> {
  const within = config.within ?? FOLD_RENAMES_WITHIN;
  const scheduler = config.scheduler ?? rx().asyncScheduler;

  return (source) =>
    new (rx().Observable)<Change>((subscriber) => {
      let held: DeleteChange | undefined;
      let timer: Subscription | undefined;

      /** Takes the held delete out of the state (and stops its timer) before it is emitted. */
      const release = (): DeleteChange | undefined => {
        const change = held;
        held = undefined;
        timer?.unsubscribe();
        timer = undefined;
        return change;
      };

      const hold = (change: DeleteChange): void => {
        held = change;
        if (Number.isFinite(within)) {
          timer = scheduler.schedule(() => {
            const expired = release();
            if (expired !== undefined) subscriber.next(expired);
          }, within);
        }
      };

      const subscription = subscribeFor(subscriber, source, {
        next: (change) => {
          const previous = release();
          const out: Change[] = [];
          if (previous !== undefined && change.type === 'add' && change.entryUUID === previous.entryUUID) {
            const folded = classify(change.entryUUID, previous.old, change.entry);
            if (folded !== undefined) out.push(folded);
          } else {
            if (previous !== undefined) out.push(previous);
            // State before emitting: a consumer of `previous` may synchronously push the add.
            if (change.type === 'delete') hold(change);
            else out.push(change);
          }
          for (const emitted of out) subscriber.next(emitted);
        },
        // A delete that arrived before the end is a fact: it is not lost to an error.
        error: (error: unknown) => {
          const last = release();
          if (last !== undefined) subscriber.next(last);
          subscriber.error(error);
        },
        complete: () => {
          if (subscriber.closed) return;
          const last = release();
          if (last !== undefined) subscriber.next(last);
          subscriber.complete();
        },
      });

      return () => {
        subscription.unsubscribe();
        release();
      };
    });
}
