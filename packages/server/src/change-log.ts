/**
 * The bounded change log that serves resumes (docs/stream-contract.md §K; docs/design.md
 * invariant 4). Every entry change of a source gets the next sequence number; subscribers keep
 * a cursor into the log and pull what they have not sent yet, so one slow subscriber costs no
 * memory of its own: when the log has moved past its cursor, it is cut off and resumes later.
 *
 * With a directory, the log is persisted in LMDB next to the replica, so a restarted server
 * still resumes streams without a replay. Its `instance` id names one continuous history: a
 * fresh log (new directory, or a replica that started over) gets a new one, and so does the
 * history that goes on after a crash (its sequence numbers may have been seen differently).
 *
 * Each record also says where it stands in the directory (position.ts): the CSN of the change,
 * when known, and the floor position after it. Those are the same on every server instance, so
 * a cookie of another instance, or of this one before a crash, is resolved by them (resume.ts).
 *
 * The state before the window has two positions: its floor (a lower bound: every change it
 * covers is in that state; a cookie at `first - 1` carries it) and its cover (an upper bound:
 * it covers every change in that state). A catch-up is exact only for a client whose position
 * covers the cover, since the changes before the window are no longer there to send. Records
 * leaving the window carry their CSN (or, for a refresh's delete, the cookie that ended their
 * refresh) into the cover; a record of unknown CSN makes it unknown until a refresh ends.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Entry } from '@syncrepl-rx/core';
import { formatPosition, merged, parsePosition } from './position.js';

export interface LogRecord {
  seq: number;
  entryUUID: string;
  /** The entry before the change; absent for an add. */
  old?: Entry;
  /** The entry after the change; absent for a delete. */
  new?: Entry;
  /** The CSN of this change (its entry's entryCSN, or what its persist cookie moved), when known. */
  csn?: string;
  /**
   * The directory position (formatted, see position.ts) that the state after this change covers:
   * every change with a CSN it covers is applied. Absent when unknown.
   */
  floor?: string;
  /**
   * For a change whose CSN is unknown: a position (formatted) that covers it. For a refresh's
   * delete, the cookie that ended its refresh (absent until then); in the persist stage, the
   * cookie the change came with.
   */
  upper?: string;
}

export interface ChangeLogOptions {
  /** How many changes are kept for resumes. */
  capacity: number;
  /** Persist in this directory (LMDB); memory only when absent. */
  dir?: string;
  /** Start a new history even if one is stored (the replica started over). */
  fresh?: boolean;
  /**
   * For a new history: the floor position (formatted) of the state before its first change. Its
   * cover is unknown until a refresh ends (a replica's state may be ahead of its cookie).
   */
  base?: string;
}

/** The state before the window: floor (lower bound) and cover (upper bound), formatted. */
interface Base {
  floor?: string;
  cover?: string;
}

const META_INSTANCE = 'instance';
/** Set by a clean close, cleared on open: without it, the last run crashed (see `open`). */
const META_CLEAN = 'clean';
/** The Base of the window, written with every append that moves it. */
const META_BASE = 'base';
const FORMAT = 3;

export class ChangeLog {
  private readonly ring: (LogRecord | undefined)[];
  private lastSeq: number;
  private firstSeq: number;
  /** The state before `firstSeq`. */
  private base: Base;

  private constructor(
    readonly instance: string,
    readonly capacity: number,
    records: LogRecord[],
    startSeq: number,
    base: Base,
    private readonly db?: {
      root: RootDatabase;
      log: Database<LogRecord, number>;
      meta: Database<unknown, string>;
    },
  ) {
    this.ring = new Array<LogRecord | undefined>(capacity);
    this.lastSeq = startSeq;
    this.firstSeq = startSeq + 1;
    this.base = base;
    for (const r of records) this.put(r);
  }

  static async open(options: ChangeLogOptions): Promise<ChangeLog> {
    const capacity = Math.max(1, Math.floor(options.capacity));
    const fresh: Base = options.base === undefined ? {} : { floor: options.base };
    if (!options.dir) return new ChangeLog(newInstance(), capacity, [], 0, fresh);
    mkdirSync(options.dir, { recursive: true });
    const root = open({ path: options.dir, compression: false });
    const log = root.openDB<LogRecord, number>({ name: 'log', keyEncoding: 'uint32' });
    const meta = root.openDB<unknown, string>({ name: 'meta' });
    const stored = meta.get(META_INSTANCE) as { id?: unknown; format?: unknown } | undefined;
    const clean = meta.get(META_CLEAN) === true;
    await meta.put(META_CLEAN, false);
    if (options.fresh || !stored || typeof stored.id !== 'string' || stored.format !== FORMAT) {
      await log.clearAsync();
      const id = newInstance();
      await meta.put(META_INSTANCE, { id, format: FORMAT });
      await meta.put(META_BASE, fresh);
      return new ChangeLog(id, capacity, [], 0, fresh, { root, log, meta });
    }
    // After a crash, the records written last may be missing (lmdb-js commits them in order, so
    // what is there is a prefix of what was appended), and the sequence numbers after them were
    // given to changes clients may have seen. So the history goes on under a new instance id:
    // sequence numbers from before no longer match, but every record kept is a real change at
    // its directory position, and positions resume as before (resume.ts).
    let id = stored.id;
    if (!clean) {
      id = newInstance();
      await meta.put(META_INSTANCE, { id, format: FORMAT });
    }
    // The stored base belongs to the first stored record; records beyond a smaller capacity
    // leave the window as they are loaded, carrying their positions into the base.
    const records: LogRecord[] = [];
    let last = 0;
    for (const { value } of log.getRange({})) {
      if (!isRecord(value)) continue;
      records.push(value);
      last = value.seq;
    }
    const start = records.length > 0 ? records[0]!.seq - 1 : last;
    const loaded = new ChangeLog(id, capacity, records, start, asBase(meta.get(META_BASE)), {
      root,
      log,
      meta,
    });
    for (const r of records) if (r.seq < loaded.first) void log.remove(r.seq);
    void meta.put(META_BASE, loaded.base);
    return loaded;
  }

