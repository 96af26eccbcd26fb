/**
 * The CLI's stdout: text gathered into large chunks instead of one write per line. A refresh of
 * 100,000 entries was 100,000 writes (a system call each when stdout is a file or /dev/null);
 * now it is one write per 64 Ki characters, or per event-loop turn when less came (live changes are not held
 * back). Backpressure as before: a write the stream cannot take at once pauses the LDAP socket
 * (FlowControl) until `drain`. flush() writes what is held, and runs before every exit.
 * What is held is a byte string (UTF-8 bytes, one character each), written as latin1: lines built
 * from entry records (protocol/record-json.ts) are bytes already, other text is converted.
 */
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { toBytes } from '../protocol/record-json.js';

/** Characters (UTF-16 code units) per chunk: large enough to make the per-write cost vanish, small enough to stay in cache. */
export const CHUNK_SIZE = 64 * 1024;

/** What ChunkedOutput needs of the LDAP side: pausing it while the reader catches up. */
export interface Pausable {
  readonly paused: boolean;
  pause(): void;
  resume(): void;
}

export class ChunkedOutput {
  private held = '';
  private scheduled: NodeJS.Immediate | undefined;
  private waiting = false;

  constructor(
    private readonly out: Writable,
    private readonly flow: Pausable,
    private readonly size: number = CHUNK_SIZE,
  ) {}

  /** UTF-16 code units held, not yet handed to the stream. */
  get pending(): number {
    return this.held.length;
  }

  write(text: string): void {
    this.writeBytes(toBytes(text));
  }

  /** Text already as its UTF-8 bytes, one character each (a byte string, see record-json.ts). */
  writeBytes(text: string): void {
    if (text === '') return;
    // Appending makes a rope (no copy); the stream flattens and encodes it once per chunk.
    this.held += text;
    if (this.held.length >= this.size) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Hands what is held to the stream. */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.held === '') return;
    const text = this.held;
    this.held = '';
    if (!this.out.write(text, 'latin1') && !this.waiting) {
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
    if (this.held === '') return;
    const bytes = Buffer.from(this.held, 'latin1');
    this.held = '';
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    } catch {
      // EPIPE, EAGAIN on a non-blocking pipe: nothing more can be done on the way out
    }
  }
}
