// @syncrepl-rx/client: live, persisted state of syncrepl-rx streams (docs/stream-contract.md), for
// browsers and Node.
// Every export is named here; the files behind them are split by concern (see SPEC.md).

export { collection, type Collection, type CollectionOptions, type ExternalStore } from './collection.js';
export {
  type CollectionChange,
  type StreamEvent,
  type EntryEvent,
  type SyncOp,
  type Tombstone,
  Rebuild,
  jsonEqual,
} from './rebuild.js';
export {
  type CollectionStatus,
  type LeaderStatus,
  type TabRole,
  type StatusKind,
  type LocalState,
  type DiscardReason,
  type StatusEvent,
  INITIAL_STATUS,
  nextStatus,
  statusMachine,
} from './state.js';
export {
  eventStream,
  browserConnectivity,
  type SseEvent,
  type SseNotice,
  type EventStreamOptions,
  type HeadersOption,
  type Connectivity,
} from './sse.js';
export {
  createFetchWithBackoff,
  backoffDelay,
  parseRetryAfter,
  sleep,
  BACKOFF_DEFAULTS,
  type Fetch,
  type BackoffOptions,
  type FetchWithBackoffOptions,
  type FailedAttempt,
} from './fetch-backoff.js';
export {
  createStreamStore,
  databaseName,
  loadLocal,
  writeBatch,
  clearLocal,
  needsCompaction,
  META_KEY,
  RECORD_SIZE,
  MAX_SEGMENTS,
  type StateMeta,
  type StoredMeta,
  type Batch,
  type LoadResult,
  type WriteResult,
  type LocalStore,
} from './persistence.js';
export { writeBehind, type WriteBehindOptions } from './write-behind.js';
export { foldRenames, type CollectionEdit, type FoldRenamesOptions } from './renames.js';
export { localWriter, type LocalWriter, type LocalWriterOptions } from './local-writer.js';
export {
  TabGroup,
  browserSharing,
  samePosition,
  EMPTY_POSITION,
  RELAY_LOG_SIZE,
  type TabSharing,
  type TabHost,
  type LockManagerLike,
  type ChannelLike,
  type Position,
  type RelayedEvent,
  type Snapshot,
} from './tabs.js';
export {
  SyncClientError,
  HttpError,
  BadRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotAnEventStreamError,
  RetriesExhaustedError,
  MalformedEventError,
  StorageError,
} from './errors.js';
export {
  FORMAT_VERSION,
  LAST_EVENT_ID_HEADER,
  RESUME_QUERY_PARAMETER,
  DEFAULT_BATCH_DELAY_MS,
} from './constants.js';
