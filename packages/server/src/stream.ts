/**
 * One SSE subscriber of one view. It pulls from the shared change log at its own pace:
 *
 *   start ─┬─ no cookie ─────────────► replay (present …) ─► ready ─► live (add/modify/delete …)
 *          ├─ cookie of this log ────► missed changes only ────► ready ─► live
 *          ├─ directory position ────► catch-up (touched entries) ► missed changes ► ready ► live
 *          └─ cookie we cannot ──────► reset ─► replay ─► ready ─► live
 *
 * (resume.ts decides which, before the session starts.)
 *
 * Backpressure: frames are queued for the turn's one write (sse.ts) up to the socket's high-water
 * mark; when that write leaves the socket above it, nothing more is queued until `drain`. The only per-subscriber state is a cursor, so a slow consumer costs no
 * memory: when the log has moved past its cursor, or it stays congested too long, it is cut off
 * and resumes later from its last id (docs/design.md invariant 5, docs/stream-contract.md §A3).
 *
 * Every `entry` and `ready` carries a resume cookie (see frames.ts). Present events carry a cookie
 * marked `replay`: resuming from one gives a reset and a new replay, so a client that left during
 * the replay still ends in the exact state.
 */
import type { Frames } from './frames.js';
import type { EventTally, Metrics } from './metrics.js';
import type { Logger } from '@syncrepl-rx/core';
import type { Mapped } from './resource.js';
import type { ResourceIndex } from './resource-index.js';
import type { CatchUp, StreamStart } from './resume.js';
import type { Upstream } from './source.js';
import { frame, type Chunk, type SseConnection } from './sse.js';
import { EVENT_ENTRY, EVENT_READY, EVENT_RESET } from './wire.js';
import { entryData, type SyncOp, type View } from './view.js';

export interface StreamContext {
  upstream: Upstream;
  index: ResourceIndex;
  frames: Frames;
  metrics: Metrics;
  slowClientTimeoutMs: number;
  logger: Logger;
  onEnd(stream: StreamSession): void;
}

type Kind = SyncOp | 'ready' | 'reset';

export class StreamSession {
  private cursor = 0;
  private snapshot: [entryUUID: string, mapped: Mapped][] | undefined;
  private snapshotIndex = 0;
  /** A catch-up, sent before the log (resume.ts), and its next chunk. */
  private catchUp: CatchUp | undefined;
  private catchUpIndex = 0;
  private replayCookie = '';
  private readyPending = true;
  private waitingForDrain = false;
  /** Stopped at the high-water mark with frames queued: the turn's write calls back. */
  private waitingForFlush = false;
  private ended = false;
  private readonly unlisten: () => void;
  private readonly counts: EventTally;

  constructor(
    readonly conn: SseConnection,
    readonly view: View,
    private readonly ctx: StreamContext,
    start: StreamStart,
  ) {
    this.counts = ctx.metrics.tally(view.resource.name);
    this.unlisten = ctx.upstream.on('change', () => this.pump());
    conn.onClose(() => this.finish());
    if (start.kind === 'resume') {
      this.cursor = start.from;
    } else if (start.kind === 'catchUp') {
      this.cursor = start.from;
      this.catchUp = start.catchUp;
    } else {
      if (start.reset) this.send('reset', frame(EVENT_RESET, '{}'));
      this.takeSnapshot();
    }
    this.pump();
  }

  /**
   * The view's entries now, at the log's current position. Mapped entries are immutable and the
   * index is current up to that position, so this is a consistent snapshot; the log supplies
   * whatever changes after it.
   */
  private takeSnapshot(): void {
    const { upstream, index, frames } = this.ctx;
    this.cursor = upstream.log.last;
    const snapshot: [string, Mapped][] = [];
    for (const [entryUUID, mapped] of index.group(this.view.params)) {
      const admitted = this.view.admitIndexed(entryUUID, mapped, upstream.store);
      if (admitted) snapshot.push([entryUUID, admitted]);
    }
    this.snapshot = snapshot;
    this.replayCookie = frames.cookie(this.view, this.cursor, true);
  }

  /**
   * Queues as much as the socket takes for this turn's write; called on start, after a write or a
   * `drain`, and on every new change.
   */
  pump(): void {
    if (this.ended || this.waitingForDrain || this.waitingForFlush || this.conn.isClosed) return;
    const log = this.ctx.upstream.log;
    let writable = !this.conn.congested;
    while (writable) {
      if (this.catchUp) {
        const { chunks, counts } = this.catchUp;
        if (this.catchUpIndex === 0) for (const [kind, n] of counts) this.counts[kind] += n;
        const chunk = chunks[this.catchUpIndex++];
        if (chunk !== undefined) {
          writable = this.conn.write(chunk);
          continue;
        }
        this.catchUp = undefined;
      }
      if (this.snapshot) {
        const item = this.snapshot[this.snapshotIndex++];
        if (item) {
          const [entryUUID, mapped] = item;
          const data = entryData({ syncOp: 'present', entryUUID, json: mapped.json });
          writable = this.send('present', frame(EVENT_ENTRY, data, this.replayCookie));
          continue;
        }
        this.snapshot = undefined; // release the references
      }
      if (this.cursor < log.last) {
        if (!log.canResumeFrom(this.cursor)) {
          // The log moved past this stream's position: it cannot keep up. It resumes by cookie.
          this.cutOff('fell behind the change log');
          return;
        }
        const record = log.get(this.cursor + 1)!;
        this.cursor = record.seq;
        for (const f of this.ctx.frames.forRecord(record, this.view)) writable = this.send(f.kind, f.bytes);
        continue;
      }
      if (this.readyPending) {
        this.readyPending = false;
        writable = this.send(
          'ready',
          frame(EVENT_READY, '{}', this.ctx.frames.cookie(this.view, this.cursor, false)),
        );
        continue;
      }
      return;
    }
    if (this.conn.isClosed) return;
    if (!this.conn.pending) {
      this.waitForDrain();
      return;
    }
    this.waitingForFlush = true;
    this.conn.whenFlushed((ok) => {
      this.waitingForFlush = false;
      if (ok) this.pump();
      else if (!this.conn.isClosed) this.waitForDrain();
    });
  }

  /** Queues one frame and counts it; false when the socket will want a `drain` first. */
  private send(kind: Kind, chunk: Chunk): boolean {
    this.counts[kind]++;
    return this.conn.write(chunk);
  }

  private waitForDrain(): void {
    this.waitingForDrain = true;
    const timer = setTimeout(() => this.cutOff('stopped reading'), this.ctx.slowClientTimeoutMs);
    timer.unref();
    this.conn.onceDrain(() => {
      clearTimeout(timer);
      this.waitingForDrain = false;
      this.pump();
    });
  }

  private cutOff(reason: string): void {
    if (this.ended) return;
    const resource = this.view.resource.name;
    this.ctx.metrics.slowDisconnects.inc({ resource });
    this.ctx.logger.info?.(`stream of ${resource} cut off: it ${reason}; it resumes by cookie`, { resource });
    this.conn.destroy();
    this.finish();
  }

  /** Sends a heartbeat comment when the stream is idle (not congested). */
  heartbeat(): void {
    if (!this.ended && !this.conn.congested) this.conn.comment('heartbeat');
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.snapshot = undefined;
    this.catchUp = undefined;
    this.unlisten();
    this.ctx.onEnd(this);
  }
}
