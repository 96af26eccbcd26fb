import type { MonoTypeOperatorFunction } from 'rxjs';
import type { Change, Entry } from '../replica/changes.js';
import { mapChanges } from './mapChanges.js';

/**
 * Keeps the changes of the entries that satisfy `predicate`, as a consumer who only sees those
 * entries would see them. An entry that stops satisfying it (a modify or rename whose `old` did
 * and whose `new` does not) becomes a `delete` of the old entry; one that starts satisfying it
 * becomes an `add` of the new one. `ready` and `reset` pass through.
 *
 * `predicate` must depend on the entry only (it is called on old and new states of one entry).
 *
 * @example
 * changes$.pipe(keepEntries((entry) => entry.dn.endsWith(',ou=people,dc=example')))
 *   .subscribe((c) => console.log(c.type));
 * // A person moved out of ou=people arrives as a rename upstream, and here:
 * // Logs: delete
 *
 * @param predicate Whether an entry is one the consumer sees.
 * @return A function that returns an Observable of the changes of the kept entries.
 */
export function keepEntries(predicate: (entry: Entry) => boolean): MonoTypeOperatorFunction<Change> {
  return mapChanges((change) => {
    switch (change.type) {
      case 'add':
        return predicate(change.entry) ? change : undefined;
      case 'delete':
        return predicate(change.old) ? change : undefined;
      case 'modify':
      case 'rename': {
        const before = predicate(change.old);
        const after = predicate(change.new);
        if (before && after) return change;
        if (before) {
          return { type: 'delete', entryUUID: change.entryUUID, dn: change.old.dn, old: change.old };
        }
        if (after) {
          return { type: 'add', entryUUID: change.entryUUID, dn: change.new.dn, entry: change.new };
        }
        return undefined;
      }
      default:
        return change;
    }
  });
}
