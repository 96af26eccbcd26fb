/**
 * Tabs of one origin sharing one stream: a leader, elected with Web Locks, holds the connection
 * and writes the local copy; the other tabs (followers) get every event it applies, and its
 * status, over a BroadcastChannel, and apply them to their own copy of the state (SPEC.md M1–M10).
 *
 *   tab A (leader)  ── SSE ── server            lock `syncrepl-rx <url>` held by A
 *      │ events (epoch, seq), status, lead
 *      ▼
 *   BroadcastChannel `syncrepl-rx <url>` ──► tab B, tab C (followers: same events, same state)
 *      ▲
 *      └── hello (the position B's stored copy covers) ──► welcome (the events since, or a snapshot)
 *
 * Positions `{ epoch, seq }` and the messages are in tab-messages.ts; Web Locks, BroadcastChannel
 * and the page lifecycle come in as a `TabSharing` (tab-sharing.ts), so tests use fakes.
 *
 * This module is the group's protocol only: what the state is and how events apply belongs to the
 * collection (the `TabHost`). It is one concern, the state machine of one tab in its group, kept
 * in one class because both roles share what it holds: a tab moves between them (elected, frozen,
 * resumed) keeping its position, and a follower's position becomes its term's base when it leads.
 */
import { randomId } from './random-id.js';
import type { SseEvent } from './sse.js';
import type { LeaderStatus, TabRole } from './state.js';
import {
  RELAY_LOG_SIZE,
  fromWire,
  samePosition,
  toWire,
  type Message,
  type Position,
  type RelayedEvent,
  type Snapshot,
  type WireStatus,
} from './tab-messages.js';
import type { ChannelLike, TabSharing } from './tab-sharing.js';

/** What the group needs of the collection. */
export interface TabHost<Body> {
  /** Follower: applies one relayed event, exactly as the leader did. */
  applyEvent(event: RelayedEvent): void;
  /** Follower: takes the leader's state. */
  applySnapshot(snapshot: Snapshot<Body>): void;
  /** Follower: takes the leader's status. */
  followStatus(status: LeaderStatus): void;
  /** Leader: its state now, for a follower that needs a snapshot. */
  snapshot(): Snapshot<Body>;
  /**
   * This tab now leads, from the state at `base` (what it loaded, or followed up to; undefined:
   * not known). It must connect, and write (M8).
   */
  lead(base: Position | undefined): void;
  /** Leader: stops the connection and the writing, because the page is being frozen (M9). */
  stepDown(): void;
  /** Leader: a follower called `reconnect()`. */
  reconnect(): void;
  /** This tab's role changed. */
  roleChanged(role: TabRole): void;
}

/**
 * One collection's membership of its stream's group: the election, and the relay in both roles.
 *
 * @example
 * const group = new TabGroup('syncrepl-rx https://x/realm?subscribe=1', sharing, host);
 * group.join(storedPosition); // hello to the leader; queues for the lock
 * // as leader: group.publish(event, dropped, replaying) after applying each event
 */
export class TabGroup<Body> {
  /** This tab's id (hello / welcome are addressed by it). */
  readonly id = randomId();
  private channel: ChannelLike | undefined;
  private abort: AbortController | undefined;
  private release: (() => void) | undefined;
  private stopLifecycle: (() => void) | undefined;
  private closed = false;
  private paused = false;

  private role_: TabRole = 'follower';
  /** Follower: the position of the state held; leader: `{ epoch, seq }` of the last event published. */
  private pos: Position | undefined;
  /** Follower: whether `pos` is known to be on the current leader's line. */
  private synced = false;
  /** Follower: the current leader's epoch, once heard of. */
  private leaderEpoch: string | undefined;
  /** Follower: events received while not synced, applied once the welcome arrives. */
  private buffered: { epoch: string; item: RelayedEvent }[] = [];

  /** Leader: its term's base, its log, and what waits for the end of the task to be posted. */
  private base: Position | undefined;
  private log: RelayedEvent[] = [];
  private outbox: Message[] = [];
  private flushQueued = false;
  private lastStatus: WireStatus | undefined;

  constructor(
    private readonly name: string,
    private readonly sharing: TabSharing,
    private readonly host: TabHost<Body>,
  ) {}

  get role(): TabRole {
    return this.role_;
  }

  /** The position of the state this tab holds (what a stored meta written now covers). */
  get position(): Position | undefined {
    return this.pos;
  }

  /**
   * Joins the group from the state at `pos` (what the stored copy covers; undefined: not known).
   * Says hello to the leader, if there is one, and queues for the lock.
   */
  join(pos: Position | undefined): void {
    if (this.closed) return;
    this.pos = pos;
    this.synced = false;
    this.stopLifecycle ??= this.sharing.lifecycle?.(
      () => this.pause(),
      () => this.resume(),
    );
    this.open();
  }

