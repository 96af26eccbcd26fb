/**
 * One `text/event-stream` response (the SSE wire format, WHATWG HTML §9.2), written with care:
 * headers that keep proxies from buffering or transforming, a `retry:` hint, heartbeat comments,
 * `write()`'s return value respected, and cleanup on `close`.
 *
 * Writes are coalesced: frames queued during one turn of the event loop go out as one
 * `res.write()` (one chunk, one `writev`) in a `setImmediate` shared by every connection, then a
 * flush (for compression middleware). A live change is queued as the one Buffer its view's
 * subscribers share (frames.ts); a burst of several queued in the same turn is joined once per
 * distinct sequence and that joined Buffer is shared too.
 */
import type { ServerResponse } from 'node:http';

export interface SseOptions {
  /** The `retry:` hint sent first, in ms. */
  retryMs: number;
}

/** Headers for every stream: no caching or transformation by proxies, no buffering by nginx. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
});

/** One event: `event:`, an optional `id:`, `data:` (one line: JSON never holds a newline), blank line. */
export function frame(event: string, data: string, id?: string): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${data}\n\n`;
}

/** A frame's bytes: a Buffer shared between subscribers, or per-subscriber text (a replay). */
export type Chunk = Buffer | string;

/** Connections with queued frames, written in one `setImmediate` per turn of the event loop. */
let dirty: SseConnection[] = [];
let scheduled = false;

function schedule(conn: SseConnection): void {
  dirty.push(conn);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

/** Counts of this process's coalesced writes (tests and the benchmark read them). */
export const writeStats = { turns: 0, writes: 0, joined: 0, joinsShared: 0 };

function flushAll(): void {
  scheduled = false;
  const list = dirty;
  dirty = [];
  writeStats.turns++;
  // Subscribers of one view queue the same Buffers in a burst: join them once, keyed by the
  // first Buffer and checked element by element.
  const joins = new Map<Chunk, { parts: Chunk[]; joined: Chunk }>();
  for (const conn of list) conn.flushQueued(joins);
}

function join(parts: Chunk[], joins: Map<Chunk, { parts: Chunk[]; joined: Chunk }>): Chunk {
  const first = parts[0]!;
  const hit = typeof first === 'string' ? undefined : joins.get(first);
  if (hit && hit.parts.length === parts.length && hit.parts.every((p, i) => p === parts[i])) {
    writeStats.joinsShared++;
    return hit.joined;
  }
  writeStats.joined++;
  let joined: Chunk;
  if (parts.every((p) => typeof p === 'string')) joined = parts.join('');
  else joined = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  if (typeof first !== 'string') joins.set(first, { parts, joined });
  return joined;
}

export class SseConnection {
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];
  private queued: Chunk[] = [];
  private queuedLength = 0;
  private afterFlush: ((ok: boolean) => void) | undefined;
  /**
   * The response's state as of its last write, kept here so that a delivery reads no getters of
   * `res` (they walk down to the socket; per subscriber per change they cost more than our own
   * bookkeeping): `res.write()` returned false and no `drain` came yet; the bytes the response and
   * socket held right after that write (only less since, so the check below stays conservative);
   * the socket's high-water mark, fixed for the connection.
   */
  private needDrain = false;
  private bufferedAtFlush = 0;
  private readonly highWaterMark: number;

  constructor(
    readonly res: ServerResponse,
    options: SseOptions,
  ) {
    res.writeHead(200, SSE_HEADERS);
    res.socket?.setNoDelay(true);
    this.highWaterMark = res.writableHighWaterMark;
    this.noteWrite(res.write(`retry: ${options.retryMs}\n\n`));
    this.flush();
    res.on('drain', () => {
      this.needDrain = false;
      this.bufferedAtFlush = 0;
    });
    const onClose = () => {
      if (this.closed) return;
      this.closed = true;
      this.queued = [];
      this.queuedLength = 0;
      this.afterFlush = undefined;
      for (const l of this.closeListeners.splice(0)) l();
    };
    res.on('close', onClose);
    res.on('error', onClose);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while the socket buffer is above its high-water mark: wait for `drain`. */
  get congested(): boolean {
    return this.needDrain;
  }

  /** Bytes waiting: in the response and socket buffers, and queued for this turn's write. */
  get bufferedBytes(): number {
    return this.res.writableLength + this.queuedLength;
  }

  /** Whether frames are queued for this turn's write. */
  get pending(): boolean {
    return this.queued.length > 0;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  onceDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }

  /**
   * Queues a whole frame (see `frame()`) for this turn's write. False when the caller should
   * stop: what is queued and buffered reaches the socket's high-water mark (call `whenFlushed`).
   */
  write(chunk: Chunk): boolean {
    if (this.closed) return false;
    if (this.queued.length === 0) schedule(this);
    this.queued.push(chunk);
    this.queuedLength += chunk.length;
    return !this.needDrain && this.queuedLength + this.bufferedAtFlush < this.highWaterMark;
  }

  /** Calls back once this turn's write is done, with `res.write()`'s answer (false: wait for `drain`). */
  whenFlushed(listener: (ok: boolean) => void): void {
    this.afterFlush = listener;
  }

  /** A comment line (ignored by clients): heartbeats keep idle proxies and clients from timing out. */
  comment(text: string): boolean {
    return this.write(`: ${text}\n\n`);
  }

  /** Writes what this turn queued as one chunk (called by the turn's flush). */
  flushQueued(joins: Map<Chunk, { parts: Chunk[]; joined: Chunk }>): void {
    const parts = this.queued;
    if (parts.length === 0 || this.closed) return;
    this.queued = [];
    this.queuedLength = 0;
    const data = parts.length === 1 ? parts[0]! : join(parts, joins);
    writeStats.writes++;
    const ok = this.res.write(data);
    this.noteWrite(ok);
    this.flush();
    const after = this.afterFlush;
    this.afterFlush = undefined;
    after?.(ok);
  }

  /** Ends the stream (the client reconnects with its last id and resumes); queued frames go first. */
  end(): void {
    if (this.closed) return;
    if (this.queued.length > 0) {
      const data = this.queued.length === 1 ? this.queued[0]! : join(this.queued, new Map());
      this.queued = [];
      this.queuedLength = 0;
      this.res.write(data);
    }
    this.res.end();
  }

  /** Drops the connection at once, without a clean end (for slow consumers). */
  destroy(): void {
    if (this.closed) return;
    this.res.destroy();
  }

  /** After each `res.write()`: whether it asked for a `drain`, and what the response holds. */
  private noteWrite(ok: boolean): void {
    this.needDrain = !ok;
    this.bufferedAtFlush = this.res.writableLength;
  }

  private flush(): void {
    // compression() and similar middleware buffer until flushed.
    (this.res as ServerResponse & { flush?: () => void }).flush?.();
  }
}
