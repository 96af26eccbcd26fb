/** Numbers of the local copy, and the names of the stream contract (from wire.ts, shared with the server). */

export {
  LAST_EVENT_ID_HEADER,
  RESUME_QUERY_PARAMETER,
  EVENT_ENTRY,
  EVENT_READY,
  EVENT_RESET,
} from './wire.js';

/**
 * Version of what persistence.ts stores. Bump it whenever the stored shape changes: stored
 * data of another version is discarded in favour of a full replay (SPEC.md P4).
 */
export const FORMAT_VERSION = 1;

/** How long applied events wait for company before they are written in one transaction. */
export const DEFAULT_BATCH_DELAY_MS = 25;
