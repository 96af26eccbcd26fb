/**
 * A minimal `text/event-stream` reader for the fan-out benchmark's clients (WHATWG HTML §9.2.6,
 * restricted to what our server writes: `\n` line ends, `field: value` with one space). It hands
 * each event to a callback with the time its chunk arrived, and knows the two things the
 * benchmark asks of an event: its `syncOp`, and the marker the benchmark wrote into `status`.
 *
 * Plain JavaScript on purpose (like bench/children/): a TypeScript loader in a load generator
 * would spend the CPU we want to leave to the server.
 */
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

/**
 * The benchmark's marker: `submanStatus: m<N>-<epoch ms of the LDAP write>`. In an entry event
 * it shows up in the body as `"status":"m12-1795271985730.167"`.
 */
export const MARKER = /"status":"m(\d+)-(\d+(?:\.\d+)?)"/;

const SYNC_OP = '"syncOp":"';

/** The `syncOp` of an entry event's data, without parsing the JSON (this runs millions of times). */
export function syncOpOf(data) {
  const at = data.indexOf(SYNC_OP);
  if (at < 0) return 'unknown';
  const from = at + SYNC_OP.length;
  return data.slice(from, data.indexOf('"', from));
}

export class SseParser {
  /** @param {(event: string, data: string, id: string | undefined, at: number) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    /** The last `id:` seen (SSE's last event ID). */
    this.lastId = undefined;
  }

  /** Feeds one decoded chunk that arrived at `at` (wall-clock ms). */
  push(text, at) {
    const buffer = this.buffer + text;
    let from = 0;
    for (;;) {
      const end = buffer.indexOf('\n\n', from);
      if (end < 0) break;
      this.block(buffer.slice(from, end), at);
      from = end + 2;
    }
    this.buffer = from === 0 ? buffer : buffer.slice(from);
  }

  block(block, at) {
    let event = 'message';
    let data;
    let id;
    for (const line of block.split('\n')) {
      if (line === '' || line.charCodeAt(0) === 58 /* ':' comment */) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
      if (field === 'event') event = value;
      else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      else if (field === 'id') id = value;
    }
    if (id !== undefined) this.lastId = id;
    // No data: nothing is dispatched (a `retry:` block, a heartbeat).
    if (data !== undefined) this.onEvent(event, data, id, at);
  }
}
