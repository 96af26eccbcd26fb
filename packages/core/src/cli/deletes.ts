/**
 * The changes `syncrepl-rx tail` prints without --store (./main.ts): replicate() over an in-memory
 * replica, plus the deletes it cannot place, as UnknownDelete.
 */
import type { Observable } from 'rxjs';
import { rx } from '../rx.js';
import { withEntryRecords } from '../sync/syncrepl.js';
import type { SyncMessage } from '../sync/messages.js';
import type { Change } from '../replica/changes.js';
import { replicate, type ReplicateOptions } from '../replica/replicate.js';
import type { UnknownDelete } from './format.js';

/**
 * replicate() for a run without --store, plus the deletes it cannot place: a delete (or a
 * syncIdSet of deleted entryUUIDs) for an entry its in-memory replica never held, which happens
 * after a resume from --cookie-file. They come out as UnknownDelete, after the changes of the
 * same message, with the DN when the message had one.
 */
export function replicateTellingDeletes(
  source: Observable<SyncMessage>,
  options: ReplicateOptions,
): Observable<Change | UnknownDelete> {
  const { Observable, Subject } = rx();
  return new Observable<Change | UnknownDelete>((subscriber) => {
    const input = new Subject<SyncMessage>();
    const placed = new Set<string>();
    const inner = input.pipe(replicate(options)).subscribe({
      next: (change) => {
        if (change.type === 'delete') placed.add(change.entryUUID);
        subscriber.next(change);
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    // Straight from syncrepl(), entries keep their records on the way (see withEntryRecords).
    const outer = (withEntryRecords(source) ?? source).subscribe({
      next: (message) => {
        if (placed.size > 0) placed.clear();
        input.next(message);
        const deleted: [string, string | undefined][] =
          message.type === 'delete'
            ? [[message.entryUUID, message.dn]]
            : message.type === 'syncIdSet' && message.refreshDeletes
              ? message.entryUUIDs.map((u) => [u, undefined])
              : [];
        for (const [entryUUID, dn] of deleted) {
          if (!placed.has(entryUUID)) {
            subscriber.next({ type: 'unknownDelete', entryUUID, ...(dn ? { dn } : {}) });
          }
        }
      },
      error: (err: unknown) => input.error(err),
      complete: () => input.complete(),
    });
    return () => {
      outer.unsubscribe();
      inner.unsubscribe();
    };
  });
}
