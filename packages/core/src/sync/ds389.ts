/**
 * What a search resumed from a native 389 Directory Server cookie needs that slapd's does not:
 * the retro changelog's start checked against the cookie (`checkRetroChangelog`), the requested
 * attributes applied to entries ns-slapd sends whole (`attributeSelection`, `keepRequested`), and
 * the catch-up search between the refresh and the persist stage (`startCatchUp`, `caughtUp`).
 * SyncSearch (./search.ts) calls these; see docs/research-389ds.md.
 */
import { withTimeout, type LdapConnection } from '../protocol/connection.js';
import type { LdapResponse } from '../protocol/pdu.js';
import { decodeRecord } from '../protocol/record.js';
import {
  SYNC_INFO_OID,
  SYNC_STATE_OID,
  decodeSyncInfoValue,
  decodeSyncStateValue,
} from '../protocol/controls.js';
import { LdapResultError, RefreshRequiredError } from '../errors.js';
import type { Attributes, SyncMessage } from './messages.js';

/**
 * 389-ds serves any cookie whose change number it has reached, even when its retro changelog no
 * longer holds the changes after it (sync_cookie_isvalid: "Accept any state request for now"):
 * what was trimmed would be lost without a word. Its root DSE says where the changelog starts; a
 * cookie before that needs the reload that 4096 asks for (RefreshRequiredError).
 */
export async function checkRetroChangelog(
  conn: LdapConnection,
  cookie: string,
  timeout: number,
): Promise<void> {
  const dse = await withTimeout(
    conn.readBase('', ['firstchangenumber']),
    timeout,
    conn.endpoint,
    'reading the root DSE',
    () => conn.destroy(),
  );
  const rootDse =
    dse === undefined
      ? {}
      : (dse.attributes ?? (dse.record === undefined ? {} : decodeRecord(dse.record).attributes));
  const value = Object.entries(rootDse).find(([name]) => name.toLowerCase() === 'firstchangenumber')?.[1][0];
  const first = Number(typeof value === 'string' ? value : undefined);
  const at = Number(cookie.slice(cookie.lastIndexOf('#') + 1));
  if (Number.isSafeInteger(first) && first > 0 && at + 1 < first) {
    throw new RefreshRequiredError(
      `the 389-ds retro changelog starts at change ${first}, after the cookie's change ${at}: changes are lost`,
    );
  }
}

/**
 * 389-ds sends the entries of a refresh from its cookie with every user attribute, whatever the
 * search asked for (sync_send_entry_from_changelog passes no attribute list): keep what was asked
 * (`keep`, from attributeSelection), as a search without a cookie does. When that drops any, the
 * wire's record no longer describes the entry: it goes on as an ordinary one (no record).
 */
export function keepRequested(
  record: string | undefined,
  attributes: Attributes | undefined,
  keep: (name: string) => boolean,
): { record: string | undefined; attributes: Attributes | undefined } {
  const all = record === undefined ? (attributes ?? {}) : decodeRecord(record).attributes;
  const names = Object.keys(all);
  const kept = names.filter(keep);
  if (kept.length === names.length) return { record, attributes };
  const picked: Attributes = {};
  for (const name of kept) picked[name] = all[name]!;
  return { record: undefined, attributes: picked };
}

/**
 * 389-ds's catch-up. ns-slapd reads the change number its refresh goes up to (the cookie of the
 * refresh's end) before it registers the search for the persist stage (sync_cookie_create, then
 * sync_persist_add, in sync_srch_refresh_pre_search): a change committed between the two is in
 * neither, and the persist cookies that follow jump over it. So after the refresh of a search
 * resumed from a native cookie, a refreshOnly search from the refresh's cookie runs on the same
 * connection (it is registered by then, so the catch-up covers the gap), while the persist
 * stage's messages are held back. Its changes are emitted before the end of the refresh, except
 * for entries the held persist messages carry (those are newer there: the persist stage has
 * every change of theirs since it registered); then the refresh's end and the held messages
 * follow, in order. The catch-up's own cookies are not passed on: the refresh's end keeps its
 * cookie, which the persist cookies then advance.
 *
 * This starts the catch-up search on `conn`: `encode` writes its request (refreshOnly, from the
 * refresh's cookie), `toMessage` turns its entries into messages; `done` gets what it caught,
 * `fail` whatever went wrong (a thrown error included).
 */
export function startCatchUp(
  conn: LdapConnection,
  encode: (messageId: number) => Buffer,
  toMessage: (res: LdapResponse & { kind: 'searchEntry' }) => SyncMessage,
  done: (caught: SyncMessage[]) => void,
  fail: (err: unknown) => void,
): void {
  const caught: SyncMessage[] = [];
  const id = conn.request(encode, (res) => {
    try {
      switch (res.kind) {
        case 'searchEntry':
          caught.push(toMessage(res));
          return;
        case 'intermediate': {
          if (res.name !== SYNC_INFO_OID || !res.value) return;
          const info = decodeSyncInfoValue(res.value);
          if (info.kind === 'syncIdSet' && info.refreshDeletes)
            caught.push({ type: 'syncIdSet', refreshDeletes: true, entryUUIDs: info.entryUUIDs });
          return;
        }
        case 'searchDone': {
          conn.release(id);
          const { resultCode, diagnosticMessage } = res.result;
          if (resultCode === 4096) throw new RefreshRequiredError(diagnosticMessage);
          if (resultCode !== 0) {
            throw new LdapResultError(
              resultCode,
              'the catch-up search after a 389-ds refresh',
              diagnosticMessage,
            );
          }
          done(caught);
          return;
        }
        default:
          return;
      }
    } catch (err) {
      fail(err);
    }
  });
}

/**
 * What the catch-up `caught` adds before the refresh's end: all of it but the entries the `held`
 * persist responses carry (newer there).
 */
export function caughtUp(caught: readonly SyncMessage[], held: readonly LdapResponse[]): SyncMessage[] {
  const newer = new Set<string>();
  for (const res of held) {
    if (res.kind !== 'searchEntry') continue;
    const control = res.controls.find((c) => c.oid === SYNC_STATE_OID);
    if (control?.value) newer.add(decodeSyncStateValue(control.value).entryUUID);
  }
  const out: SyncMessage[] = [];
  for (const m of caught) {
    if (m.type === 'syncIdSet') {
      const entryUUIDs = m.entryUUIDs.filter((u) => !newer.has(u));
      if (entryUUIDs.length > 0) out.push({ ...m, entryUUIDs });
    } else if ('entryUUID' in m && !newer.has(m.entryUUID)) {
      out.push(m);
    }
  }
  return out;
}

/**
 * The attributes a search for `requested` returns, as a predicate on attribute descriptions
 * (`cn`, `cn;lang-en`: the type before any option, compared case-insensitively); undefined when
 * the list does not name them all: empty, or with `*` (all user attributes) or `+` (operational).
 * `1.1` alone asks for none. Aliases and supertypes (`commonName`, `name`) are not resolved, so a
 * list using them keeps only the names as written; this is only applied where a server ignored
 * the list (389-ds, see `keepRequested`).
 */
export function attributeSelection(requested: readonly string[]): ((name: string) => boolean) | undefined {
  if (requested.length === 0 || requested.some((a) => a === '*' || a === '+')) return undefined;
  const wanted = new Set(requested.filter((a) => a !== '1.1').map((a) => a.split(';')[0]!.toLowerCase()));
  return (name) => wanted.has(name.split(';')[0]!.toLowerCase());
}
