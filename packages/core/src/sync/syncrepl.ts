/**
 * `syncrepl(options)`: an LDAP Content Synchronization search (RFC 4533) as a cold Observable.
 *
 * Each subscription opens its own connection, binds, and sends one search carrying the Sync
 * Request control. Messages are emitted as the server sends them (see ./messages.ts):
 *
 *   connect ─► [StartTLS] ─► bind ─► search + Sync Request (§2.2)
 *      refresh stage: present/add/modify/delete entries, Sync Info (§2.5) ... refreshDone
 *      refreshOnly:        SearchResultDone + Sync Done (§2.4) ─► complete
 *      refreshAndPersist:  live entries ... until unsubscribe, `stop`, or an error
 *
 * 389 Directory Server: a refreshAndPersist resumed from one of its native cookies can miss
 * changes made while ns-slapd hands over from the refresh to the persist stage; after the refresh,
 * a refreshOnly search from the refresh's cookie catches up on them (see `startCatchUp`).
 *
 * The files of sync/: options.ts (the options, checked), session.ts (the run loop over
 * connections: reconnect, failover, backoff), search.ts (one connection's search and its
 * messages), ds389.ts (389-ds's specifics, the catch-up), idle-probe.ts, entry-records.ts (the
 * record hand-off to replicate()), messages.ts, cookie-store.ts, backoff.ts, flow.ts.
 *
 * Unsubscribing abandons the search (RFC 4511 §4.11), unbinds and closes the socket.
 * `stop` is the graceful way out: it lets a running refresh finish, then ends persist mode with
 * the Cancel operation (RFC 3909), and completes.
 *
 * With `reconnect`, lost connections are retried with exponential backoff and full jitter from
 * the last cookie, and e-syncRefreshRequired (4096, §3.2) restarts without a cookie after a
 * `reset` message.
 *
 * Failover: `url` may list several servers of one directory (providers and replicas). Any
 * retryable failure (refused or lost connection, timeout, busy / unavailable / unwillingToPerform
 * on the search, a silent server found by the idle probe) moves to the next URL, round robin:
 *
 *   A ─lost after a refresh─► B at once ─fails─► C at once ─fails─► (every URL failed once:
 *   backoff) ─► A ...            a completed refresh starts a new round and resets the backoff
 *
 * The same cookie resumes on any of them: the request never carries the sid of the server that
 * sent the cookie (requestCookie in protocol/cookie.ts, docs/cookies.md).
 */
import type { Observable } from 'rxjs';
import { rx } from '../rx.js';
import { WITH_RECORDS } from './entry-records.js';
import type { SyncMessage } from './messages.js';
import { normalize, type Normalized, type SyncreplOptions } from './options.js';
import { SyncSession } from './session.js';

export type { Logger, SyncMode, SyncStatus, SyncreplOptions } from './options.js';
export { entryRecordOf, withEntryRecords } from './entry-records.js';

/**
 * Runs an RFC 4533 syncrepl search and emits what the server sends, as typed messages.
 *
 * @example
 * syncrepl({ url: 'ldap://127.0.0.1:389', base: 'ou=people,dc=example,dc=com', mode: 'refreshOnly' })
 *   .subscribe((m) => console.log(m.type));
 * // Logs: add, add, ..., done
 */
export function syncrepl(options: SyncreplOptions): Observable<SyncMessage> {
  return Object.assign(session$(options, false), {
    [WITH_RECORDS]: () => session$(options, true),
  });
}

function session$(options: SyncreplOptions, records: boolean): Observable<SyncMessage> {
  return new (rx().Observable)<SyncMessage>((subscriber) => {
    let n: Normalized;
    try {
      n = normalize(options);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    const session = new SyncSession(n, subscriber, records || options.entryRecords === true);
    void session.run();
    return () => session.teardown();
  });
}
