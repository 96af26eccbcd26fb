import type { MonoTypeOperatorFunction } from 'rxjs';
import type { Attributes } from '../sync/messages.js';
import type { AttributeDiff, Change, Entry } from '../replica/changes.js';
import { isEmptyDiff } from '../replica/diff.js';
import { mapChanges } from './mapChanges.js';
import { setOwn } from '../protocol/attributes.js';

/**
 * Projects every entry onto the given attributes (names compared case-insensitively), in
 * `entry`, `old`, `new` and `diff` alike. A `modify` whose diff only touched dropped attributes
 * disappears: for this consumer nothing changed. A `rename` always stays (its DN changed).
 *
 * @example
 * changes$.pipe(pickAttributes('cn', 'mail')).subscribe((c) => console.log(c.type));
 * // An upstream modify of `telephoneNumber` only: nothing is logged.
 * // An upstream modify of `mail`:
 * // Logs: modify
 *
 * @param names The attributes to keep.
 * @return A function that returns an Observable of the changes, projected.
 */
export function pickAttributes(...names: string[]): MonoTypeOperatorFunction<Change> {
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const keep = (name: string): boolean => wanted.has(name.toLowerCase());
  const project = (entry: Entry): Entry => ({ dn: entry.dn, attributes: pick(entry.attributes, keep) });

  return mapChanges((change) => {
    switch (change.type) {
      case 'add':
        return { ...change, entry: project(change.entry) };
      case 'delete':
        return { ...change, old: project(change.old) };
      case 'modify': {
        const diff = pick(change.diff, keep);
        if (isEmptyDiff(diff)) return undefined;
        return { ...change, old: project(change.old), new: project(change.new), diff };
      }
      case 'rename':
        return {
          ...change,
          old: project(change.old),
          new: project(change.new),
          diff: pick(change.diff, keep),
        };
      default:
        return change;
    }
  });
}

function pick<T extends Attributes | AttributeDiff>(record: T, keep: (name: string) => boolean): T {
  const picked = {} as T;
  for (const name of Object.keys(record)) {
    if (keep(name)) setOwn(picked, name, record[name]);
  }
  return picked;
}
