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
import type { Subscriber } from 'rxjs';
import { Observable } from '../rx.js';
import type tls from 'node:tls';
import { LdapConnection, parseLdapUrl, withTimeout, type LdapUrl } from '../protocol/connection.js';
import { encodeSearch, type LdapResponse, type Scope } from '../protocol/pdu.js';
import { decodeRecord } from '../protocol/record.js';
import {
  CANCEL_REQUEST_OID,
  SYNC_DONE_OID,
  SYNC_INFO_OID,
  SYNC_REQUEST_OID,
  SYNC_STATE_OID,
  decodeSyncDoneValue,
  decodeSyncInfoValue,
  decodeSyncStateValue,
  encodeCancelRequestValue,
  encodeSyncRequestValue,
} from '../protocol/controls.js';
import { CookieGuard, MAX_SERVER_ID, is389DsCookie, requestCookie } from '../protocol/cookie.js';
import {
  InvalidOptionsError,
  LdapResultError,
  ProtocolError,
  RefreshRequiredError,
  SyncNotSupportedError,
  SyncreplError,
  TimeoutError,
} from '../errors.js';
import { BACKOFF_DEFAULTS, backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import type { CookieStore } from './cookie-store.js';
import type { FlowControl } from './flow.js';
import type { Attributes, SyncMessage } from './messages.js';

export type SyncMode = 'refreshOnly' | 'refreshAndPersist';

import type { Logger } from '../logger.js';
export type { Logger } from '../logger.js';

/**
 * Where the upstream connection is; reported through `onStatus`. `url` is the server in use
 * (`ldap://host:port` or `ldaps://host:port`, as parsed: never a DN or user information);
 * `attempt` counts the failures since the last completed refresh, and `error` (from attempt 1)
 * is the failure that led to this attempt.
 */
export type SyncStatus =
  | { state: 'connecting'; attempt: number; url: string; error?: SyncreplError }
  | { state: 'refreshing'; url: string }
  | { state: 'persisting'; url: string }
  | { state: 'backoff'; delayMs: number; error: SyncreplError }
  | { state: 'closed'; error?: SyncreplError };

export interface SyncreplOptions {
  /**
   * `ldap://host:port` or `ldaps://host:port`, or several servers of the same directory
   * (multi-provider providers and their replicas): a retryable failure moves to the next one,
   * round robin (see `reconnect`). Without `reconnect`, only the first connection tries them in
   * turn, as ldapsearch does.
   */
  url: string | readonly string[];
  /** Bind DN for a simple bind. Omit (with `password`) for an anonymous bind. */
  bindDN?: string;
  /** Password for the simple bind. Never logged, never put in an error or event. */
  password?: string;
  /** SASL bind instead of simple; only EXTERNAL (the TLS client certificate) is supported. */
  sasl?: { mechanism: 'EXTERNAL'; authzId?: string };
  /** Upgrade an ldap:// connection with StartTLS (RFC 4511 §4.14) before binding. */
  startTLS?: boolean;
  /** TLS options for ldaps:// and StartTLS: `ca`, `cert`, `key`, `servername`, ... */
  tls?: tls.ConnectionOptions;
  base: string;
  /** Default `sub`. */
  scope?: Scope;
  /** RFC 4515 filter. Default `(objectClass=*)`. */
  filter?: string;
  /** Attributes to return. Default: all user attributes. */
  attributes?: readonly string[];
  /**
   * The search's size limit (RFC 4511 §4.5.1.4): a refresh that would return more entries ends
   * with sizeLimitExceeded (an LdapResultError, not retried). Default 0: no limit asked for (the
   * server's own limits still apply).
   */
  sizeLimit?: number;
  /**
   * The search's time limit in seconds (RFC 4511 §4.5.1.5), as the server applies it: a search
   * that runs out ends with timeLimitExceeded (an LdapResultError, not retried). slapd does not
   * cut a persist stage short for it. Default 0: no limit asked for.
   */
  timeLimit?: number;
  /** Attributes whose values always come as `Uint8Array` (names are case-insensitive). */
  binaryAttributes?: readonly string[];
  /** Default `refreshAndPersist`. */
  mode?: SyncMode;
  /** Resume from this cookie; wins over `cookieStore`. */
  cookie?: string;
  /** The reloadHint flag of the Sync Request control (RFC 4533 §2.2). */
  reloadHint?: boolean;
  /**
   * This consumer's own serverID (1..4095), only for a consumer that is itself a member of a
   * multi-provider setup and writes what it receives with that serverID: the request then
   * carries `sid=<3 hex digits>`, and the provider sends none of the changes made with that
   * serverID back to it. Leave it out otherwise: the server's own `sid=` is never sent back
   * (see docs/cookies.md).
   */
  serverId?: number;
  /** Loads the starting cookie and saves every new one, including while the stream is idle. */
  cookieStore?: CookieStore;
  /** Milliseconds allowed for connect, TLS, bind, a Cancel answer and an idle probe's answer. Default 10 000. */
  timeout?: number;
  /**
   * A search silent for this many milliseconds (one to two periods) gets a WhoAmI (RFC 4532) on
   * the same connection; no answer within `timeout` counts the server as lost (TimeoutError). A
   * persistent search on a quiet directory is silent too, so without this a hung server or a
   * dropped network path (no FIN, no RST) goes unnoticed. Not while `flow` is paused. Default
   * 30 000; `false` turns it off.
   */
  idleProbe?: number | false;
  /**
   * Retry retryable failures from the last cookie; `true` uses BACKOFF_DEFAULTS. Off by default.
   * With several URLs, a failure moves to the next URL at once, and the backoff applies when
   * every URL failed in turn; a completed refresh resets it. `maxAttempts` counts consecutive
   * failed connections over all URLs.
   */
  reconnect?: boolean | Partial<BackoffOptions>;
  /** Graceful stop: let the refresh finish, then Cancel (RFC 3909) and complete. */
  stop?: AbortSignal;
  /** Backpressure: while `flow` is paused, the socket is not read (see FlowControl). */
  flow?: FlowControl;
  /**
   * Entry messages keep the entry as the wire brought it (its record) and decode `attributes`
   * only when read (then once, frozen). `replicate()` stores such a record as it is instead of
   * encoding the entry again, whatever operators sit between (`tap`, `filter`, `buffer`...): only
   * a message that is no longer the one `syncrepl()` emitted (a `map` to a new object) is
   * encoded. `replicate()` / `replicateFrom()` turn it on by themselves when they subscribe to a
   * `syncrepl()` Observable directly; set it when something sits between them. Default false.
   */
  entryRecords?: boolean;
  logger?: Logger;
  onStatus?: (status: SyncStatus) => void;
  /** For tests of the backoff: the random source of the jitter. */
  random?: () => number;
}

interface Normalized {
  urls: LdapUrl[];
  o: SyncreplOptions;
  scope: Scope;
  filter: string;
  attributes: readonly string[];
  mode: SyncMode;
  timeout: number;
  backoff: BackoffOptions | undefined;
  binary: Set<string>;
  idleProbe: number | undefined;
}

const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3'; // RFC 4532

function normalize(o: SyncreplOptions): Normalized {
  if (typeof o.base !== 'string')
    throw new InvalidOptionsError('`base` is required: the DN to search under.');
  if (o.cookie !== undefined && !isByteString(o.cookie)) {
    throw new InvalidOptionsError(
      '`cookie` must hold one character per byte (latin1), as syncrepl() emits them.',
    );
  }
  if (o.sasl && o.sasl.mechanism !== 'EXTERNAL') {
    throw new InvalidOptionsError('Only SASL EXTERNAL is supported; use a simple bind otherwise.');
  }
  const mode = o.mode ?? 'refreshAndPersist';
  if (mode !== 'refreshOnly' && mode !== 'refreshAndPersist') {
    throw new InvalidOptionsError('`mode` must be refreshOnly or refreshAndPersist.');
  }
  const backoff =
    o.reconnect === undefined || o.reconnect === false
      ? undefined
      : { ...BACKOFF_DEFAULTS, ...(o.reconnect === true ? {} : o.reconnect) };
  const urls = (typeof o.url === 'string' ? [o.url] : [...(o.url ?? [])]).map((u) => parseLdapUrl(String(u)));
  if (urls.length === 0) throw new InvalidOptionsError('`url` must name at least one server.');
  if (
    o.serverId !== undefined &&
    !(Number.isInteger(o.serverId) && o.serverId >= 1 && o.serverId <= MAX_SERVER_ID)
  ) {
    throw new InvalidOptionsError(
      `\`serverId\` must be an integer from 1 to ${MAX_SERVER_ID}, this consumer's own serverID in a multi-provider setup.`,
    );
  }
  for (const name of ['sizeLimit', 'timeLimit'] as const) {
    const limit = o[name];
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0 && limit <= 0x7fffffff)) {
      throw new InvalidOptionsError(`\`${name}\` must be an integer from 0 (no limit) to 2147483647.`);
    }
  }
  const idleProbe = o.idleProbe === false ? undefined : (o.idleProbe ?? 30_000);
  if (idleProbe !== undefined && !(idleProbe > 0 && Number.isFinite(idleProbe))) {
    throw new InvalidOptionsError('`idleProbe` must be a positive number of milliseconds, or false.');
  }
  return {
    urls,
    o,
    scope: o.scope ?? 'sub',
    filter: o.filter ?? '(objectClass=*)',
    attributes: o.attributes ?? [],
    mode,
    timeout: o.timeout ?? 10_000,
    backoff,
    binary: new Set((o.binaryAttributes ?? []).map((a) => a.toLowerCase())),
    idleProbe,
  };
}

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
  return new Observable<SyncMessage>((subscriber) => {
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

// ---------------------------------------------------------------- entry records

/**
 * With `entryRecords` (or when `replicate()` subscribes to a `syncrepl()` Observable directly,
 * through its record-carrying twin), entry messages carry their record (stores/codec.ts), so a
 * store keeps the bytes the wire brought instead of encoding the decoded entry again. Such a
 * message is an EntryRecordMessage: immutable, its attributes decoded from the record on first
 * read and frozen, so the record always describes the entry the message shows. `entryRecordOf()`
 * answers only for such a message: a copy (`{ ...m, attributes }`) is an ordinary message.
 */
const WITH_RECORDS = Symbol('syncrepl-rx.withRecords');
const ENTRY_RECORD = Symbol('syncrepl-rx.entryRecord');

/**
 * An entry message that carries its record. Its attributes are decoded only if something asks
 * (replicate() does not), by a getter on the prototype: a getter in an object literal would be a
 * new closure per message, which V8 keeps alive from the old generation until a full collection
 * (see LazyAttributes in stores/codec.ts).
 */
class EntryRecordMessage {
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
      const attributes = decodeRecord(Buffer.from(this[ENTRY_RECORD], 'latin1')).attributes;
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

type Outcome = 'complete';

class SyncSession {
  private guard = new CookieGuard();
  private conn: LdapConnection | undefined;
  private searchId: number | undefined;
  private refreshDone = false;
  private cancelSent = false;
  /**
   * Set for a search resumed from a native 389-ds cookie with an explicit attribute list: which
   * attributes an entry may keep (see {@link attributeSelection}).
   */
  private keepAttribute: ((name: string) => boolean) | undefined;
  /**
   * Set for a refreshAndPersist resumed from a native 389-ds cookie, until its refresh ends: that
   * end starts the catch-up search (see {@link startCatchUp}).
   */
  private catchUpOwed = false;
  /** While the catch-up search runs: the persist search's responses, held back in order. */
  private held: LdapResponse[] | undefined;
  private ended = false;
  private readonly abort = new AbortController();
  private saving: Promise<void> = Promise.resolve();
  private finishSearch: ((outcome: Outcome) => void) | undefined;
  private failSearch: ((err: SyncreplError) => void) | undefined;
  /** The server of the current (or last) connection. */
  private url: LdapUrl | undefined;
  /** Whether any message reached the subscriber. */
  private delivered = false;

  constructor(
    private readonly n: Normalized,
    private readonly subscriber: Subscriber<SyncMessage>,
    private readonly records: boolean,
  ) {}

  private get log(): Logger {
    return this.n.o.logger ?? {};
  }

  private status(s: SyncStatus): void {
    this.n.o.onStatus?.(s);
  }

  async run(): Promise<void> {
    const { o, urls } = this.n;
    const onStop = () => this.onStop();
    o.stop?.addEventListener('abort', onStop, { once: true });
    try {
      const initial = o.cookie ?? (o.cookieStore ? await o.cookieStore.load() : undefined);
      if (initial !== undefined) this.guard = new CookieGuard(initial);
      /** The URL in use. */
      let index = 0;
      /** Failed connections since the last completed refresh (over all URLs). */
      let attempt = 0;
      /** URLs that failed in turn since the last completed refresh or backoff. */
      let failedInRound = 0;
      /** Rounds in which every URL failed: the backoff's exponent. */
      let rounds = 0;
      /** The failure that led to the next attempt. */
      let failure: SyncreplError | undefined;
      for (;;) {
        if (this.ended) return;
        const url = urls[index]!;
        try {
          this.status({
            state: 'connecting',
            attempt,
            url: url.href,
            ...(attempt > 0 && failure !== undefined ? { error: failure } : {}),
          });
          await this.runOnce(url, () => {
            // a completed refresh proves the connection healthy again
            attempt = 0;
            failedInRound = 0;
            rounds = 0;
          });
          this.status({ state: 'closed' });
          this.end(() => this.subscriber.complete());
          return;
        } catch (e) {
          if (this.ended) return;
          const err = asSyncreplError(e);
          failure = err;
          this.closeConnection();
          if (err instanceof RefreshRequiredError && this.n.backoff) {
            // §3.2: the cookie cannot be honoured. Start over without it and tell consumers so
            // they can purge what the reload does not bring back.
            this.log.warn?.(`syncrepl: ${url.href} requires a full reload; restarting without a cookie`);
            this.guard = new CookieGuard();
            this.subscriber.next({ type: 'reset', reason: 'refreshRequired' });
            continue;
          }
          const backoff = this.n.backoff;
          if (!err.retryable) throw err;
          if (!backoff) {
            // Without `reconnect`, only the first connection tries the URLs in turn (as
            // ldapsearch -H does), and only until something was delivered.
            if (this.delivered || index + 1 >= urls.length) throw err;
            index++;
            this.log.warn?.(`syncrepl: ${err.message} Trying ${urls[index]!.href} next.`, { code: err.code });
            continue;
          }
          if (attempt + 1 >= backoff.maxAttempts) throw err;
          if (o.stop?.aborted) {
            this.end(() => this.subscriber.complete());
            return;
          }
          attempt++;
          index = (index + 1) % urls.length;
          const next = urls[index]!.href;
          if (++failedInRound < urls.length) {
            // Another server of the directory may well be up: try it at once.
            this.log.warn?.(`syncrepl: ${err.message} Trying ${next} next.`, { code: err.code });
            continue;
          }
          failedInRound = 0;
          const delayMs = backoffDelay(rounds++, backoff, o.random);
          this.log.warn?.(
            `syncrepl: ${err.message} Retrying${urls.length > 1 ? ` with ${next}` : ''} in ${delayMs} ms.`,
            { code: err.code },
          );
          this.status({ state: 'backoff', delayMs, error: err });
          const slept = await sleep(delayMs, this.abort.signal);
          if (!slept) {
            if (!this.ended) this.end(() => this.subscriber.complete());
            return;
          }
        }
      }
    } catch (e) {
      const err = asSyncreplError(e);
      this.status({ state: 'closed', error: err });
      this.end(() => this.subscriber.error(err));
    } finally {
      o.stop?.removeEventListener('abort', onStop);
    }
  }

  private end(notify: () => void): void {
    if (this.ended) return;
    this.ended = true;
    this.closeConnection();
    notify();
  }

  /** One connection: connect, bind, search until the search ends or fails. */
  private async runOnce(url: LdapUrl, onRefreshDone: () => void): Promise<Outcome> {
    const { n } = this;
    const { o } = n;
    this.refreshDone = false;
    this.cancelSent = false;
    this.catchUpOwed = false;
    this.held = undefined;
    this.url = url;
    const conn = await LdapConnection.connect({
      url,
      tls: o.tls,
      startTLS: o.startTLS,
      timeout: n.timeout,
      decode: { binaryAttributes: n.binary, records: this.records },
    });
    if (this.ended) {
      conn.destroy();
      return 'complete';
    }
    this.conn = conn;
    const unflow = o.flow?.observe((paused) => (paused ? conn.pause() : conn.resume()));
    const unwatch = this.watch(conn);
    const closed = new Promise<never>((_, reject) => {
      conn.onClose = (err) => {
        unflow?.();
        unwatch();
        reject(err ?? new ProtocolError('the connection closed during the search'));
      };
    });
    closed.catch(() => {});
    const bind = o.sasl
      ? conn.bindSaslExternal(o.sasl.authzId)
      : conn.bindSimple(o.bindDN ?? '', o.password ?? '');
    await withTimeout(Promise.race([bind, closed]), n.timeout, conn.endpoint, 'binding', () =>
      conn.destroy(),
    );
    if (this.ended) return 'complete';
    this.status({ state: 'refreshing', url: url.href });
    // The stored cookie may carry the sid of the server that sent it: never send that back.
    const cookie = requestCookie(this.guard.current, o.serverId);
    this.keepAttribute = is389DsCookie(cookie) ? attributeSelection(n.attributes) : undefined;
    this.catchUpOwed = is389DsCookie(cookie) && n.mode === 'refreshAndPersist';
    if (is389DsCookie(cookie)) {
      // 389-ds serves any cookie whose change number it has reached, even when its retro
      // changelog no longer holds the changes after it (sync_cookie_isvalid: "Accept any state
      // request for now"): what was trimmed would be lost without a word. Its root DSE says
      // where the changelog starts; a cookie before that needs the reload that 4096 asks for.
      const dse = await withTimeout(
        conn.readBase('', ['firstchangenumber']),
        n.timeout,
        conn.endpoint,
        'reading the root DSE',
        () => conn.destroy(),
      );
      const rootDse =
        dse === undefined
          ? {}
          : (dse.attributes ??
            (dse.record === undefined ? {} : decodeRecord(Buffer.from(dse.record, 'latin1')).attributes));
      const value = Object.entries(rootDse).find(
        ([name]) => name.toLowerCase() === 'firstchangenumber',
      )?.[1][0];
      const first = Number(typeof value === 'string' ? value : undefined);
      const at = Number(cookie!.slice(cookie!.lastIndexOf('#') + 1));
      if (Number.isSafeInteger(first) && first > 0 && at + 1 < first) {
        throw new RefreshRequiredError(
          `the 389-ds retro changelog starts at change ${first}, after the cookie's change ${at}: changes are lost`,
        );
      }
    }
    this.log.info?.(
      `syncrepl: searching ${url.href} ${this.guard.current === undefined ? 'without a cookie (full refresh)' : 'from the last cookie'}`,
    );
    return await new Promise<Outcome>((resolve, reject) => {
      this.finishSearch = resolve;
      this.failSearch = reject;
      closed.catch(reject);
      try {
        this.searchId = conn.request(
          (id) => this.encodeSyncSearch(id, n.mode, cookie),
          (res) => {
            try {
              this.onResponse(res, onRefreshDone);
            } catch (err) {
              reject(asSyncreplError(err));
            }
          },
        );
      } catch (err) {
        reject(new InvalidOptionsError(`Invalid search filter ${JSON.stringify(n.filter)}: ${String(err)}`));
      }
    }).finally(() => {
      this.finishSearch = undefined;
      this.failSearch = undefined;
    });
  }

  /** The search with the Sync Request control: the search itself, or a 389-ds catch-up. */
  private encodeSyncSearch(id: number, mode: SyncMode, cookie: string | undefined): Buffer {
    const { n } = this;
    const control = {
      oid: SYNC_REQUEST_OID,
      critical: true,
      value: encodeSyncRequestValue({ mode, cookie, reloadHint: n.o.reloadHint }),
    };
    const search = {
      base: n.o.base,
      scope: n.scope,
      filter: n.filter,
      attributes: n.attributes,
      sizeLimit: n.o.sizeLimit,
      timeLimit: n.o.timeLimit,
    };
    return encodeSearch(id, search, [control]);
  }

  private onResponse(res: LdapResponse, onRefreshDone: () => void): void {
    if (this.held !== undefined) {
      this.held.push(res); // the catch-up search runs: the persist stage waits for it
      return;
    }
    switch (res.kind) {
      case 'searchEntry': {
        const state = syncStateControlOf(res);
        const cookie = this.advance(state.cookie);
        this.emit(this.entryMessage(res, state, cookie), cookie);
        return;
      }
      case 'intermediate': {
        if (res.name !== SYNC_INFO_OID) return; // not ours (RFC 4511 §4.13 allows others)
        if (!res.value) throw new ProtocolError('a Sync Info message had no value');
        const info = decodeSyncInfoValue(res.value);
        if (
          this.catchUpOwed &&
          (info.kind === 'refreshDelete' || info.kind === 'refreshPresent') &&
          info.refreshDone &&
          info.cookie !== undefined &&
          is389DsCookie(info.cookie)
        ) {
          // The end of a 389-ds refresh resumed from a cookie: first catch up on what its
          // persist stage may have missed (see startCatchUp); this message waits for it.
          this.catchUpOwed = false;
          this.held = [res];
          this.startCatchUp(info.cookie, onRefreshDone);
          return;
        }
        const cookie = this.advance(info.cookie);
        const withCookie = cookie === undefined ? {} : { cookie };
        switch (info.kind) {
          case 'newcookie':
            if (cookie !== undefined) this.emit({ type: 'cookie', cookie }, cookie);
            return;
          case 'refreshDelete':
          case 'refreshPresent':
            this.emit({ type: info.kind, refreshDone: info.refreshDone, ...withCookie }, cookie);
            if (info.refreshDone) this.onRefreshDone(onRefreshDone);
            return;
          case 'syncIdSet':
            this.emit(
              {
                type: 'syncIdSet',
                refreshDeletes: info.refreshDeletes,
                entryUUIDs: info.entryUUIDs,
                ...withCookie,
              },
              cookie,
            );
            return;
        }
        return;
      }
      case 'searchDone': {
        const { resultCode, diagnosticMessage } = res.result;
        this.searchId = undefined;
        if (resultCode === 0) {
          const control = res.controls.find((c) => c.oid === SYNC_DONE_OID);
          const done = decodeSyncDoneValue(control?.value ?? new Uint8Array(0));
          const cookie = this.advance(done.cookie);
          this.emit(
            {
              type: 'done',
              refreshDeletes: done.refreshDeletes,
              ...(cookie === undefined ? {} : { cookie }),
            },
            cookie,
          );
          this.finishSearch?.('complete');
          return;
        }
        if (resultCode === 118 && this.cancelSent) {
          this.finishSearch?.('complete'); // canceled, as we asked (RFC 3909)
          return;
        }
        if (resultCode === 4096) throw new RefreshRequiredError(diagnosticMessage);
        if (resultCode === 12) throw new SyncNotSupportedError(this.n.o.base, diagnosticMessage);
        throw new LdapResultError(resultCode, 'the syncrepl search', diagnosticMessage);
      }
      default:
        return; // search references and anything else are not part of the content
    }
  }

  /** The message for an entry of the search, with `cookie` (already offered to the guard). */
  private entryMessage(
    res: LdapResponse & { kind: 'searchEntry' },
    state: ReturnType<typeof decodeSyncStateValue>,
    cookie: string | undefined,
  ): SyncMessage {
    const base = { dn: res.dn, entryUUID: state.entryUUID, ...(cookie === undefined ? {} : { cookie }) };
    if (state.state === 'delete') return { type: 'delete', ...base };
    let { record } = res;
    let attributes = res.attributes;
    if (this.keepAttribute !== undefined) {
      // 389-ds sends the entries of a refresh from its cookie with every user attribute,
      // whatever the search asked for (sync_send_entry_from_changelog passes no attribute
      // list): keep what was asked, as a search without a cookie does.
      const keep = this.keepAttribute;
      const all =
        record === undefined ? (attributes ?? {}) : decodeRecord(Buffer.from(record, 'latin1')).attributes;
      const names = Object.keys(all);
      const kept = names.filter(keep);
      if (kept.length < names.length) {
        const picked: Attributes = {};
        for (const name of kept) picked[name] = all[name]!;
        // The wire's record no longer describes the entry: it goes on as an ordinary one.
        attributes = picked;
        record = undefined;
      }
    }
    // replicate() reads the record; the attributes are decoded only if something asks.
    return record === undefined
      ? { type: state.state, ...base, attributes: attributes ?? {} }
      : new EntryRecordMessage(state.state, res.dn, state.entryUUID, cookie, record);
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
   */
  private startCatchUp(cookie: string, onRefreshDone: () => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.isClosed) return;
    const caught: SyncMessage[] = [];
    const id = conn.request(
      (messageId) => this.encodeSyncSearch(messageId, 'refreshOnly', cookie),
      (res) => {
        try {
          switch (res.kind) {
            case 'searchEntry':
              caught.push(this.entryMessage(res, syncStateControlOf(res), undefined));
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
              this.finishCatchUp(caught, onRefreshDone);
              return;
            }
            default:
              return;
          }
        } catch (err) {
          this.failSearch?.(asSyncreplError(err));
        }
      },
    );
    this.log.debug?.('syncrepl: 389-ds refresh done; catching up from its cookie before the persist stage');
  }

  private finishCatchUp(caught: readonly SyncMessage[], onRefreshDone: () => void): void {
    const held = this.held ?? [];
    this.held = undefined;
    const newer = new Set<string>();
    for (const res of held) {
      if (res.kind !== 'searchEntry') continue;
      const control = res.controls.find((c) => c.oid === SYNC_STATE_OID);
      if (control?.value) newer.add(decodeSyncStateValue(control.value).entryUUID);
    }
    for (const m of caught) {
      if (m.type === 'syncIdSet') {
        const entryUUIDs = m.entryUUIDs.filter((u) => !newer.has(u));
        if (entryUUIDs.length > 0) this.emit({ ...m, entryUUIDs }, undefined);
      } else if ('entryUUID' in m && !newer.has(m.entryUUID)) {
        this.emit(m, undefined);
      }
    }
    for (const res of held) {
      if (this.ended) return;
      this.onResponse(res, onRefreshDone);
    }
  }

  private onRefreshDone(onRefreshDone: () => void): void {
    if (this.refreshDone) return;
    this.refreshDone = true;
    onRefreshDone();
    const url = this.url!.href;
    this.log.info?.(`syncrepl: refresh from ${url} done; following its changes`);
    this.status({ state: 'persisting', url });
    if (this.n.o.stop?.aborted) this.sendCancel();
  }

  /**
   * Only cookies that move no serverID's CSN backwards are passed on and stored; a stale one is
   * dropped from the message (never stored) and logged.
   */
  private advance(cookie: string | undefined): string | undefined {
    // An empty cookie is what slapd sends back for a garbage one: never a position to keep.
    if (cookie === undefined || cookie === '') return undefined;
    // The guard may merge a partial cookie (one serverID's CSN, as syncprov sends in persist)
    // into the full CSN set, as OpenLDAP's own consumer does: pass on the merged one.
    if (this.guard.offer(cookie)) return this.guard.current;
    this.log.warn?.('syncrepl: ignored a cookie that would move a CSN backwards');
    return undefined;
  }

  private emit(message: SyncMessage, cookie: string | undefined): void {
    this.delivered = true;
    this.subscriber.next(message);
    const store = this.n.o.cookieStore;
    if (cookie !== undefined && store) {
      // Saved after delivery, one at a time, in order.
      this.saving = this.saving
        .then(() => store.save(cookie))
        .catch((err: unknown) => this.log.warn?.(`syncrepl: could not save the cookie: ${String(err)}`));
    }
  }

  private onStop(): void {
    // Backoff sleeps end at once; a refresh is allowed to finish; persist is cancelled.
    if (!this.conn || this.conn.isClosed) {
      this.abort.abort();
      return;
    }
    if (this.n.mode === 'refreshOnly') return;
    if (this.refreshDone) this.sendCancel();
  }

  /** Ends persist mode with the Cancel operation (RFC 3909), falling back to abandon. */
  private sendCancel(): void {
    const conn = this.conn;
    const target = this.searchId;
    if (!conn || conn.isClosed || target === undefined || this.cancelSent) return;
    this.cancelSent = true;
    const fallback = () => {
      if (this.searchId === target) {
        conn.abandon(target);
        this.searchId = undefined;
      }
      this.finishSearch?.('complete');
    };
    const timer = setTimeout(fallback, this.n.timeout);
    timer.unref?.();
    conn.extended(CANCEL_REQUEST_OID, encodeCancelRequestValue(target)).then(
      (res) => {
        clearTimeout(timer);
        // success (0): the search already ended with `canceled`. Otherwise (no such operation,
        // cannotCancel, unsupported): abandon, which every server supports.
        if (res.result.resultCode !== 0) {
          this.log.debug?.(`syncrepl: Cancel answered ${res.result.resultCode}; abandoning instead`);
          fallback();
        }
      },
      () => {
        clearTimeout(timer);
        fallback();
      },
    );
  }

  /**
   * The idle probe: while the search runs, a connection that received nothing for one to two
   * `idleProbe` periods gets a WhoAmI (RFC 4532); no answer within `timeout` ends it as lost. Any
   * answer will do (a server without WhoAmI answers with an error, which proves it alive). Not
   * while `flow` holds the socket: then the silence is ours. Returns the function that stops it.
   */
  private watch(conn: LdapConnection): () => void {
    const every = this.n.idleProbe;
    if (every === undefined) return () => {};
    const { flow } = this.n.o;
    let seen = conn.received;
    let probing = false;
    const timer = setInterval(() => {
      if (conn.isClosed || probing) return;
      if (conn.received !== seen || flow?.paused === true) {
        seen = conn.received;
        return;
      }
      probing = true;
      const phase = 'waiting for the answer to an idle probe (WhoAmI)';
      withTimeout(conn.extended(WHO_AM_I_OID), this.n.timeout, conn.endpoint, phase, () =>
        conn.abort(new TimeoutError(conn.endpoint, phase, this.n.timeout)),
      ).then(
        () => {
          probing = false;
          seen = conn.received;
        },
        () => {
          // An answer that is not an ExtendedResponse still came from a live server; a closed
          // connection fails the search with its own error.
          probing = false;
          seen = conn.received;
        },
      );
    }, every);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  private closeConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn || conn.isClosed) return;
    if (this.searchId !== undefined) conn.abandon(this.searchId);
    this.searchId = undefined;
    conn.unbind();
  }

  teardown(): void {
    this.abort.abort();
    if (this.ended) return;
    this.ended = true;
    this.closeConnection();
    this.status({ state: 'closed' });
  }
}

/** The Sync State control of a search entry (RFC 4533 §2.3), which every entry must carry. */
function syncStateControlOf(
  res: LdapResponse & { kind: 'searchEntry' },
): ReturnType<typeof decodeSyncStateValue> {
  const control = res.controls.find((c) => c.oid === SYNC_STATE_OID);
  if (!control?.value)
    throw new ProtocolError(`entry ${JSON.stringify(res.dn)} came without a Sync State control`);
  return decodeSyncStateValue(control.value);
}

/** True when every UTF-16 unit fits in a byte, as in the latin1 strings syncrepl() emits. */
function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

function asSyncreplError(e: unknown): SyncreplError {
  if (e instanceof SyncreplError) return e;
  return new ProtocolError(e instanceof Error ? e.message : String(e));
}

/**
 * The attributes a search for `requested` returns, as a predicate on attribute descriptions
 * (`cn`, `cn;lang-en`: the type before any option, compared case-insensitively); undefined when
 * the list does not name them all: empty, or with `*` (all user attributes) or `+` (operational).
 * `1.1` alone asks for none. Aliases and supertypes (`commonName`, `name`) are not resolved, so a
 * list using them keeps only the names as written; this is only applied where a server ignored
 * the list (389-ds, see `keepAttribute`).
 */
export function attributeSelection(requested: readonly string[]): ((name: string) => boolean) | undefined {
  if (requested.length === 0 || requested.some((a) => a === '*' || a === '+')) return undefined;
  const wanted = new Set(requested.filter((a) => a !== '1.1').map((a) => a.split(';')[0]!.toLowerCase()));
  return (name) => wanted.has(name.split(';')[0]!.toLowerCase());
}