  private open(): void {
    this.leaderEpoch = undefined; // learnt again from the welcome or the next `lead`
    const channel = this.sharing.channel(this.name);
    this.channel = channel;
    channel.onmessage = (e) => this.receive(e.data as Message);
    this.post({ t: 'hello', from: this.id, pos: this.pos });
    const abort = new AbortController();
    this.abort = abort;
    this.sharing.locks
      .request(this.name, { signal: abort.signal }, () => {
        // Granted to a request this tab has given up meanwhile: let go at once.
        if (abort.signal.aborted || this.closed || this.paused) return Promise.resolve();
        return new Promise<void>((resolve) => {
          this.release = resolve;
          this.becomeLeader();
        });
      })
      .catch(() => {
        // AbortError: this tab left the queue (closed, or paused) before it was granted.
      });
  }

  /** Leaves the group for good: a leader first lets its caller flush, then releases the lock. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopLifecycle?.();
    this.leave();
  }

  private leave(): void {
    this.flush();
    this.abort?.abort();
    this.abort = undefined;
    this.release?.();
    this.release = undefined;
    if (this.channel) {
      this.channel.onmessage = null;
      this.channel.close();
      this.channel = undefined;
    }
  }

  /** The page is frozen (or cached): a leader steps down, and nobody waits for the lock (M9). */
  private pause(): void {
    if (this.closed || this.paused) return;
    this.paused = true;
    if (this.role_ === 'leader') {
      this.host.stepDown();
      this.setRole('follower');
      this.synced = false;
    }
    this.leave();
  }

