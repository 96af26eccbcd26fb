/**
 * SSE bytes shared by every subscriber of the same view: the frames a logged change becomes, and
 * the resume cookies of each position, computed once per (view, change) instead of once per
 * subscriber. With 10,000 subscribers on one collection, a change costs one HMAC, one JSON frame
 * and one UTF-8 encoding into a Buffer, then 10,000 socket writes of that same Buffer.
 *
 * Views are identified by their fingerprint (resource, params, filter_* values and the
 * authorization `scope`), so an authorization hook must give the same `filter` for the same
 * `scope`.
 */
import type { LogRecord } from './change-log.js';
import { parsePosition } from './position.js';
import type { ResumeCookieCodec, ResumePosition } from './resume-cookie.js';
import type { Upstream } from './source.js';
import { frame } from './sse.js';
import { EVENT_ENTRY } from './wire.js';
import { entryData, type SyncOp, type View } from './view.js';

export interface Frame {
  kind: SyncOp;
  /** The whole SSE event (`event:`, `id:`, `data:`, blank line) in UTF-8. */
  bytes: Buffer;
}

const MAX_COOKIES = 4096;

export class Frames {
  private readonly byRecord = new WeakMap<LogRecord, Map<string, Frame[]>>();
  private readonly cookies = new Map<string, string>();

  constructor(
    private readonly codec: ResumeCookieCodec,
    private readonly sourceFingerprint: string,
    private readonly upstream: Upstream,
    /** Called once per (change, view) when its frames are built: right before their first write. */
    private readonly onBuilt?: (record: LogRecord) => void,
  ) {}

  /**
   * The frames of one logged change for one view. A change that becomes two events (a rename:
   * delete + add) gives the first the position *before* the change, so a client cut off between
   * the two resumes with both.
   */
  forRecord(record: LogRecord, view: View): Frame[] {
    let perView = this.byRecord.get(record);
    if (!perView) this.byRecord.set(record, (perView = new Map()));
    let frames = perView.get(view.fingerprint);
    if (!frames) {
      const events = view.eventsFor(record);
      frames = events.map((event, i) => ({
        kind: event.syncOp,
        bytes: Buffer.from(
          frame(
            EVENT_ENTRY,
            entryData(event),
            this.cookie(view, i === events.length - 1 ? record.seq : record.seq - 1, false),
          ),
        ),
      }));
      perView.set(view.fingerprint, frames);
      if (frames.length > 0) this.onBuilt?.(record);
    }
    return frames;
  }

  /**
   * The resume cookie of a directory position alone (no log position): the id of the events of
   * a catch-up, which lead from there to the log (resume.ts). A stream cut off during a catch-up
   * catches up again from the same position.
   */
  positionCookie(view: View, pos: string): string {
    return this.codec.encode({ src: this.sourceFingerprint, view: view.fingerprint, inst: '', seq: 0, pos });
  }

  /** The resume cookie of a position in this view (`replay`: taken during the initial replay). */
  cookie(view: View, seq: number, replay: boolean): string {
    const key = `${view.fingerprint}|${seq}|${replay ? 1 : 0}`;
    let cookie = this.cookies.get(key);
    if (cookie === undefined) {
      const log = this.upstream.log;
      const position: ResumePosition = {
        src: this.sourceFingerprint,
        view: view.fingerprint,
        inst: log.instance,
        seq,
        ...(replay ? { replay: true as const } : {}),
      };
      const pos = replay ? undefined : log.floorAt(seq);
      // A directory of more serverIDs than a cookie can carry resumes on this instance alone.
      if (pos !== undefined && parsePosition(pos) !== undefined) position.pos = pos;
      cookie = this.codec.encode(position);
      if (this.cookies.size >= MAX_COOKIES) this.cookies.clear();
      this.cookies.set(key, cookie);
    }
    return cookie;
  }
}
