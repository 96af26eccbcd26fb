/**
 * What tabs say to each other on their stream's BroadcastChannel (SPEC.md M2–M7): positions, the
 * relayed events, and the messages, with the statuses in a form that survives structured cloning.
 *
 * Positions. Each leadership term has an `epoch` (a random id, also the `writer` of the metas it
 * stores); its relayed events are numbered 1, 2, … (`seq`). A position `{ epoch, seq }` names a
 * state: the state of term `epoch` after its event `seq`; `{ epoch, 0 }` is the state the term
 * started from, its `base`, which is the position of the term before (or of the stored copy).
 * The stored meta carries the position it covers (`writer` and `seq`), so a tab that reads the
 * stored copy knows exactly which relayed events it still needs.
 *
 *   lead     leader → all        a term starts, from `base`
 *   events   leader → all        relayed events, numbered, posted together at the end of a task
 *   status   leader → all        every status it goes through
 *   hello    tab → leader        "my state is at `pos`"
 *   welcome  leader → that tab   the events after `pos` from the log, or the whole state
 *   reconnect follower → leader  `reconnect()` was called in a follower
 */
import type { SseEvent } from './sse.js';
import type { LeaderStatus } from './state.js';
import type { Snapshot } from './stream-state.js';

export type { Snapshot } from './stream-state.js';

/** A state, named by the leadership term that reached it and the number of its last event. */
export interface Position {
  readonly epoch: string;
  readonly seq: number;
}

/** The empty state (nothing stored): every term that starts from nothing has this base. */
export const EMPTY_POSITION: Position = Object.freeze({ epoch: '', seq: 0 });

export const samePosition = (a: Position | undefined, b: Position | undefined): boolean =>
  a !== undefined && b !== undefined && a.epoch === b.epoch && a.seq === b.seq;

/** One event as the leader applied it, for the followers to apply the same way. */
export interface RelayedEvent {
  readonly seq: number;
  readonly event: SseEvent;
  /** For `ready`: the entries the leader dropped (S3). A follower drops exactly these (M6). */
  readonly dropped?: readonly string[];
  /** The leader's `replaying` after this event (a follower that takes over needs it: P5). */
  readonly replaying: boolean;
}

/** Relayed events a leader keeps, to catch up a joining tab without a snapshot (M5). */
export const RELAY_LOG_SIZE = 10_000;

/** A status on the wire: plain data (an Error does not survive structured cloning everywhere). */
export type WireStatus = Record<string, unknown> & { kind: string };

export type Message =
  | { t: 'lead'; epoch: string; base: Position | undefined }
  | { t: 'events'; epoch: string; items: RelayedEvent[] }
  | { t: 'status'; epoch: string; status: WireStatus }
  | { t: 'hello'; from: string; pos: Position | undefined }
  | {
      t: 'welcome';
      to: string;
      epoch: string;
      seq: number;
      /** The position the events start from (the hello's), or absent with a snapshot. */
      from?: Position;
      items?: RelayedEvent[];
      snapshot?: Snapshot<unknown>;
      status: WireStatus | undefined;
    }
  | { t: 'reconnect' };

/** Errors as `{ name, message }`: a subclass does not survive structured cloning as itself. */
export function toWire(status: LeaderStatus): WireStatus {
  const out: WireStatus = { ...status };
  if (status.kind === 'error') out.error = errorToWire(status.error);
  if (status.kind === 'connecting' && status.lastError !== undefined)
    out.lastError = errorToWire(status.lastError);
  return out;
}

function errorToWire(err: unknown): { name: string; message: string } {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: 'Error', message: String(err) };
}

function errorFromWire(value: unknown): Error {
  const { name, message } = (value ?? {}) as { name?: unknown; message?: unknown };
  const err = new Error(typeof message === 'string' ? message : String(message));
  if (typeof name === 'string') err.name = name;
  return err;
}

export function fromWire(wire: WireStatus): LeaderStatus {
  switch (wire.kind) {
    case 'connecting':
      return {
        kind: 'connecting',
        attempt: Number(wire.attempt) || 0,
        retryInMs: Number(wire.retryInMs) || 0,
        lastError: wire.lastError === undefined ? undefined : errorFromWire(wire.lastError),
      };
    case 'replaying':
      return { kind: 'replaying', full: wire.full === true };
    case 'error':
      return { kind: 'error', error: errorFromWire(wire.error) };
    case 'offline':
      return { kind: 'offline' };
    default:
      return { kind: 'live' };
  }
}
