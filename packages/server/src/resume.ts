/**
 * Where a stream with a resume cookie continues (docs/stream-contract.md §K5 to §K7; docs/design.md
 * invariant 4 and "Scale"). In order:
 *
 *   1. this instance's own log position (same history, still held): continue after it;
 *   2. otherwise the directory position the cookie carries (a CSN set, position.ts), which means
 *      the same on every instance, provider and replica, before and after a crash:
 *        - the source is not ready, or has not yet replicated everything the client has
 *          (the client came from an instance whose provider is ahead): wait;
 *        - the log reaches back to that position: a catch-up. Every entry touched by a logged
 *          change the client's position does not cover is sent once, as it is now, then the
 *          stream continues live from the log's end: only what the client missed, no replay;
 *        - the log does not reach back that far: reset and replay;
 *   3. anything else (another view or source, a replay cookie, no position): reset and replay.
 *
 * No LDAP search is opened for a resume, and catch-ups of clients at the same position are
 * computed once (a few hundred clients of a dead instance arriving together cost one pass over
 * the log per distinct position).
 *
 * Why the catch-up is exact: each serverID's changes reach every server in CSN order, so a client
 * at position V holds every change that V covers; the instance waits until its own position
 * covers V, so it holds them too. An entry that no uncovered change touched has seen the same
 * changes on both sides and is equal; every other entry is sent in its current state.
 */
import type { Entry } from '@syncrepl-rx/core';
import type { ChangeLog, LogRecord } from './change-log.js';
import type { Frames } from './frames.js';
import { covers, coversAll, formatPosition, parsePosition, type Position } from './position.js';
import type { ResumePosition } from './resume-cookie.js';
import type { Upstream } from './source.js';
import { frame } from './sse.js';
import { EVENT_ENTRY } from './wire.js';
import { entryData, type SyncOp, type View } from './view.js';

export type StreamStart =
  | { kind: 'replay'; reset: boolean }
  | { kind: 'resume'; from: number }
  /** Send the catch-up, then continue from the log after `from`. */
  | { kind: 'catchUp'; catchUp: CatchUp; from: number };

/**
 * The entry events a client at one position missed, as SSE bytes in chunks of about 64 KB (a few
 * socket writes, under backpressure, the same Buffers for every client at that position), with how many
 * events of each kind it holds (for metrics).
 */
export interface CatchUp {
  readonly chunks: readonly Buffer[];
  readonly counts: ReadonlyMap<SyncOp, number>;
  readonly events: number;
  /** The chunks' length in bytes (what the cache is bounded by). */
  readonly size: number;
}

const CHUNK = 64 * 1024;
/** The catch-ups kept for clients still to come, in bytes. */
const CACHE_TEXT = 32 * 1024 * 1024;

export type ResumeDecision = StreamStart | { kind: 'wait'; why: 'not ready' | 'behind the client' };

/** Entries a position lacks changes of: entryUUID → the entry before the first such change. */
type Touched = Map<string, Entry | undefined>;

const CACHE_SIZE = 64;

export class Resumer {
  /** Catch-ups by `position|log.last`: clients at the same position share one pass over the log. */
  private readonly touchedCache = new Map<string, Touched>();
  private readonly catchUpCache = new Map<string, CatchUp>();
  private cachedText = 0;

  constructor(
    private readonly upstream: Upstream,
    private readonly frames: Frames,
    private readonly sourcePrint: string,
  ) {}

  /** What a stream with this cookie position (none: a fresh stream) does now. */
  decide(p: ResumePosition | undefined, view: View): ResumeDecision {
    const { upstream } = this;
    if (!upstream.ready) return { kind: 'wait', why: 'not ready' };
    if (p === undefined) return { kind: 'replay', reset: false };
    if (p.src !== this.sourcePrint || p.view !== view.fingerprint || p.replay) return RESET;
    const log = upstream.log;
    if (p.inst === log.instance && log.canResumeFrom(p.seq)) return { kind: 'resume', from: p.seq };
    const client = p.pos === undefined ? undefined : parsePosition(p.pos);
    if (!client) return RESET;
    const mine = upstream.position;
    if (!mine || !coversAll(mine, client)) return { kind: 'wait', why: 'behind the client' };
    const base = log.cover;
    const basePosition = base === undefined ? undefined : parsePosition(base);
    // The log must reach back to the client: every change before it is covered by the client.
    if (!basePosition || !coversAll(client, basePosition)) return RESET;
    return { kind: 'catchUp', catchUp: this.catchUp(client, view), from: log.last };
  }

  private catchUp(client: Position, view: View): CatchUp {
    const log = this.upstream.log;
    const key = `${formatPosition(client)}|${log.last}|${log.instance}`;
    const catchUpKey = `${key}|${view.fingerprint}`;
    const cached = this.catchUpCache.get(catchUpKey);
    if (cached) return cached;
    let touched = this.touchedCache.get(key);
    if (!touched) {
      touched = touchedSince(log, client);
      remember(this.touchedCache, key, touched);
    }
    const id = this.frames.positionCookie(view, formatPosition(client));
    const chunks: Buffer[] = [];
    let text = '';
    let size = 0;
    let events = 0;
    const counts = new Map<SyncOp, number>();
    const store = this.upstream.store;
    for (const [entryUUID, old] of touched) {
      const now = store.get(entryUUID);
      const record: LogRecord = { seq: 0, entryUUID, ...(old ? { old } : {}), ...(now ? { new: now } : {}) };
      for (const event of view.eventsFor(record)) {
        text += frame(EVENT_ENTRY, entryData(event), id);
        events++;
        counts.set(event.syncOp, (counts.get(event.syncOp) ?? 0) + 1);
        if (text.length >= CHUNK) {
          const bytes = Buffer.from(text);
          chunks.push(bytes);
          size += bytes.length;
          text = '';
        }
      }
    }
    if (text) {
      const bytes = Buffer.from(text);
      chunks.push(bytes);
      size += bytes.length;
    }
    const catchUp: CatchUp = { chunks, counts, events, size };
    this.cacheCatchUp(catchUpKey, catchUp);
    return catchUp;
  }

  /** Keeps a catch-up for the clients at its position still to come, within CACHE_TEXT. */
  private cacheCatchUp(key: string, catchUp: CatchUp): void {
    if (catchUp.size > CACHE_TEXT / 4) return; // a rare giant: computed again if asked again
    const cache = this.catchUpCache;
    while (cache.size > 0 && (cache.size >= CACHE_SIZE || this.cachedText + catchUp.size > CACHE_TEXT)) {
      const [oldest, value] = cache.entries().next().value!;
      cache.delete(oldest);
      this.cachedText -= value.size;
    }
    cache.set(key, catchUp);
    this.cachedText += catchUp.size;
  }
}

const RESET: StreamStart = { kind: 'replay', reset: true };

/** The entries that logged changes not covered by `client` touched, with their state before the first. */
function touchedSince(log: ChangeLog, client: Position): Touched {
  const touched: Touched = new Map();
  for (let seq = log.first; seq <= log.last; seq++) {
    const r = log.get(seq);
    if (!r || coveredBy(client, r) || touched.has(r.entryUUID)) continue;
    touched.set(r.entryUUID, r.old);
  }
  return touched;
}

function coveredBy(client: Position, r: LogRecord): boolean {
  if (r.csn !== undefined) return covers(client, r.csn);
  if (r.upper === undefined) return false;
  const upper = parsePosition(r.upper);
  return upper !== undefined && coversAll(client, upper);
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}
