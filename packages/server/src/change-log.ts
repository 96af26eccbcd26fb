/**
 * The bounded change log that serves resumes (seed 004 "Resuming a dropped stream"; DESIGN.md
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
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Entry } from '@syncrepl-rx/core';

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
   * For a change whose CSN is unknown (a refresh's delete): a position (formatted) that covers
   * it, the cookie that ended its refresh. Absent until that refresh ended.
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
  /** For a new history: the directory position (formatted) of the state before its first change. */
  base?: string;
}

const META_INSTANCE = 'instance';
/** Set by a clean close, cleared on open: without it, the last run crashed (see `open`). */
const META_CLEAN = 'clean';
/**
 * The floor position before the first record of a history. Later, the database keeps one record
 * more than the window: that record's floor is the base (see `open`).
 */
const META_BASE = 'base';
const FORMAT = 2;

export class ChangeLog {
  private readonly ring: (LogRecord | undefined)[];
  private lastSeq: number;
  private firstSeq: number;
  /** The floor position of the state before `firstSeq` (formatted), when known. */
  private baseFloor: string | undefined;

  private constructor(
    readonly instance: string,
    readonly capacity: number,
    records: LogRecord[],
    startSeq: number,
    base: string | undefined,
    private readonly db?: {
      root: RootDatabase;
      log: Database<LogRecord, number>;
      meta: Database<unknown, string>;
    },
  ) {
    this.ring = new Array<LogRecord | undefined>(capacity);
    this.lastSeq = startSeq;
    this.firstSeq = startSeq + 1;
    this.baseFloor = base;
    for (const r of records) this.put(r);
  }

  static async open(options: ChangeLogOptions): Promise<ChangeLog> {
    const capacity = Math.max(1, Math.floor(options.capacity));
    if (!options.dir) return new ChangeLog(newInstance(), capacity, [], 0, options.base);
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
      if (options.base !== undefined) await meta.put(META_BASE, options.base);
      else await meta.remove(META_BASE);
      return new ChangeLog(id, capacity, [], 0, options.base, { root, log, meta });
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
    const records: LogRecord[] = [];
    let last = 0;
    for (const { key } of log.getRange({ reverse: true, limit: 1 })) last = key;
    const from = Math.max(1, last - capacity + 1);
    const storedBase = meta.get(META_BASE);
    let base = typeof storedBase === 'string' ? storedBase : undefined;
    for (const { value } of log.getRange({ start: from - 1 })) {
      if (!isRecord(value)) continue;
      if (value.seq < from)
        base = value.floor; // the record before the window: its floor is the base
      else records.push(value);
    }
    const start = records.length > 0 ? records[0]!.seq - 1 : last;
    return new ChangeLog(id, capacity, records, start, base, { root, log, meta });
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
    if (seq === this.firstSeq - 1) return this.baseFloor;
    return this.get(seq)?.floor;
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
      this.baseFloor = floor;
      if (this.db) void this.db.meta.put(META_BASE, floor);
    }
  }

  /**
   * Marks the changes after `afterSeq` whose CSN is unknown as covered by `position` (formatted):
   * the cookie that ended the refresh they came in.
   */
  coverUnknown(afterSeq: number, position: string): void {
    for (let seq = Math.max(afterSeq + 1, this.firstSeq); seq <= this.lastSeq; seq++) {
      const r = this.get(seq);
      if (!r || r.csn !== undefined || r.upper !== undefined) continue;
      r.upper = position;
      if (this.db) void this.db.log.put(r.seq, r);
    }
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
    this.put(r);
    if (this.db) {
      // lmdb batches puts made in one turn of the event loop into one transaction.
      void this.db.log.put(r.seq, r);
      // One record before the window is kept: its floor is the window's base after a crash.
      const drop = r.seq - this.capacity - 1;
      if (drop > 0) void this.db.log.remove(drop);
    }
    return r;
  }

  /** Resolves when every record appended so far is written (for tests of crashes). */
  async flushed(): Promise<void> {
    await this.db?.root.flushed;
  }

  /** Waits for pending writes, marks the log as closed cleanly, and closes the database. */
  async close(): Promise<void> {
    if (!this.db) return;
    await this.db.root.flushed;
    if (this.baseFloor !== undefined) await this.db.meta.put(META_BASE, this.baseFloor);
    else await this.db.meta.remove(META_BASE);
    await this.db.meta.put(META_CLEAN, true);
    await this.db.root.close();
  }

  private put(r: LogRecord): void {
    const evicted = this.ring[r.seq % this.capacity];
    if (evicted && evicted.seq === r.seq - this.capacity) this.baseFloor = evicted.floor;
    this.ring[r.seq % this.capacity] = r;
    this.lastSeq = r.seq;
    this.firstSeq = Math.max(this.firstSeq, r.seq - this.capacity + 1);
  }
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
