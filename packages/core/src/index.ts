// @syncrepl-rx/core: the public API, what users program against. Everything exported is named
// here. Internals stay unexported (tests import them by path); what the server needs beyond this
// is in internal.ts (@syncrepl-rx/core/internal, not covered by semver).
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
export { FlowControl } from './sync/flow.js';
export type { CookieStore } from './sync/cookie-store.js';
export { BACKOFF_DEFAULTS } from './sync/backoff.js';
export type { BackoffOptions } from './sync/backoff.js';
export type { Scope } from './protocol/pdu.js';
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
  MissingPackageError,
} from './errors.js';
export type { SyncreplErrorCode } from './errors.js';

// The change model (replica), its operators, and the stores.
export { replicate, replicateFrom } from './replica/replicate.js';
export type { ReplicateOptions } from './replica/replicate.js';
export { diffAttributes } from './replica/diff.js';
export type {
  Entry,
  AttributeChange,
  AttributeDiff,
  AddChange,
  ModifyChange,
  RenameChange,
  DeleteChange,
  ReadyChange,
  ResetChange,
  EntryChange,
  Change,
} from './replica/changes.js';
export { foldRenames } from './operators/foldRenames.js';
export type { FoldRenamesConfig } from './operators/foldRenames.js';
export { unfoldRenames } from './operators/unfoldRenames.js';
export { keepEntries } from './operators/keepEntries.js';
export { keepObjectClasses } from './operators/keepObjectClasses.js';
export { pickAttributes } from './operators/pickAttributes.js';
export { MemoryStore } from './stores/memory.js';
export type { MemoryStoreInit } from './stores/memory.js';
export { LmdbStore } from './stores/lmdb.js';
export type { LmdbStoreOptions } from './stores/lmdb.js';
export type { ReplicaStore, ReplicaBatch, ReplicaIdentity } from './stores/store.js';
export { ReplicaIdentityError, ReplicaStoreBusyError } from './stores/store.js';
export { CorruptReplicaError } from './stores/codec.js';
export { parseDN, escapeDNValue } from './dn.js';
export type { RDN, AttributeTypeAndValue } from './dn.js';
