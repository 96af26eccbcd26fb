/**
 * One SSE subscriber of one view. It pulls from the shared change log at its own pace:
 *
 *   start ─┬─ no cookie ─────────────► replay (present …) ─► ready ─► live (add/modify/delete …)
 *          ├─ cookie we can honour ──► missed changes only ────► ready ─► live
 *          └─ cookie we cannot ──────► reset ─► replay ─► ready ─► live
 *
 * Backpressure: nothing is written while the socket is above its high-water mark; writing
 * resumes on `drain`. The only per-subscriber state is a cursor, so a slow consumer costs no
 * memory: when the log has moved past its cursor, or it stays congested too long, it is cut off
 * and resumes later from its last id (DESIGN.md invariant 5).
 *
 * Event ids: every `entry` and `ready` carries a resume cookie. A change that becomes two events
 * (a rename: delete + add) gives the first one the position *before* the change, so a client
 * cut off between the two resumes with both. Present events carry a cookie marked `replay`:
 * resuming from one gives a reset and a new replay, so the client still ends in the exact state.
 */
import type { LogRecord } from './change-log.js';
import type { Metrics } from './metrics.js';
import type { ResumeCookieCodec, ResumePosition } from './resume-cookie.js';
import type { Upstream } from './source.js';
import type { SseConnection } from './sse.js';
import { entryData, type SyncOp, type View, type ViewEvent } from './view.js';
import type { Mapped } from './resource.js';
import type { ServerLogger } from './options.js';

export type StreamStart = { kind: 'replay'; reset: boolean } | { kind: 'resume'; from: number };

export interface StreamContext {
  upstream: Upstream;
  codec: ResumeCookieCodec;
  sourceFingerprint: string;
  metrics: Metrics;
  slowClientTimeoutMs: number;
  logger: ServerLogger;
  onEnd(stream: StreamSession): void;
}

export class StreamSession {
  private cursor = 0;
  private snapshot: { entryUUID: string; mapped: Mapped }[] | undefined;
  private snapshotAt = 0;
  private snapshotIndex = 0;
  private replayCookie = '';
  private readyPending = true;
  private waitingForDrain = false;
  private congestedSince: number | undefined;
  private ended = false;
  private readonly unlisten: () => void;

  constructor(
    readonly conn: SseConnection,
    readonly view: View,
    private readonly ctx: StreamContext,
    start: StreamStart,
  ) {
    const { upstream } = ctx;
    this.unlisten = upstream.on('change', () => this.pump());
    conn.onClose(() => this.finish());
    if (start.kind === 'resume') {
      this.cursor = start.from;
    } else {
      if (start.reset) this.write('reset', '{}');
      this.takeSnapshot();
    }
    this.pump();
  }

  /** Entries in view now, at log position `snapshotAt`: entries are immutable, so this is consistent. */
  private takeSnapshot(): void {
    const { upstream } = this.ctx;
    this.snapshotAt = upstream.log.last;
    this.cursor = this.snapshotAt;
    const snapshot: { entryUUID: string; mapped: Mapped }[] = [];
    for (const [entryUUID, entry] of upstream.store.entries()) {
      const mapped = this.view.admit(entry);
      if (mapped) snapshot.push({ entryUUID, mapped });
    }
    this.snapshot = snapshot;
    this.replayCookie = this.cookie(this.snapshotAt, true);
  }

  /** Writes as much as the socket takes; called on start, on drain, and on every new change. */
  pump(): void {
    if (this.ended || this.waitingForDrain) return;
    const log = this.ctx.upstream.log;
    while (!this.conn.congested) {
      if (this.conn.isClosed) return;
      if (this.snapshot) {
        const item = this.snapshot[this.snapshotIndex++];
        if (item) {
          this.write(
            'present',
            entryData({ syncOp: 'present', entryUUID: item.entryUUID, json: item.mapped.json }),
            this.replayCookie,
          );
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
        this.writeRecord(record, this.view.eventsFor(record));
        this.cursor = record.seq;
        continue;
      }
      if (this.readyPending) {
        this.readyPending = false;
        this.write('ready', '{}', this.cookie(this.cursor, false));
      }
      this.congestedSince = undefined;
      return;
    }
    this.waitForDrain();
  }

  private writeRecord(record: LogRecord, events: ViewEvent[]): void {
    events.forEach((event, i) => {
      const last = i === events.length - 1;
      this.write(event.syncOp, entryData(event), this.cookie(last ? record.seq : record.seq - 1, false));
    });
  }

  /** Writes an `entry` (kind = its syncOp) or a `ready`/`reset` event, and counts it. */
  private write(kind: SyncOp | 'ready' | 'reset', data: string, id?: string): void {
    this.conn.event(kind === 'ready' || kind === 'reset' ? kind : 'entry', data, id);
    this.ctx.metrics.events.inc({ resource: this.view.resource.name, event: kind });
  }

  private waitForDrain(): void {
    this.waitingForDrain = true;
    this.congestedSince ??= Date.now();
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
    this.ctx.metrics.slowDisconnects.inc({ resource: this.view.resource.name });
    this.ctx.logger.info?.(
      `stream of ${this.view.resource.name} cut off: it ${reason}; it resumes by cookie`,
      {
        resource: this.view.resource.name,
      },
    );
    this.conn.destroy();
    this.finish();
  }

  private cookie(seq: number, replay: boolean): string {
    const position: ResumePosition = {
      src: this.ctx.sourceFingerprint,
      view: this.view.fingerprint,
      inst: this.ctx.upstream.log.instance,
      seq,
      ...(replay ? { replay: true as const } : {}),
    };
    const ldap = this.ctx.upstream.log.get(seq)?.ldap;
    if (ldap !== undefined && !replay) position.ldap = ldap;
    return this.ctx.codec.encode(position);
  }

  /** Sends a heartbeat comment when the stream is idle (not congested). */
  heartbeat(): void {
    if (!this.ended && !this.conn.congested) this.conn.comment('heartbeat');
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.snapshot = undefined;
    this.unlisten();
    this.ctx.onEnd(this);
  }
}
