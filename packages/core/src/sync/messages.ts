/**
 * The protocol-level stream: what the wire said, one message per LDAP PDU or Sync Info
 * value (RFC 4533 §2.5, §3.2). The replica layer (later) turns these into `Change`s.
 *
 * Every variant is discriminated on `type`, so a `switch (msg.type)` narrows to the
 * fields that variant has.
 */
import type { AttributeValue, Attributes } from '../protocol/attributes.js';
import type { SyncState } from '../protocol/controls.js';

// The wire's own types live in the protocol layer, which this one stands on; they are part of
// the message model, and exported from the package, as they always were.
export type { AttributeValue, Attributes, SyncState };

interface EntryMessageBase {
  /** The entry's DN as sent by the server. */
  dn: string;
  /** entryUUID from the Sync State control, in RFC 4122 text form (lower case). */
  entryUUID: string;
  /** A cookie carried by the Sync State control, if any (RFC 4533 §2.3). */
  cookie?: string;
}

/** An entry that is present and unchanged (refresh present phase, RFC 4533 §3.4.1). */
export interface PresentMessage extends EntryMessageBase {
  type: 'present';
  attributes: Attributes;
}
/** An entry added to the content, or (during a refresh) changed since the cookie. */
export interface AddMessage extends EntryMessageBase {
  type: 'add';
  attributes: Attributes;
}
/** An entry modified (persist stage). Carries the full entry, not a delta (RFC 4533 §3.4.2). */
export interface ModifyMessage extends EntryMessageBase {
  type: 'modify';
  attributes: Attributes;
}
/** An entry deleted from the content, or no longer matching the search. */
export interface DeleteMessage extends EntryMessageBase {
  type: 'delete';
}

/** Sync Info newcookie (RFC 4533 §2.5): the position advanced, nothing else to apply. */
export interface CookieMessage {
  type: 'cookie';
  cookie: string;
}
/**
 * Sync Info refreshDelete / refreshPresent (RFC 4533 §2.5): the end of a delete or present
 * phase. After a present phase (`refreshPresent`), entries not presented are gone.
 */
export interface RefreshPhaseMessage {
  type: 'refreshDelete' | 'refreshPresent';
  /** TRUE: the refresh stage is complete and the persist stage (if any) follows. */
  refreshDone: boolean;
  cookie?: string;
}
/**
 * Sync Info syncIdSet (RFC 4533 §2.5, §3.4.3): a set of entryUUIDs that are deleted
 * (`refreshDeletes: true`) or present (`refreshDeletes: false`).
 */
export interface SyncIdSetMessage {
  type: 'syncIdSet';
  refreshDeletes: boolean;
  entryUUIDs: string[];
  cookie?: string;
}
/**
 * SearchResultDone with the Sync Done control (RFC 4533 §2.4): the end of a refreshOnly
 * search. `refreshDeletes: false` means a present phase was used, so entries not
 * presented are gone.
 */
export interface DoneMessage {
  type: 'done';
  refreshDeletes: boolean;
  cookie?: string;
}
/**
 * Emitted only in resilient mode (`reconnect`) when the server answered
 * e-syncRefreshRequired (4096, RFC 4533 §3.2) or rejected the cookie: the search is
 * restarted without a cookie, and what follows is a full reload. Consumers must purge
 * entries that are not seen again before the next refresh completes.
 */
export interface ResetMessage {
  type: 'reset';
  reason: 'refreshRequired';
}

export type EntryMessage = PresentMessage | AddMessage | ModifyMessage | DeleteMessage;
export type SyncMessage =
  EntryMessage | CookieMessage | RefreshPhaseMessage | SyncIdSetMessage | DoneMessage | ResetMessage;

/** Looks up an attribute regardless of the case of its name (LDAP names are case-insensitive). */
export function getAttribute(attributes: Attributes, name: string): AttributeValue[] | undefined {
  const direct = attributes[name];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const key of Object.keys(attributes)) {
    if (key.toLowerCase() === lower) return attributes[key];
  }
  return undefined;
}