  /** The sequence number of the newest change (0: none yet). */
  get last(): number {
    return this.lastSeq;
  }

  /** The oldest sequence number still held; a cursor at `first - 1` or later can resume. */
  get first(): number {
    return this.firstSeq;
  }

  /** The floor position (formatted) of the state after `seq`, for `first - 1 <= seq <= last`. */
  floorAt(seq: number): string | undefined {
    if (seq === this.firstSeq - 1) return this.base.floor;
    return this.get(seq)?.floor;
  }

  /**
   * A position (formatted) covering every change in the state before the window, when known: a
   * client whose position covers it lacks nothing from before the window.
   */
  get cover(): string | undefined {
    return this.base.cover;
  }

  /**
   * Raises the floor of the newest change (or of the base, with no change held) to `floor`: a
   * cookie that came without a change of its own (the end of a refresh, a newcookie) covers the
   * state after the last one.
   */
  raiseFloor(floor: string): void {
    const last = this.get(this.lastSeq);
    if (last) {
      last.floor = floor;
      if (this.db) void this.db.log.put(last.seq, last);
    } else if (this.lastSeq === this.firstSeq - 1) {
      // No change held: the state is the directory at this cookie, which covers all of it.
      this.setBase({ floor, cover: floor });
    }
  }

  /**
   * A refresh ended with the cookie at `position` (formatted), which covers every change applied
   * before it: it becomes the bound of the changes whose CSN is unknown (a refresh's deletes),
   * and the cover of the state before the window if that was unknown.
   */
  coverUnknown(position: string): void {
    for (let seq = this.firstSeq; seq <= this.lastSeq; seq++) {
      const r = this.get(seq);
      if (!r || r.csn !== undefined || r.upper !== undefined) continue;
      r.upper = position;
      if (this.db) void this.db.log.put(r.seq, r);
    }
    if (this.base.cover === undefined) this.setBase({ ...this.base, cover: position });
  }

  /** Whether a subscriber that has delivered everything up to `seq` can continue from the log. */
  canResumeFrom(seq: number): boolean {
    return seq >= this.firstSeq - 1 && seq <= this.lastSeq;
  }

  get(seq: number): LogRecord | undefined {
    if (seq < this.firstSeq || seq > this.lastSeq) return undefined;
    return this.ring[seq % this.capacity];
  }

  append(record: Omit<LogRecord, 'seq'>): LogRecord {
    const r: LogRecord = { seq: this.lastSeq + 1, ...record };
    const evicted = this.put(r);
    if (this.db) {
      // lmdb batches puts made in one turn of the event loop into one transaction: the record,
      // the one it pushed out and the base move together.
      void this.db.log.put(r.seq, r);
      if (evicted) {
        void this.db.log.remove(evicted.seq);
        void this.db.meta.put(META_BASE, this.base);
      }
    }
    return r;
  }

  /** Resolves when every record appended so far is on disk (the replica store waits for it). */
  async flushed(): Promise<void> {
    await this.db?.root.flushed;
  }

  /** Waits for pending writes, marks the log as closed cleanly, and closes the database. */
  async close(): Promise<void> {
    if (!this.db) return;
    await this.db.root.flushed;
    await this.db.meta.put(META_BASE, this.base);
    await this.db.meta.put(META_CLEAN, true);
    await this.db.root.close();
  }

  private setBase(base: Base): void {
    this.base = base;
    if (this.db) void this.db.meta.put(META_BASE, base);
  }

  /** Puts a record in the ring; answers the record it pushed out of the window, if any. */
  private put(r: LogRecord): LogRecord | undefined {
    const slot = this.ring[r.seq % this.capacity];
    const evicted = slot && slot.seq === r.seq - this.capacity ? slot : undefined;
    if (evicted) this.base = { floor: evicted.floor, cover: absorbed(this.base.cover, evicted) };
    this.ring[r.seq % this.capacity] = r;
    this.lastSeq = r.seq;
    this.firstSeq = Math.max(this.firstSeq, r.seq - this.capacity + 1);
    return evicted;
  }
}

/** The cover of the state once `r` left the window: unknown if `r`'s CSN has no known bound. */
function absorbed(cover: string | undefined, r: LogRecord): string | undefined {
  const bound = r.csn ?? r.upper;
  if (cover === undefined || bound === undefined) return undefined;
  const c = parsePosition(cover);
  if (!c) return undefined;
  let out = merged(c, r.csn !== undefined ? r.csn : (parsePosition(bound) ?? new Map()));
  const floor = r.floor === undefined ? undefined : parsePosition(r.floor);
  if (floor) out = merged(out, floor);
  return formatPosition(out);
}

function asBase(value: unknown): Base {
  if (typeof value !== 'object' || value === null) return {};
  const { floor, cover } = value as Record<string, unknown>;
  return {
    ...(typeof floor === 'string' ? { floor } : {}),
    ...(typeof cover === 'string' ? { cover } : {}),
  };
}

function newInstance(): string {
  return randomBytes(9).toString('base64url');
}

function isRecord(v: unknown): v is LogRecord {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as LogRecord).seq === 'number' &&
    typeof (v as LogRecord).entryUUID === 'string'
  );
}
