/**
 * One connection's syncrepl search (RFC 4533), the part of a session between connecting and the
 * search's end: connect, [StartTLS], bind, the Sync Request search (§2.2), and what it answers
 * turned into SyncMessages (cookies through the CookieGuard, entries, Sync Info, Sync Done, the
 * result code as a typed error), with the Cancel (RFC 3909) that ends persist mode. 389-ds's
 * specifics are in ./ds389.ts, the idle probe in ./idle-probe.ts; the run loop over connections
 * (reconnect, failover, backoff) is SyncSession in ./session.ts, which extends this class.
 */
import type { Subscriber } from 'rxjs';
import { LdapConnection, withTimeout, type LdapUrl } from '../protocol/connection.js';
import { encodeSearch, type LdapResponse } from '../protocol/pdu.js';
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
import { CookieGuard, is389DsCookie, requestCookie } from '../protocol/cookie.js';
import {
  InvalidOptionsError,
  LdapResultError,
  ProtocolError,
  RefreshRequiredError,
  SyncNotSupportedError,
  SyncreplError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { attributeSelection, caughtUp, checkRetroChangelog, keepRequested, startCatchUp } from './ds389.js';
import { EntryRecordMessage } from './entry-records.js';
import { watchIdle } from './idle-probe.js';
import type { SyncMessage } from './messages.js';
import type { Normalized, SyncMode, SyncStatus } from './options.js';

export type Outcome = 'complete';

export class SyncSearch {
  protected guard = new CookieGuard();
  protected conn: LdapConnection | undefined;
  private searchId: number | undefined;
  protected refreshDone = false;
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
  protected ended = false;
  private saving: Promise<void> = Promise.resolve();
  private finishSearch: ((outcome: Outcome) => void) | undefined;
  private failSearch: ((err: SyncreplError) => void) | undefined;
  /** The server of the current (or last) connection. */
  private url: LdapUrl | undefined;
  /** Whether any message reached the subscriber. */
  protected delivered = false;

  constructor(
    protected readonly n: Normalized,
    protected readonly subscriber: Subscriber<SyncMessage>,
    private readonly records: boolean,
  ) {}

  protected get log(): Logger {
    return this.n.o.logger ?? {};
  }

  protected status(s: SyncStatus): void {
    this.n.o.onStatus?.(s);
  }

  /** One connection: connect, bind, search until the search ends or fails. */
  protected async runOnce(url: LdapUrl, onRefreshDone: () => void): Promise<Outcome> {
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
    const unwatch = watchIdle(conn, n.idleProbe, n.timeout, o.flow);
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
    if (is389DsCookie(cookie)) await checkRetroChangelog(conn, cookie!, n.timeout);
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
    if (this.keepAttribute !== undefined)
      ({ record, attributes } = keepRequested(record, attributes, this.keepAttribute));
    // replicate() reads the record; the attributes are decoded only if something asks.
    return record === undefined
      ? { type: state.state, ...base, attributes: attributes ?? {} }
      : new EntryRecordMessage(state.state, res.dn, state.entryUUID, cookie, record);
  }

  /** Starts 389-ds's catch-up search (see startCatchUp in ./ds389.ts) from the refresh's `cookie`. */
  private startCatchUp(cookie: string, onRefreshDone: () => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.isClosed) return;
    startCatchUp(
      conn,
      (messageId) => this.encodeSyncSearch(messageId, 'refreshOnly', cookie),
      (res) => this.entryMessage(res, syncStateControlOf(res), undefined),
      (caught) => this.finishCatchUp(caught, onRefreshDone),
      (err) => this.failSearch?.(asSyncreplError(err)),
    );
    this.log.debug?.('syncrepl: 389-ds refresh done; catching up from its cookie before the persist stage');
  }

  /** Emits what the catch-up caught, then the held refresh end and persist responses, in order. */
  private finishCatchUp(caught: readonly SyncMessage[], onRefreshDone: () => void): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const m of caughtUp(caught, held)) this.emit(m, undefined);
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

  /** Ends persist mode with the Cancel operation (RFC 3909), falling back to abandon. */
  protected sendCancel(): void {
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

  protected closeConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn || conn.isClosed) return;
    if (this.searchId !== undefined) conn.abandon(this.searchId);
    this.searchId = undefined;
    conn.unbind();
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

/** Any failure as a SyncreplError (a ProtocolError for what is not one already). */
export function asSyncreplError(e: unknown): SyncreplError {
  if (e instanceof SyncreplError) return e;
  return new ProtocolError(e instanceof Error ? e.message : String(e));
}