  private resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.synced = false;
    this.open();
  }

  // ── leader ────────────────────────────────────────────────────────────────────────────────
  private becomeLeader(): void {
    // What arrived while waiting for a welcome that will not come: usable if it continues pos.
    if (!this.synced) this.drain(false);
    const base = this.pos;
    this.base = base;
    const epoch = randomId();
    this.pos = { epoch, seq: 0 };
    this.leaderEpoch = epoch;
    this.log = [];
    this.buffered = [];
    this.synced = true;
    this.setRole('leader');
    this.post({ t: 'lead', epoch, base });
    this.host.lead(base);
  }

  /** Leader: relays one applied event; returns its seq. */
  publish(event: SseEvent, dropped: readonly string[] | undefined, replaying: boolean): number {
    if (this.role_ !== 'leader' || !this.pos) return 0;
    const seq = this.pos.seq + 1;
    this.pos = { epoch: this.pos.epoch, seq };
    const item: RelayedEvent = dropped ? { seq, event, dropped, replaying } : { seq, event, replaying };
    this.log.push(item);
    if (this.log.length > 2 * RELAY_LOG_SIZE) this.log = this.log.slice(-RELAY_LOG_SIZE);
    const last = this.outbox.at(-1);
    if (last?.t === 'events') last.items.push(item);
    else this.queue({ t: 'events', epoch: this.pos.epoch, items: [item] });
    return seq;
  }

  /** Leader: relays its status. */
  publishStatus(status: LeaderStatus): void {
    if (this.role_ !== 'leader' || !this.pos) return;
    this.lastStatus = toWire(status);
    this.queue({ t: 'status', epoch: this.pos.epoch, status: this.lastStatus });
  }

  /** Follower: asks the leader to reconnect. */
  requestReconnect(): void {
    if (this.role_ === 'follower') this.post({ t: 'reconnect' });
  }

  /** Messages go out together at the end of the task: one structured clone per burst of events. */
  private queue(message: Message): void {
    this.outbox.push(message);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    const out = this.outbox;
    this.outbox = [];
    for (const m of out) this.post(m);
  }

  private post(message: Message): void {
    this.channel?.postMessage(message);
  }

  private welcome(hello: Extract<Message, { t: 'hello' }>): void {
    const pos = this.pos!;
    const first = this.log[0]?.seq ?? pos.seq + 1;
    // The events since the hello's position, if the log still has them all (M5).
    let after: number | undefined;
    if (hello.pos?.epoch === pos.epoch && hello.pos.seq <= pos.seq && hello.pos.seq >= first - 1)
      after = hello.pos.seq;
    else if (samePosition(hello.pos, this.base) && first === 1) after = 0;
    this.flush(); // what is queued goes first (a follower skips what it then has twice)
    const common = {
      t: 'welcome',
      to: hello.from,
      epoch: pos.epoch,
      seq: pos.seq,
      status: this.lastStatus,
    } as const;
    if (after !== undefined) {
      this.post({ ...common, from: hello.pos, items: this.log.slice(this.log.length - (pos.seq - after)) });
    } else {
      this.post({ ...common, snapshot: this.host.snapshot() as Snapshot<unknown> });
    }
  }

  // ── follower ──────────────────────────────────────────────────────────────────────────────
  private receive(message: Message): void {
    if (this.closed || this.paused) return;
    if (this.role_ === 'leader') {
      if (message.t === 'hello') this.welcome(message);
      else if (message.t === 'reconnect') this.host.reconnect();
      return;
    }
    switch (message.t) {
      case 'lead':
        this.onLead(message);
        return;
      case 'events':
        if (!this.synced) {
          for (const item of message.items) this.buffered.push({ epoch: message.epoch, item });
          return;
        }
        this.onEvents(message.epoch, message.items);
        return;
      case 'status':
        if (message.epoch === this.leaderEpoch) this.host.followStatus(fromWire(message.status));
        return;
      case 'welcome':
        // From the leader this tab knows of (a term gone by may have answered an earlier hello).
        if (message.to === this.id && (this.leaderEpoch ?? message.epoch) === message.epoch) {
          this.onWelcome(message);
        }
        return;
      default:
      // hello and reconnect are for the leader
    }
  }

  private onLead(m: Extract<Message, { t: 'lead' }>): void {
    this.leaderEpoch = m.epoch;
    const pos = this.pos;
    // Where the new term starts is where this tab is (M7); or this tab is ahead of it (its events
    // came before the old leader went, the new one had not received them yet): the new leader
    // resumes from its base and the server sends those changes again, which apply as no change.
    const continues =
      samePosition(pos, m.base) ||
      (this.synced && pos && m.base && pos.epoch === m.base.epoch && pos.seq > m.base.seq);
    if (continues) {
      this.pos = { epoch: m.epoch, seq: 0 };
      this.synced = true;
      this.drain(true);
    } else {
      this.synced = false;
      this.post({ t: 'hello', from: this.id, pos: this.pos });
    }
  }

  private onEvents(epoch: string, items: readonly RelayedEvent[]): void {
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const pos = this.pos;
      if (pos?.epoch !== epoch) {
        // Not the line this tab follows: a straggler of a term gone by (ignored), or a term this
        // tab has not heard of (then it asks).
        if (epoch !== this.leaderEpoch) return;
        this.desync(epoch, items.slice(i));
        return;
      }
      if (item.seq <= pos.seq) continue; // had it already (a welcome and a relay overlap)
      if (item.seq > pos.seq + 1) {
        this.desync(epoch, items.slice(i));
        return;
      }
      this.pos = { epoch, seq: item.seq };
      this.host.applyEvent(item);
    }
  }

  private desync(epoch: string, rest: readonly RelayedEvent[]): void {
    this.synced = false;
    for (const item of rest) this.buffered.push({ epoch, item });
    this.post({ t: 'hello', from: this.id, pos: this.pos });
  }

  private onWelcome(m: Extract<Message, { t: 'welcome' }>): void {
    this.leaderEpoch = m.epoch;
    const pos = this.pos;
    if (this.synced && pos?.epoch === m.epoch && pos.seq >= m.seq) return; // already there
    if (m.snapshot) {
      this.host.applySnapshot(m.snapshot as Snapshot<Body>);
      this.pos = { epoch: m.epoch, seq: m.seq };
    } else {
      // The events continue `from` (the hello's position): this tab's, or the term's base.
      if (samePosition(pos, m.from) && m.from!.epoch !== m.epoch) this.pos = { epoch: m.epoch, seq: 0 };
      else if (pos?.epoch !== m.epoch) {
        // This tab is elsewhere than when it asked: ask again from here.
        if (!this.synced) this.post({ t: 'hello', from: this.id, pos });
        return;
      }
      this.synced = true;
      this.onEvents(m.epoch, m.items ?? []);
      if (!this.synced) return; // a gap: asked again
    }
    this.synced = true;
    if (m.status) this.host.followStatus(fromWire(m.status));
    this.drain(true);
  }

  /**
   * Applies what was buffered while not synced, as far as it continues the state held. `ask`:
   * say hello again on a gap (not when taking over: then what does not continue is dropped).
   */
  private drain(ask: boolean): void {
    const buffered = this.buffered;
    this.buffered = [];
    if (ask) {
      for (let i = 0; i < buffered.length; i++) {
        const { epoch, item } = buffered[i]!;
        this.onEvents(epoch, [item]);
        if (!this.synced) {
          // a gap: onEvents asked again and kept this one; keep the rest too
          this.buffered.push(...buffered.slice(i + 1));
          return;
        }
      }
      return;
    }
    for (const { epoch, item } of buffered) {
      const pos = this.pos;
      if (pos?.epoch !== epoch || item.seq <= pos.seq) continue;
      if (item.seq > pos.seq + 1) break;
      this.pos = { epoch, seq: item.seq };
      this.host.applyEvent(item);
    }
  }

  private setRole(role: TabRole): void {
    if (this.role_ === role) return;
    this.role_ = role;
    this.host.roleChanged(role);
  }
}
