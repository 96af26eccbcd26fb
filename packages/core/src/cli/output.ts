/**
 * The CLI's stdout: text gathered into large chunks instead of one write per line. A refresh of
 * 100,000 entries was 100,000 writes (a system call each when stdout is a file or /dev/null);
 * now it is one write per 64 KiB, or per event-loop turn when less came (live changes are not held
 * back). Backpressure as before: a write the stream cannot take at once pauses the LDAP socket
 * (FlowControl) until `drain`. flush() writes what is held, and runs before every exit.
 * What is held are bytes in one buffer per chunk: text is written into it as its UTF-8 bytes,
 * and NDJSON built from entry records (protocol/record-json.ts) is written there directly, so no
 * string is built for it and none is converted once more on the way out.
 */
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { toBytes } from '../protocol/record-json.js';
import type { TextSink } from './format.js';

/** Bytes per chunk: large enough to make the per-write cost vanish, small enough to stay in cache. */
export const CHUNK_SIZE = 64 * 1024;

/** What ChunkedOutput needs of the LDAP side: pausing it while the reader catches up. */
export interface Pausable {
  readonly paused: boolean;
  pause(): void;
  resume(): void;
}

// Buffer's own latin1 writer, called directly (see protocol/attributes.ts for the same with slicing).
interface Latin1Writer {
  latin1Write(text: string, offset: number, length: number): number;
}
const direct = typeof (Buffer.prototype as unknown as Partial<Latin1Writer>).latin1Write === 'function';

export class ChunkedOutput implements TextSink {
  buf: Buffer;
  used = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private waiting = false;

  constructor(
    private readonly out: Writable,
    private readonly flow: Pausable,
    private readonly size: number = CHUNK_SIZE,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes held, not yet handed to the stream. */
  get pending(): number {
    return this.used;
  }

  write(text: string): void {
    this.writeBytes(toBytes(text));
  }

  /** Text already as its UTF-8 bytes, one character each (a byte string, see record-json.ts). */
  writeBytes(text: string): void {
    if (text === '') return;
    this.append(text);
    this.written();
  }

  /** writeBytes without handing anything on: see `written`. */
  append(text: string): void {
    const buf = this.room(text.length);
    this.used += direct
      ? (buf as unknown as Latin1Writer).latin1Write(text, this.used, text.length)
      : buf.write(text, this.used, 'latin1');
  }

  room(bytes: number): Buffer {
    if (this.buf.length - this.used < bytes) {
      // Doubled, so that a line that outgrows the chunk is copied a few times, not per value.
      const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.used + bytes));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    return this.buf;
  }

  /**
   * Before a line of at most about `bytes`: hands what is held on first when the line would not
   * fit, so that it is written in place instead of being copied to a larger buffer.
   */
  lineOf(bytes: number): void {
    if (this.used > 0 && this.buf.length - this.used < bytes) this.flush();
  }

  /** After bytes went into `buf` by `room`: hands a full chunk over, or schedules the rest. */
  written(): void {
    if (this.used >= this.size) this.flush();
    else if (this.used > 0) this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Hands what is held to the stream. */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.used === 0) return;
    // The stream keeps the chunk until it is written: the next bytes go to a new buffer.
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(this.size);
    this.used = 0;
    if (!this.out.write(chunk) && !this.waiting) {
      this.waiting = true;
      this.flow.pause();
      this.out.once('drain', () => {
        this.waiting = false;
        this.flow.resume();
      });
    }
  }

  /**
   * For an exit that cannot wait (a second Ctrl-C, or an exit on another path): writes what is
   * held straight to the file descriptor, best effort.
   */
  flushSync(fd: number): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.used === 0) return;
    const bytes = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(this.size);
    this.used = 0;
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    } catch {
      // EPIPE, EAGAIN on a non-blocking pipe: nothing more can be done on the way out
    }
  }
}
