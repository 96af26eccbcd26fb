/**
 * Internal: how our operators (`replicate` and those in ../operators) subscribe to their
 * source. Not exported from the package. It lives in the replica layer, the lowest that uses it.
 */
import { rx } from '../rx.js';
import type { Observable, Observer, Subscriber, Subscription } from 'rxjs';

/**
 * Subscribes `observer` to `source` on behalf of `subscriber`, so that `subscriber` closing
 * unsubscribes from `source` at once, even while a synchronous source is still inside its
 * `subscribe` call (`of(…)`, `from(array)`, a Subject emitting in a loop).
 *
 * `new Observable((subscriber) => source.subscribe({ … }))` alone gets this wrong: the source
 * subscription only exists once `subscribe` returns, so a downstream `take(n)` cannot stop a
 * synchronous source, which keeps feeding values into a closed pipe (and, for `replicate`, into
 * the replica). RxJS's own operators get the link from an internal OperatorSubscriber; here it
 * comes from the public API: the teardown registered first fires a `takeUntil` notifier.
 *
 * When the link fires, `observer.complete` is called: check `subscriber.closed` there.
 */
export function subscribeFor<T>(
  subscriber: Subscriber<unknown>,
  source: Observable<T>,
  observer: Partial<Observer<T>>,
): Subscription {
  const { Subject, takeUntil } = rx();
  const closed = new Subject<void>();
  subscriber.add(() => closed.next());
  return source.pipe(takeUntil(closed)).subscribe(observer);
}
