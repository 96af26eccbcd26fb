/**
 * The one internal helper behind the stateless change operators (`unfoldRenames`,
 * `keepEntries`, `pickAttributes`): each change becomes zero, one or several changes, emitted in
 * order. Not exported from the package.
 */
import { rx } from '../rx.js';
import type { MonoTypeOperatorFunction } from 'rxjs';
import type { Change } from '../replica/changes.js';
import { subscribeFor } from '../replica/subscribeFor.js';

/** What a projection returns: nothing (drop), one change, or several in order. */
export type ProjectedChange = Change | readonly Change[] | undefined;

export function mapChanges(project: (change: Change) => ProjectedChange): MonoTypeOperatorFunction<Change> {
  return (source) =>
    new (rx().Observable)<Change>((subscriber) =>
      subscribeFor(subscriber, source, {
        next: (change) => {
          let projected: ProjectedChange;
          try {
            projected = project(change);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (projected === undefined) return;
          if (!isList(projected)) {
            subscriber.next(projected);
            return;
          }
          for (const out of projected) subscriber.next(out);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}

// Array.isArray does not narrow a readonly array type.
function isList(projected: Change | readonly Change[]): projected is readonly Change[] {
  return Array.isArray(projected);
}
