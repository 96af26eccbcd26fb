/**
 * The bounded change log that serves resumes (seed 004 "Resuming a dropped stream"; DESIGN.md
 * invariant 4). Every entry change of a source gets the next sequence number; subscribers keep
 * a cursor into the log and pull what they have not sent yet, so one slow subscriber costs no
 * memory of its own: when the log has moved past its cursor, it is cut off and resumes later.
 *
 * With a directory, the log is persisted in LMDB next to the replica, so a restarted server
 * still resumes streams without a replay. Its `instance` id names one continuous history: a
 * fresh log (new directory, or a replica that started over) gets a new one, and cookies of
 * another instance are then resolved by their LDAP cookie or answered with a reset.
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
  /** The LDAP cookie the replica was at once this change was applied, when known. */
  ldap?: string;
}

export interface ChangeLogOptions {
  /** How many changes are kept for resumes. */
  capacity: number;
  /** Persist in this directory (LMDB); memory only when absent. */
  dir?: string;
  /** Start a new history even if one is stored (the replica started over). */
  fresh?: boolean;
}

const META_INSTANCE = 'instance';
/** Set by a clean close, cleared on open: without it, the last run crashed (see `open`). */
const META_CLEAN = 'clean';
const FORMAT = 1;

export class ChangeLog {
  private readonly ring: (LogRecord | undefined)[];
  private lastSeq: number;
  private firstSeq: number;

  private constructor(
    readonly instance: string,
    readonly capacity: number,
    records: LogRecord[],
    startSeq: number,
    private readonly db?: {
      root: RootDatabase;
      log: Database<LogRecord, number>;
      meta: Database<unknown, string>;
    },
  ) {
    this.ring = new Array<LogRecord | undefined>(capacity);
    this.lastSeq = startSeq;
    this.firstSeq = startSeq + 1;
    for (const r of records) this.put(r);
  }

  static async open(options: ChangeLogOptions): Promise<ChangeLog> {
    const capacity = Math.max(1, Math.floor(options.capacity));
    if (!options.dir) return new ChangeLog(newInstance(), capacity, [], 0);
    mkdirSync(options.dir, { recursive: true });
    const root = open({ path: options.dir, compression: false });
    const log = root.openDB<LogRecord, number>({ name: 'log', keyEncoding: 'uint32' });
    const meta = root.openDB<unknown, string>({ name: 'meta' });
    const stored = meta.get(META_INSTANCE) as { id?: unknown; format?: unknown } | undefined;
    // After a crash, the log's asynchronous writes and the replica's may have landed in any
    // order: records clients already saw can be missing and their sequence numbers reused for
    // other changes. Only a log closed cleanly keeps its history; otherwise old cookies reset.
    const clean = meta.get(META_CLEAN) === true;
    await meta.put(META_CLEAN, false);
    if (options.fresh || !clean || !stored || typeof stored.id !== 'string' || stored.format !== FORMAT) {
      await log.clearAsync();
      const id = newInstance();
      await meta.put(META_INSTANCE, { id, format: FORMAT });
      return new ChangeLog(id, capacity, [], 0, { root, log, meta });
    }
    const records: LogRecord[] = [];
    let last = 0;
    for (const { key } of log.getRange({ reverse: true, limit: 1 })) last = key;
    for (const { value } of log.getRange({ start: Math.max(0, last - capacity + 1) })) {
      if (isRecord(value)) records.push(value);
    }
    const start = records.length > 0 ? records[0]!.seq - 1 : last;
    return new ChangeLog(stored.id, capacity, records, start, { root, log, meta });
  }

  /** The sequence number of the newest change (0: none yet). */
  get last(): number {
    return this.lastSeq;
  }

  /** The oldest sequence number still held; a cursor at `first - 1` or later can resume. */
  get first(): number {
    return this.firstSeq;
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
      const drop = r.seq - this.capacity;
      if (drop > 0) void this.db.log.remove(drop);
    }
    return r;
  }

  /**
   * The sequence number after which a stream that had reached LDAP cookie `ldap` continues, for
   * a cookie minted by another instance. Only an exact, unambiguous match is trusted: one change
   * recorded with that very cookie. Undefined otherwise (the caller then resets).
   */
  seqOfLdapCookie(ldap: string): number | undefined {
    let found: number | undefined;
    for (let seq = this.lastSeq; seq >= this.firstSeq; seq--) {
      if (this.ring[seq % this.capacity]?.ldap !== ldap) continue;
      if (found !== undefined) return undefined;
      found = seq;
    }
    return found;
  }

  /** Waits for pending writes, marks the log as closed cleanly, and closes the database. */
  async close(): Promise<void> {
    if (!this.db) return;
    await this.db.root.flushed;
    await this.db.meta.put(META_CLEAN, true);
    await this.db.root.close();
  }

  private put(r: LogRecord): void {
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
