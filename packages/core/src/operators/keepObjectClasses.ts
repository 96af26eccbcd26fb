import type { MonoTypeOperatorFunction } from 'rxjs';
import type { Change, Entry } from '../replica/changes.js';
import { getAttribute } from '../sync/messages.js';
import { keepEntries } from './keepEntries.js';

/**
 * Keeps the changes of entries that have at least one of the given object classes (compared
 * case-insensitively, as LDAP does). An entry that gains or loses a matching class becomes an
 * `add` or a `delete` for the consumer, like every filter built on `keepEntries`.
 *
 * Put it before `pickAttributes`, which may drop `objectClass`.
 *
 * @example
 * changes$.pipe(keepObjectClasses('inetOrgPerson')).subscribe((c) => console.log(c.type, c.type === 'add' ? c.dn : ''));
 * // Logs: add uid=ann,ou=people,dc=example   (groups and OUs are left out)
 *
 * @param objectClasses The object classes to keep, e.g. `'inetOrgPerson'`.
 * @return A function that returns an Observable of the changes of matching entries.
 */
export function keepObjectClasses(...objectClasses: string[]): MonoTypeOperatorFunction<Change> {
  const wanted = new Set(objectClasses.map((name) => name.toLowerCase()));
  return keepEntries((entry) => hasObjectClass(entry, wanted));
}

const utf8 = new TextDecoder();

function hasObjectClass(entry: Entry, wanted: ReadonlySet<string>): boolean {
  for (const value of getAttribute(entry.attributes, 'objectClass') ?? []) {
    const name = typeof value === 'string' ? value : utf8.decode(value);
    if (wanted.has(name.toLowerCase())) return true;
  }
  return false;
}
