/**
 * Entry records: the hand-off of the wire's bytes from `syncrepl()` to `replicate()`.
 *
 * With `entryRecords` (or when `replicate()` subscribes to a `syncrepl()` Observable directly,
 * through its record-carrying twin), entry messages carry their record (stores/codec.ts), so a
 * store keeps the bytes the wire brought instead of encoding the decoded entry again. Such a
 * message is an EntryRecordMessage: immutable, its attributes decoded from the record on first
 * read and frozen, so the record always describes the entry the message shows. `entryRecordOf()`
 * answers only for such a message: a copy (`{ ...m, attributes }`) is an ordinary message.
 */
import type { Observable } from 'rxjs';
import { decodeRecord } from '../protocol/record.js';
import type { Attributes, SyncMessage } from './messages.js';

/** The key of a `syncrepl()` Observable's record-carrying twin (see `withEntryRecords`). */
export const WITH_RECORDS = Symbol('syncrepl-rx.withRecords');
const ENTRY_RECORD = Symbol('syncrepl-rx.entryRecord');

/**
 * An entry message that carries its record. Its attributes are decoded only if something asks
 * (replicate() does not), by a getter on the prototype: a getter in an object literal would be a
 * new closure per message, which V8 keeps alive from the old generation until a full collection
 * (see LazyAttributes in stores/codec.ts).
 */
export class EntryRecordMessage {
  readonly cookie?: string;
  readonly [ENTRY_RECORD]: string;
  #attributes: Attributes | undefined;

  constructor(
    readonly type: 'add' | 'modify' | 'present',
    readonly dn: string,
    readonly entryUUID: string,
    cookie: string | undefined,
    record: string,
  ) {
    if (cookie !== undefined) this.cookie = cookie;
    this[ENTRY_RECORD] = record;
    Object.freeze(this);
  }

  get attributes(): Attributes {
    if (this.#attributes === undefined) {
      const attributes = decodeRecord(this[ENTRY_RECORD]).attributes;
      for (const values of Object.values(attributes)) Object.freeze(values);
      this.#attributes = Object.freeze(attributes);
    }
    return this.#attributes;
  }

  /** As an ordinary message: `attributes` is a getter, which JSON would not see. */
  toJSON(): object {
    const { type, dn, entryUUID, cookie, attributes } = this;
    return cookie === undefined
      ? { type, dn, entryUUID, attributes }
      : { type, dn, entryUUID, cookie, attributes };
  }
}

/** The record of an entry message as `syncrepl()` emitted it with records; undefined otherwise. */
export function entryRecordOf(message: SyncMessage): string | undefined {
  return message instanceof EntryRecordMessage ? message[ENTRY_RECORD] : undefined;
}

/** The record-carrying twin of a `syncrepl()` Observable; undefined for any other Observable. */
export function withEntryRecords(source: Observable<SyncMessage>): Observable<SyncMessage> | undefined {
  const twin = (source as { [WITH_RECORDS]?: unknown })[WITH_RECORDS];
  return typeof twin === 'function' ? (twin as () => Observable<SyncMessage>)() : undefined;
}
