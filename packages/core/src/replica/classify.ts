/**
 * The classifier: what replacing one version of an entry by another means, as a `Change`.
 *
 * One rule for every place that compares two versions of an entry: the replica (replicate() and
 * its state machine, machine.ts), which compares what the wire sent with what it holds, and
 * `foldRenames` (../operators), which compares the entry of a `delete` with the entry of the `add`
 * that follows it. It lives in the replica layer, the lower of the two (docs/design.md "Layers").
 *
 *   before      after       change
 *   ─────────   ─────────   ──────────────────────────────────────────────
 *   none        none        nothing
 *   none        entry       add
 *   entry       none        delete
 *   entry       other DN    rename (with the attribute diff, maybe empty)
 *   entry       same DN     modify (with the diff), or nothing when the diff is empty
 *
 * DNs compare as strings, exactly as the server spelled them; attributes by `diffAttributes`
 * (diff.ts: names case-insensitively, values byte-exactly, as sets).
 */
import type { Entry, EntryChange } from './changes.js';
import { diffAttributes, isEmptyDiff } from './diff.js';

/**
 * Classifies the change of the entry `entryUUID` from `old` to `next` (undefined: absent).
 *
 * @example
 * classify('u1', { dn: 'cn=a,dc=x', attributes: { cn: ['a'] } }, { dn: 'cn=b,dc=x', attributes: { cn: ['b'] } });
 * // Logs (as JSON):
 * // { "type": "rename", "entryUUID": "u1", "oldDn": "cn=a,dc=x", "newDn": "cn=b,dc=x", "old": …, "new": …,
 * //   "diff": { "cn": { "added": ["b"], "removed": ["a"] } } }
 *
 * @param entryUUID The entry's entryUUID.
 * @param old The entry before, undefined if there was none.
 * @param next The entry after, undefined if it is gone.
 * @return The change, or undefined when nothing changed.
 */
export function classify(
  entryUUID: string,
  old: Entry | undefined,
  next: Entry | undefined,
): EntryChange | undefined {
  if (old === undefined)
    return next === undefined ? undefined : { type: 'add', entryUUID, dn: next.dn, entry: next };
  if (next === undefined) return { type: 'delete', entryUUID, dn: old.dn, old };
  const diff = diffAttributes(old.attributes, next.attributes);
  if (old.dn !== next.dn) {
    return { type: 'rename', entryUUID, oldDn: old.dn, newDn: next.dn, old, new: next, diff };
  }
  if (isEmptyDiff(diff)) return undefined;
  return { type: 'modify', entryUUID, dn: next.dn, old, new: next, diff };
}
