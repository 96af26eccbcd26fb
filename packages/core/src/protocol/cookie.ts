/**
 * Reading OpenLDAP sync cookies, so that a stored cookie never moves backwards, and writing the
 * cookie of a Sync Request so that it can be sent to any server of the directory.
 *
 * A syncCookie is opaque by RFC 4533 §2.1.2. OpenLDAP's syncprov composes it as
 * (slap_compose_sync_cookie in servers/slapd/ldapsync.c):
 *
 *   rid=<3 decimal digits>[,sid=<3 hex digits>],csn=<CSN>[;<CSN>...][,delcsn=<CSN>]
 *
 * with one CSN per serverID (multi-provider replication), sorted by serverID. A CSN is
 * `YYYYmmddHHMMSS.uuuuuuZ#<count 6 hex>#<sid 3 hex>#<mod 6 hex>`: fixed width, so two
 * CSNs compare chronologically as strings. `delcsn` appears in OpenLDAP 2.5+.
 * Cookies of any other shape (other servers, OpenLDAP 2.3's older CSN format) are
 * treated as opaque: we cannot order them, so we never refuse them.
 *
 * `rid` and `sid` are not positions. In a cookie a server sends, `rid` echoes the rid of the
 * request (000 when the request had no cookie) and `sid` is the SENDING server's own serverID
 * (syncprov composes every cookie with `slap_serverID`). In a cookie a consumer sends, `sid` is
 * the CONSUMER's serverID, and syncprov never sends that consumer a change whose CSN, or whose
 * relaying consumer, has that serverID (syncprov_matchops: "don't send ops back to the
 * originator"). So a consumer must never send back the sid it was given: the next server would
 * take that server's own changes for the consumer's and withhold them all. See
 * {@link requestCookie} and docs/cookies.md.
 *
 * Cookie strings hold one character per byte (see controls.ts).
 */

/** The parts of an OpenLDAP cookie. */
export interface OpenLdapCookie {
  /** The replica ID (`rid=`), as written (3 decimal digits). */
  rid?: string;
  /**
   * `sid=`, as written (hex): in a cookie from a server, that server's own serverID; in a
   * request, the consumer's. Never a position (see the top of this file).
   */
  sid?: string;
  /** The context CSN of each serverID: key = the CSN's SID field (3 lower-case hex digits). */
  csns: Map<string, string>;
  /** OpenLDAP 2.5+: the CSN of the last delete the cookie covers (`delcsn=`). */
  delcsn?: string;
}

const CSN = /^\d{14}\.\d{6}Z#[0-9a-f]{6}#([0-9a-f]{3})#[0-9a-f]{6}$/i;
const RID = /^\d{1,3}$/;
const SID = /^[0-9a-f]{1,3}$/i;

/** Whether `s` is an OpenLDAP 2.4+ CSN (`20240101120000.123456Z#000000#001#000000`). */
export function isCsn(s: string): boolean {
  return CSN.test(s);
}

/**
 * Parses an OpenLDAP cookie (`rid=001,sid=002,csn=…;…`). Returns undefined for anything
 * else, which callers must treat as opaque. Strict: an unknown field, a repeated field or
 * a malformed rid, sid or CSN makes the whole cookie opaque. Of two CSNs with the same
 * serverID, the newer is kept.
 */
export function parseCookie(cookie: string): OpenLdapCookie | undefined {
  if (cookie === '') return undefined;
  const parsed: OpenLdapCookie = { csns: new Map() };
  const seen = new Set<string>();
  for (const field of cookie.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) return undefined;
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (seen.has(key)) return undefined;
    seen.add(key);
    switch (key) {
      case 'rid':
        if (!RID.test(value)) return undefined;
        parsed.rid = value;
        break;
      case 'sid':
        if (!SID.test(value)) return undefined;
        parsed.sid = value;
        break;
      case 'csn':
        for (const csn of value.split(';')) {
          const m = CSN.exec(csn);
          if (m === null) return undefined;
          const sid = m[1]!.toLowerCase();
          const known = parsed.csns.get(sid);
          if (known === undefined || compareCsn(csn, known) > 0) parsed.csns.set(sid, csn);
        }
        break;
      case 'delcsn':
        if (!CSN.test(value)) return undefined;
        parsed.delcsn = value;
        break;
      default:
        return undefined;
    }
  }
  if (!seen.has('rid') && !seen.has('csn')) return undefined;
  return parsed;
}

