/**
 * One small error class per failure. Each sets `name`, carries a machine-readable `code`,
 * says whether retrying can help (`retryable`), and has a message that says what to do.
 * No message ever contains a credential: bind passwords are never passed to these classes.
 */

export type SyncreplErrorCode =
  | 'BIND_REFUSED'
  | 'SYNC_NOT_SUPPORTED'
  | 'TLS_FAILED'
  | 'TIMEOUT'
  | 'MALFORMED_BER'
  | 'PROTOCOL'
  | 'REFRESH_REQUIRED'
  | 'LDAP_RESULT'
  | 'CONNECTION'
  | 'INVALID_OPTIONS'
  | 'MISSING_PACKAGE';

export abstract class SyncreplError extends Error {
  abstract readonly code: SyncreplErrorCode;
  /** Whether a later attempt with the same options can succeed (used by `reconnect`). */
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server refused the bind (RFC 4511 §4.2.2): wrong DN or password, or auth not allowed. */
export class BindError extends SyncreplError {
  readonly code = 'BIND_REFUSED';
  readonly retryable = false;
  constructor(
    readonly resultCode: number,
    readonly bindDN: string,
    diagnosticMessage: string,
  ) {
    super(
      `The server refused the bind as ${bindDN === '' ? 'anonymous' : JSON.stringify(bindDN)} ` +
        `(${resultName(resultCode)}${diagnosticMessage ? `: ${diagnosticMessage}` : ''}). ` +
        'Check the bind DN and password, or whether this server allows that bind.',
    );
  }
}

/** unavailableCriticalExtension (12) for the Sync Request control: no syncprov on that database. */
export class SyncNotSupportedError extends SyncreplError {
  readonly code = 'SYNC_NOT_SUPPORTED';
  readonly retryable = false;
  constructor(
    readonly base: string,
    diagnosticMessage: string,
  ) {
    super(
      `The server does not offer Content Synchronization (RFC 4533) for base ${JSON.stringify(base)}` +
        `${diagnosticMessage ? ` (${diagnosticMessage})` : ''}. ` +
        'Enable the syncprov overlay on the database that holds this base.',
    );
  }
}

/** The TLS handshake (ldaps:// or StartTLS) failed, or the server refused StartTLS. */
export class TlsError extends SyncreplError {
  readonly code = 'TLS_FAILED';
  readonly retryable = false;
  constructor(
    /** `host:port` of the server. */
    readonly endpoint: string,
    /** What failed, without advice (e.g. `self-signed certificate`). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `TLS with ${endpoint} failed: ${reason}. ` +
        'Check the server certificate against the `tls.ca` you pass, and the host name in the URL.',
      options,
    );
  }
}

/** No answer within the configured time. */
export class TimeoutError extends SyncreplError {
  readonly code = 'TIMEOUT';
  readonly retryable = true;
  constructor(
    endpoint: string,
    readonly phase: string,
    readonly ms: number,
  ) {
    super(
      `No answer from ${endpoint} within ${ms} ms while ${phase}. ` +
        'Check that the server is reachable, or raise the `timeout` option.',
    );
  }
}

/** Bytes from the server that are not valid BER/LDAP (RFC 4511 §5.1). The connection is dropped. */
export class MalformedBerError extends SyncreplError {
  readonly code = 'MALFORMED_BER';
  readonly retryable = true;
  constructor(
    reason: string,
    readonly offset?: number,
  ) {
    super(
      `Malformed BER from the server${offset === undefined ? '' : ` at byte ${offset}`}: ${reason}. ` +
        'The connection was closed; this is a server or network fault, not a usage error.',
    );
  }
}

/** Well-formed BER that breaks the protocol, e.g. a syncUUID that is not 16 bytes (RFC 4533 §2.1). */
export class ProtocolError extends SyncreplError {
  readonly code = 'PROTOCOL';
  readonly retryable = true;
  constructor(reason: string) {
    super(`LDAP protocol violation by the server: ${reason}. The connection was closed.`);
  }
}

/** e-syncRefreshRequired (4096, RFC 4533 §3.2): the cookie cannot be honoured; a full reload is needed. */
export class RefreshRequiredError extends SyncreplError {
  readonly code = 'REFRESH_REQUIRED';
  readonly retryable = true;
  readonly resultCode = 4096;
  constructor(diagnosticMessage: string) {
    super(
      `The server requires a full reload (e-syncRefreshRequired${diagnosticMessage ? `: ${diagnosticMessage}` : ''}). ` +
        'Restart without a cookie and purge what is not sent again, or pass `reconnect` to do this automatically.',
    );
  }
}

/** Any other non-success LDAP result (RFC 4511 §4.1.9). */
export class LdapResultError extends SyncreplError {
  readonly code = 'LDAP_RESULT';
  readonly retryable: boolean;
  constructor(
    readonly resultCode: number,
    operation: string,
    diagnosticMessage: string,
  ) {
    super(
      `The server answered ${operation} with ${resultName(resultCode)}` +
        `${diagnosticMessage ? `: ${diagnosticMessage}` : ''}.` +
        (resultCode === 32 ? ' Check the search base.' : ''),
    );
    // busy, unavailable, unwillingToPerform, other, loopDetect: worth another try later.
    this.retryable = [51, 52, 53, 80].includes(resultCode);
  }
}

/** The TCP connection failed or was lost. */
export class ConnectionError extends SyncreplError {
  readonly code = 'CONNECTION';
  readonly retryable = true;
  constructor(endpoint: string, reason: string, options?: { cause?: unknown }) {
    super(`Connection to ${endpoint} ${reason}. Check that the server is running and reachable.`, options);
  }
}

/** The options passed to `syncrepl()` or the CLI are unusable. */
export class InvalidOptionsError extends SyncreplError {
  readonly code = 'INVALID_OPTIONS';
  readonly retryable = false;
}

/** An optional peer package that a feature needs is not installed (`lmdb` for `LmdbStore`). */
export class MissingPackageError extends SyncreplError {
  readonly code = 'MISSING_PACKAGE';
  readonly retryable = false;
  constructor(
    readonly packageName: string,
    feature: string,
    options?: { cause?: unknown },
  ) {
    super(`${feature} needs the optional package '${packageName}': npm install ${packageName}.`, options);
  }
}

const RESULT_NAMES: Record<number, string> = {
  0: 'success',
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  14: 'saslBindInProgress',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  80: 'other',
  118: 'canceled',
  4096: 'e-syncRefreshRequired',
};

/** `name (code)` for an LDAP result code. */
export function resultName(code: number): string {
  return `${RESULT_NAMES[code] ?? 'resultCode'} (${code})`;
}
