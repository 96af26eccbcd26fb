/**
 * The options of `syncrepl()` and their one check: `normalize` validates them (a typed
 * InvalidOptionsError, before anything connects) and fills in the defaults the rest of sync/ reads.
 */
import type tls from 'node:tls';
import { parseLdapUrl, type LdapUrl } from '../protocol/connection.js';
import type { Scope } from '../protocol/pdu.js';
import { MAX_SERVER_ID } from '../protocol/cookie.js';
import { InvalidOptionsError, type SyncreplError } from '../errors.js';
import { BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.js';
import type { CookieStore } from './cookie-store.js';
import type { FlowControl } from './flow.js';
import type { Logger } from '../logger.js';

export type SyncMode = 'refreshOnly' | 'refreshAndPersist';

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

/** The options checked, with their defaults filled in. */
export interface Normalized {
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

/** Checks the options (InvalidOptionsError) and fills in their defaults. */
export function normalize(o: SyncreplOptions): Normalized {
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

/** True when every UTF-16 unit fits in a byte, as in the latin1 strings syncrepl() emits. */
function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}
