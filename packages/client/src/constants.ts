/** Names and numbers of the stream contract (docs/stream-contract.md) and of the local copy. */

/** The request header carrying the resume cookie (the SSE `id:` of the last event applied). */
export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';

/**
 * The query parameter our server also accepts for the resume cookie. It needs no CORS preflight,
 * which a cross-origin `Last-Event-ID` header does.
 */
export const RESUME_QUERY_PARAMETER = 'lastEventId';

/** SSE event names (docs/stream-contract.md §E): `entry`, `ready`, and the extension `reset`. */
export const EVENT_ENTRY = 'entry';
export const EVENT_READY = 'ready';
export const EVENT_RESET = 'reset';

/**
 * Version of what persistence.ts stores. Bump it whenever the stored shape changes: stored
 * data of another version is discarded in favour of a full replay (SPEC.md P4).
 */
export const FORMAT_VERSION = 1;

/** How long applied events wait for company before they are written in one transaction. */
export const DEFAULT_BATCH_DELAY_MS = 25;
