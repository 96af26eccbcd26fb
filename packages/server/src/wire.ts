/**
 * The wire contract of docs/stream-contract.md as names and types: what @syncrepl-rx/server
 * writes and @syncrepl-rx/client reads. Neither package depends on the other, so this file exists
 * twice, byte for byte: packages/server/src/wire.ts and packages/client/src/wire.ts
 * (test/unit/repo/wire-contract.test.ts fails when they differ). Edit both.
 */

/** The request header carrying the resume cookie: the SSE `id:` of the last event applied (§K3). */
export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';

/**
 * The query parameter that carries the resume cookie too (§Q3, an extension). It needs no CORS
 * preflight, which a cross-origin `Last-Event-ID` header does. The header wins when both are sent.
 */
export const RESUME_QUERY_PARAMETER = 'lastEventId';

/** SSE event names (§E): `entry` (§E1), `ready` (§E6), and the extension `reset` (§E7). */
export const EVENT_ENTRY = 'entry';
export const EVENT_READY = 'ready';
export const EVENT_RESET = 'reset';
export type EventName = typeof EVENT_ENTRY | typeof EVENT_READY | typeof EVENT_RESET;

/** The values of an `entry` event's `syncOp` (§E2). */
export const SYNC_OPS = ['present', 'add', 'modify', 'delete'] as const;
export type SyncOp = (typeof SYNC_OPS)[number];

/**
 * The `data` of an `entry` event (§E1), fields in this order. The body of a `delete` is a
 * tombstone, `{ id, _url }` (§E4); `ready` and `reset` carry `{}`.
 */
export interface EntryData<Body = unknown> {
  entryUUID: string;
  syncOp: SyncOp;
  body: Body;
}
