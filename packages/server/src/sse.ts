/**
 * One `text/event-stream` response (the SSE wire format, WHATWG HTML §9.2), written with care:
 * headers that keep proxies from buffering or transforming, a `retry:` hint, heartbeat comments,
 * a flush after each event, `write()`'s return value respected, and cleanup on `close`.
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

export class SseConnection {
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    readonly res: ServerResponse,
    options: SseOptions,
  ) {
    res.writeHead(200, SSE_HEADERS);
    res.socket?.setNoDelay(true);
    res.write(`retry: ${options.retryMs}\n\n`);
    this.flush();
    const onClose = () => {
      if (this.closed) return;
      this.closed = true;
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
    return this.res.writableNeedDrain;
  }

  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  onceDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }

  /** Writes a whole frame (see `frame()`); false when the caller should wait for `drain`. */
  write(text: string): boolean {
    if (this.closed) return false;
    const ok = this.res.write(text);
    this.flush();
    return ok;
  }

  /** A comment line (ignored by clients): heartbeats keep idle proxies and clients from timing out. */
  comment(text: string): boolean {
    if (this.closed) return false;
    const ok = this.res.write(`: ${text}\n\n`);
    this.flush();
    return ok;
  }

  /** Ends the stream (the client reconnects with its last id and resumes). */
  end(): void {
    if (this.closed) return;
    this.res.end();
  }

  /** Drops the connection at once, without a clean end (for slow consumers). */
  destroy(): void {
    if (this.closed) return;
    this.res.destroy();
  }

  private flush(): void {
    // compression() and similar middleware buffer until flushed.
    (this.res as ServerResponse & { flush?: () => void }).flush?.();
  }
}
