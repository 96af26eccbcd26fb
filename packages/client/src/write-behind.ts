import {
  Observable,
  asapScheduler,
  from,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';

export interface WriteBehindOptions<T, B, Result> {
  /** A new, empty batch. */
  createBatch: () => B;
  /** Adds one item to a batch (coalescing: a later item for the same key replaces an earlier one). */
  add: (batch: B, item: T) => void;
  /** Writes one batch; the next batch waits until this completes. */
  write: (batch: B) => ObservableInput<Result>;
  /** How long a batch stays open after its first item before it is written. */
  delayMs: number;
  /** Where the delay runs (default: asapScheduler, which uses setTimeout for a delay above 0). */
  scheduler?: SchedulerLike;
}

/**
 * Writes items in batches, one batch at a time: while a write is in flight the next batch
 * collects, so the number of transactions adapts to how fast storage is (a 100k replay becomes a
 * few dozen transactions, a quiet live stream one per change).
 *
 * A batch is written `delayMs` after its first item, or as soon as the write before it completes
 * if items arrived meanwhile (they already waited). When the source completes, what is pending is
 * written at once and the Observable completes after the last write: that is the flush on close.
 *
 * @example
 * changes$.pipe(writeBehind({ createBatch: () => [], add: (b, c) => b.push(c), write: save, delayMs: 25 }))
 *   .subscribe();
 * // 1000 changes arriving within 25 ms: Logs (from save): one call with 1000 changes
 *
 * @param options How to batch and write.
 * @return A function that returns an Observable of the writes' results.
 */
export function writeBehind<T, B, Result>(
  options: WriteBehindOptions<T, B, Result>,
): OperatorFunction<T, Result> {
  const { createBatch, add, write, delayMs } = options;
  const scheduler = options.scheduler ?? asapScheduler;
  return (source) =>
    new Observable<Result>((subscriber) => {
      let pending: B | undefined;
      let timer: Subscription | undefined;
      let writing: Subscription | undefined;
      let sourceDone = false;

      const flush = () => {
        timer?.unsubscribe();
        timer = undefined;
        if (writing || pending === undefined) return;
        const batch = pending;
        // Cleared before writing: items that arrive during the write start the next batch.
        pending = undefined;
        let completed = false;
        const inner = from(write(batch)).subscribe({
          next: (result) => subscriber.next(result),
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            completed = true;
            writing = undefined;
            if (pending !== undefined) flush();
            else if (sourceDone) subscriber.complete();
          },
        });
        if (!completed) writing = inner;
      };

      const sourceSubscription = source.subscribe({
        next: (item) => {
          pending ??= createBatch();
          add(pending, item);
          if (!writing && !timer) timer = scheduler.schedule(flush, delayMs);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          if (writing) return; // the write's completion flushes the rest
          if (pending !== undefined) flush();
          else subscriber.complete();
        },
      });

      return () => {
        sourceSubscription.unsubscribe();
        timer?.unsubscribe();
        writing?.unsubscribe();
      };
    });
}