/**
 * Orders two CSNs: negative if `a` is older, 0 if equal, positive if newer. Both must be
 * OpenLDAP 2.4+ CSNs (check with {@link isCsn}); anything else throws a RangeError rather
 * than comparing strings of different formats. Hex fields compare case-insensitively.
 */
export function compareCsn(a: string, b: string): number {
  if (!CSN.test(a) || !CSN.test(b)) {
    throw new RangeError(`Not comparable as CSNs: ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Whether replacing the stored cookie `previous` with `next` keeps the position from
 * moving backwards.
 *
 * - No previous cookie, or either cookie opaque (not OpenLDAP's format): true.
 * - false if any serverID present in both has an older CSN in `next` (an equal CSN is fine),
 *   even when another serverID advanced.
 * - false if `next` lacks a serverID that `previous` has. Decision, from OpenLDAP's own code:
 *   syncprov sends, with each persist-stage change, a cookie holding only that change's CSN
 *   (syncprov_sendresp composes it from the single `opc->sctxcsn`), so in multi-provider
 *   setups such partial cookies are normal; and OpenLDAP's consumer never stores one as is:
 *   syncrepl_updateCookie (servers/slapd/syncrepl.c) merges it SID by SID into its cookie
 *   state, keeping the SIDs the new cookie leaves out ("Don't just dup the provider's
 *   cookie, recreate it"). Storing a partial cookie verbatim would make a resume forget
 *   the other serverIDs' positions, so on its own it does not advance. {@link CookieGuard}
 *   merges such cookies the way OpenLDAP does.
 * - A `next` that adds serverIDs: true.
 */
export function cookieAdvances(previous: string | undefined, next: string): boolean {
  return compareCookies(previous, next) === 'advances';
}

type Verdict = 'advances' | 'partial' | 'backwards';

function compareCookies(previous: string | undefined, next: string): Verdict {
  if (previous === undefined) return 'advances';
  const p = parseCookie(previous);
  const q = parseCookie(next);
  if (p === undefined || q === undefined) return 'advances';
  let dropped = false;
  for (const [sid, csn] of p.csns) {
    const nextCsn = q.csns.get(sid);
    if (nextCsn === undefined) dropped = true;
    else if (compareCsn(nextCsn, csn) < 0) return 'backwards';
  }
  return dropped ? 'partial' : 'advances';
}

/** Writes a cookie the way slap_compose_sync_cookie does: rid, sid, CSNs sorted by serverID, delcsn. */
function composeCookie(c: OpenLdapCookie): string {
  const fields: string[] = [];
  if (c.rid !== undefined) fields.push(`rid=${c.rid}`);
  if (c.sid !== undefined) fields.push(`sid=${c.sid}`);
  const sids = [...c.csns.keys()].sort();
  if (sids.length > 0) fields.push(`csn=${sids.map((s) => c.csns.get(s)!).join(';')}`);
  if (c.delcsn !== undefined) fields.push(`delcsn=${c.delcsn}`);
  return fields.join(',');
}

/**
 * Holds the newest cookie seen and refuses to move it backwards.
 *
 * `offer(next)`:
 * - stores `next` verbatim and returns true when {@link cookieAdvances} says so;
 * - returns false and keeps the current cookie when `next` moves any serverID backwards;
 * - for a partial OpenLDAP cookie (it leaves out serverIDs we hold, and moves none back),
 *   stores the merge OpenLDAP's consumer would make: our CSN for the serverIDs `next`
 *   leaves out, `next`'s CSN for the others, `next`'s rid and sid; returns true. When
 *   either cookie carries a `delcsn` (OpenLDAP 2.5+), whose merge semantics we do not
 *   know, the partial cookie is refused instead (false) and the current one kept: an
 *   older position is safe to resume from (the server replays), a wrong one is not.
 */
export class CookieGuard {
  #current: string | undefined;

  constructor(initial?: string) {
    this.#current = initial;
  }

  get current(): string | undefined {
    return this.#current;
  }

  offer(next: string): boolean {
    const verdict = compareCookies(this.#current, next);
    if (verdict === 'advances') {
      this.#current = next;
      return true;
    }
    if (verdict === 'backwards') return false;
    // 'partial': both parse, as compareCookies found SIDs to compare.
    const p = parseCookie(this.#current!)!;
    const q = parseCookie(next)!;
    if (p.delcsn !== undefined || q.delcsn !== undefined) return false;
    const csns = new Map(p.csns);
    for (const [sid, csn] of q.csns) csns.set(sid, csn);
    this.#current = composeCookie({ rid: q.rid, sid: q.sid, csns });
    return true;
  }
}

/** The largest serverID OpenLDAP accepts (SLAP_SYNC_SID_MAX: the CSN's 3 hex digits). */
export const MAX_SERVER_ID = 0xfff;

/**
 * The cookie to put in a Sync Request (RFC 4533 §2.2) for the position `cookie`, as OpenLDAP's
 * own consumer writes it (do_syncrep1 in servers/slapd/syncrepl.c):
 *
 * - any `sid=` field is removed: in a cookie we received it names the server that sent it, and
 *   sent back it would make the next server withhold every change that originated on (or was
 *   relayed from) that server (syncprov_matchops skips ops "back to the originator");
 * - with `serverId` (a consumer that is itself a member of a multi-provider setup, and writes
 *   with that serverID), `sid=<3 hex digits>` is written after the rid, as slapd's consumer does
 *   ("whenever there are multiple data sources possible, advertise sid"), so that our own
 *   changes are not sent back to us. Without a cookie that is `rid=000,sid=…`: a full refresh
 *   that still names us;
 * - `rid` is kept as the server echoed it (000 for a consumer that started without a cookie):
 *   syncprov only echoes it in its cookies and logs, but ignores a cookie without a rid
 *   altogether ("if parse fails, pretend no cookie was sent" in syncprov_parseCtrl);
 * - everything else (the CSN set, delcsn, unknown fields) is kept verbatim. A cookie that does
 *   not look like OpenLDAP's (no `rid=` or `csn=` field) is returned unchanged.
 *
 * The stored cookie is not changed: this is applied to every request, so a cookie stored with
 * a sid (by an older version, or by OpenLDAP tools) is fixed where it is used.
 *
 * @example
 * requestCookie('rid=000,sid=001,csn=20240101120000.000000Z#000000#001#000000');
 * // 'rid=000,csn=20240101120000.000000Z#000000#001#000000'
 * requestCookie('rid=000,sid=001,csn=20240101120000.000000Z#000000#001#000000', 3);
 * // 'rid=000,sid=003,csn=20240101120000.000000Z#000000#001#000000'
 */
export function requestCookie(cookie: string | undefined, serverId?: number): string | undefined {
  const sid = serverId === undefined ? undefined : `sid=${serverId.toString(16).padStart(3, '0')}`;
  if (cookie === undefined || cookie === '') return sid === undefined ? cookie : `rid=000,${sid}`;
  const fields = cookie.split(',');
  const known = (name: string): boolean => fields.some((f) => f.startsWith(`${name}=`));
  if (!known('rid') && !known('csn')) return cookie;
  const kept = fields.filter((f) => !f.startsWith('sid='));
  if (sid !== undefined) {
    const rid = kept.findIndex((f) => f.startsWith('rid='));
    kept.splice(rid + 1, 0, sid); // after the rid, or first when there is none
  }
  return kept.join(',');
}

/**
 * Whether `cookie` is a native 389 Directory Server cookie (Content Synchronization plugin,
 * sync_cookie2str in ldap/servers/plugins/sync/sync_util.c):
 *
 *   <server signature>#<client signature>#<change number>
 *
 * the server signature being `host:port`, the client signature `bindDN:base:filter`, the change
 * number the last retro-changelog change the cookie covers (decimal). The plugin's
 * OpenLDAP-compatible cookies (`rid=…,csn=…`) are OpenLDAP's format and are not matched.
 */
export function is389DsCookie(cookie: string | undefined): boolean {
  if (cookie === undefined) return false;
  const first = cookie.indexOf('#');
  const last = cookie.lastIndexOf('#');
  return first > 0 && last > first && /^\d+$/.test(cookie.slice(last + 1)) && !cookie.startsWith('rid=');
}
