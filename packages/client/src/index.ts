// @syncrepl-rx/client: live, persisted state of syncrepl-rx streams (docs/stream-contract.md), for
// browsers and Node.
// The public API, what users program against: every export is named here; the files behind them
// are split by concern (see SPEC.md), and their other exports are internal (tests import them by
// path).

export { collection, type Collection, type CollectionOptions, type ExternalStore } from './collection.js';
export {
  type CollectionChange,
  type StreamEvent,
  type EntryEvent,
  type SyncOp,
  type Tombstone,
  Rebuild,
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
  type SseEvent,
  type SseNotice,
  type EventStreamOptions,
  type HeadersOption,
  type Connectivity,
} from './sse.js';
export {
  createFetchWithBackoff,
  BACKOFF_DEFAULTS,
  type Fetch,
  type BackoffOptions,
  type FetchWithBackoffOptions,
  type FailedAttempt,
} from './fetch-backoff.js';
export { createStreamStore, clearLocal, type LocalStore } from './persistence.js';
export { foldRenames, type CollectionEdit, type FoldRenamesOptions } from './renames.js';
export { browserSharing, type TabSharing, type LockManagerLike, type ChannelLike } from './tab-sharing.js';
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
