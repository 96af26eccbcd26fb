// @syncrepl-rx/core: the public API. Everything exported is named here.
export { syncrepl } from './sync/syncrepl.js';
export type { SyncreplOptions, SyncMode, SyncStatus, Logger } from './sync/syncrepl.js';
export type {
  AttributeValue,
  Attributes,
  SyncState,
  SyncMessage,
  EntryMessage,
  PresentMessage,
  AddMessage,
  ModifyMessage,
  DeleteMessage,
  CookieMessage,
  RefreshPhaseMessage,
  SyncIdSetMessage,
  DoneMessage,
  ResetMessage,
} from './sync/messages.js';
export { getAttribute } from './sync/messages.js';
export { fileCookieStore, memoryCookieStore } from './sync/cookie-store.js';
export type { CookieStore } from './sync/cookie-store.js';
export { BACKOFF_DEFAULTS, backoffDelay } from './sync/backoff.js';
export type { BackoffOptions } from './sync/backoff.js';
export type { Scope } from './protocol/pdu.js';
export { parseCookie, cookieAdvances } from './protocol/cookie.js';
export {
  SyncreplError,
  BindError,
  SyncNotSupportedError,
  TlsError,
  TimeoutError,
  MalformedBerError,
  ProtocolError,
  RefreshRequiredError,
  LdapResultError,
  ConnectionError,
  InvalidOptionsError,
} from './errors.js';
export type { SyncreplErrorCode } from './errors.js';
