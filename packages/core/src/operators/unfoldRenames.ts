import type { MonoTypeOperatorFunction } from 'rxjs';
import type { Change } from '../replica/changes.js';
import { mapChanges } from './mapChanges.js';

/**
 * Turns each `rename` into a `delete` of the old entry followed by an `add` of the new one, both
 * with the same entryUUID: the shape the SSE stream contract uses for renames and moves (seed
 * 004, "Renames"). Every other change passes through. The inverse of `foldRenames`.
 *
 * @example
 * of<Change>({ type: 'rename', entryUUID: 'u1', oldDn: 'cn=a,dc=x', newDn: 'cn=b,dc=x', old, new: next, diff })
 *   .pipe(unfoldRenames())
 *   .subscribe((c) => console.log(c.type, 'dn' in c ? c.dn : ''));
 * // Logs:
 * // delete cn=a,dc=x
 * // add cn=b,dc=x
 *
 * @return A function that returns an Observable of the changes, with renames unfolded.
 */
export function unfoldRenames(): MonoTypeOperatorFunction<Change> {
  return mapChanges((change) =>
    change.type === 'rename'
      ? [
          { type: 'delete', entryUUID: change.entryUUID, dn: change.oldDn, old: change.old },
          { type: 'add', entryUUID: change.entryUUID, dn: change.newDn, entry: change.new },
        ]
      : change,
  );
}
