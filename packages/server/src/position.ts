/**
 * Positions in the directory, as OpenLDAP writes them: a CSN set, one CSN per serverID (the
 * `csn=` field of a syncrepl cookie). Every change in an OpenLDAP directory carries a CSN
 * (`YYYYmmddHHMMSS.uuuuuuZ#count#sid#mod`) that is the same on every provider and replica, and
 * each serverID's changes reach every server in CSN order. So a CSN set is a position that
 * means the same thing on any server instance, whichever provider or replica it follows: that is
 * what a resume cookie carries between instances (see resume.ts).
 *
 * A position here is a *floor*: every change whose CSN it covers is reflected in the state it
 * describes. The state may hold a few more (a refresh's entries come before its cookie).
 */
import { parseCookie } from '@syncrepl-rx/core/internal';

/** serverID (3 lower-case hex digits) → the newest CSN of that serverID covered. */
export type Position = ReadonlyMap<string, string>;

/** A CSN in the lower-case form positions hold (hex digits and the `Z` alike). */
const CSN = /^\d{14}\.\d{6}z#[0-9a-f]{6}#([0-9a-f]{3})#[0-9a-f]{6}$/;
/** More serverIDs than this in one position is not a directory we can carry in a cookie. */
export const MAX_POSITION_SIDS = 16;

/** The position of an LDAP cookie (its CSN set); undefined for a cookie of another format. */
export function positionOfCookie(cookie: string | undefined): Position | undefined {
  if (cookie === undefined) return undefined;
  const parsed = parseCookie(cookie);
  if (!parsed || parsed.csns.size === 0) return undefined;
  const out = new Map<string, string>();
  for (const [sid, csn] of parsed.csns) out.set(sid, csn.toLowerCase());
  return out;
}

/** The serverID of a CSN, or undefined when it is not an OpenLDAP 2.4+ CSN. */
export function sidOfCsn(csn: string): string | undefined {
  return CSN.exec(csn.toLowerCase())?.[1];
}

/** `csn;csn;…` sorted by serverID: the compact form carried in resume cookies and change logs. */
export function formatPosition(p: Position): string {
  return [...p.keys()]
    .sort()
    .map((sid) => p.get(sid)!)
    .join(';');
}

/** The inverse of formatPosition; undefined for anything else (never trusted further). */
export function parsePosition(text: string): Position | undefined {
  if (text === '') return undefined;
  const parts = text.split(';');
  if (parts.length > MAX_POSITION_SIDS) return undefined;
  const out = new Map<string, string>();
  for (const csn of parts) {
    const m = CSN.exec(csn);
    if (!m || out.has(m[1]!)) return undefined;
    out.set(m[1]!, csn);
  }
  return out;
}

/** Whether the change with CSN `csn` is covered by `p` (its serverID's CSN in `p` is not older). */
export function covers(p: Position, csn: string): boolean {
  const sid = sidOfCsn(csn);
  if (sid === undefined) return false;
  const mine = p.get(sid);
  return mine !== undefined && mine >= csn.toLowerCase();
}

/** Whether `a` covers every change `b` covers (for each serverID of `b`, `a`'s CSN is not older). */
export function coversAll(a: Position, b: Position): boolean {
  for (const [sid, csn] of b) {
    const mine = a.get(sid);
    if (mine === undefined || mine < csn) return false;
  }
  return true;
}

/** The CSN that `next` has and `previous` lacks (the change that moved one serverID on), if exactly one. */
export function advancedCsn(previous: Position | undefined, next: Position): string | undefined {
  let found: string | undefined;
  for (const [sid, csn] of next) {
    const before = previous?.get(sid);
    if (before !== undefined && before >= csn) continue;
    if (found !== undefined) return undefined;
    found = csn;
  }
  return found;
}

/** The position that covers everything `a` covers and `csn` (or `b`, a position) too. */
export function merged(a: Position, b: Position | string): Position {
  const out = new Map(a);
  const add = (csn: string) => {
    const c = csn.toLowerCase();
    const sid = sidOfCsn(c);
    if (sid === undefined) return;
    const mine = out.get(sid);
    if (mine === undefined || mine < c) out.set(sid, c);
  };
  if (typeof b === 'string') add(b);
  else for (const csn of b.values()) add(csn);
  return out;
}

/** When the change of a CSN was made, in ms since the epoch (the provider's clock), if it is one. */
export function csnTimeMs(csn: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})z#/i.exec(csn);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, us] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) + us! / 1000;
}
