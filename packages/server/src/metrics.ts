/** Prometheus metrics of the middleware (prom-client), on a registry of its own by default. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LogRecord } from './change-log.js';
import { csnTimeMs } from './position.js';
import type { Upstream, UpstreamState } from './source.js';
import type { SseConnection } from './sse.js';
import { EVENT_READY, EVENT_RESET, SYNC_OPS } from './wire.js';

const STATES: UpstreamState[] = [
  'starting',
  'connecting',
  'refreshing',
  'live',
  'backoff',
  'failed',
  'stopped',
];

export type ResumeOutcome = 'resumed' | 'reset' | 'rejected' | 'fresh';
const OUTCOMES: ResumeOutcome[] = ['fresh', 'resumed', 'reset', 'rejected'];
const EVENTS = [...SYNC_OPS, EVENT_READY, EVENT_RESET] as const;
export type EventKind = (typeof EVENTS)[number];

/** Events written per kind, for one resource: plain numbers, added to the counter when scraped. */
export type EventTally = Record<EventKind, number>;

export class Metrics {
  readonly registry: Registry;
  readonly subscribers: Gauge<'resource'>;
  readonly events: Counter<'resource' | 'event'>;
  readonly resumes: Counter<'resource' | 'outcome'>;
  readonly slowDisconnects: Counter<'resource'>;
  private readonly upstreamState: Gauge<'source' | 'state'>;
  private readonly upstreamServer: Gauge<'source' | 'url'>;
  private readonly lastCookie: Gauge<'source'>;
  private readonly logSeq: Gauge<'source'>;
  private readonly entries: Gauge<'source'>;
  private readonly buffered: Gauge;
  private readonly reconnects: Counter<'source'>;
  private readonly delivery: Histogram;
  /** Changes whose first SSE write was observed (each is observed once, by the first stream). */
  private readonly delivered = new WeakSet<LogRecord>();
  /**
   * Events written, per resource: a stream adds to a plain number per frame it queues, and the
   * counter takes the sums when scraped, so no delivery pays for a prom-client label lookup.
   */
  private readonly tallies = new Map<string, EventTally>();

  constructor(
    registry: Registry | undefined,
    upstreams: () => Iterable<Upstream>,
    /** The open streams (StreamSession, which itself counts its events here). */
    streams: () => Iterable<{ readonly conn: SseConnection }>,
  ) {
    this.registry = registry ?? new Registry();
    // Process metrics (CPU, memory, event loop lag, handles) on a registry of our own; a registry
    // the application passes in is left as it is (it may collect them already).
    if (!registry) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.subscribers = new Gauge({
      name: 'syncrepl_rx_subscribers',
      help: 'Open SSE streams, per resource',
      labelNames: ['resource'],
      registers,
    });
    this.events = new Counter({
      name: 'syncrepl_rx_events_sent_total',
      help: 'SSE events written, per resource and event (present, add, modify, delete, ready, reset)',
      labelNames: ['resource', 'event'],
      registers,
      collect: () => {
        for (const [resource, tally] of this.tallies) {
          for (const event of EVENTS) {
            if (tally[event] === 0) continue;
            this.events.inc({ resource, event }, tally[event]);
            tally[event] = 0;
          }
        }
      },
    });
    this.resumes = new Counter({
      name: 'syncrepl_rx_resumes_total',
      help: 'Stream starts by outcome: fresh (no cookie), resumed, reset (cookie not honourable), rejected (400)',
      labelNames: ['resource', 'outcome'],
      registers,
    });
    this.slowDisconnects = new Counter({
      name: 'syncrepl_rx_slow_disconnects_total',
      help: 'Streams cut off because they could not keep up',
      labelNames: ['resource'],
      registers,
    });
    const each = (fn: (u: Upstream) => void) => () => {
      for (const u of upstreams()) fn(u);
    };
    this.upstreamState = new Gauge({
      name: 'syncrepl_rx_upstream_state',
      help: 'State of each upstream syncrepl search (1 for the current state)',
      labelNames: ['source', 'state'],
      registers,
      collect: each((u) => {
        for (const s of STATES) this.upstreamState.set({ source: u.name, state: s }, u.state === s ? 1 : 0);
      }),
    });
    this.upstreamServer = new Gauge({
      name: 'syncrepl_rx_upstream_server',
      help: 'The LDAP server each upstream follows or connects to (1 for the current one)',
      labelNames: ['source', 'url'],
      registers,
      collect: () => {
        this.upstreamServer.reset(); // a source that moved on drops its former server's series
        for (const u of upstreams())
          if (u.server) this.upstreamServer.set({ source: u.name, url: u.server }, 1);
      },
    });
    this.lastCookie = new Gauge({
      name: 'syncrepl_rx_upstream_last_cookie_timestamp_seconds',
      help: 'When each upstream last received a syncrepl cookie',
      labelNames: ['source'],
      registers,
      collect: each((u) => {
        if (u.lastCookieAt !== undefined) this.lastCookie.set({ source: u.name }, u.lastCookieAt / 1000);
      }),
    });
    this.logSeq = new Gauge({
      name: 'syncrepl_rx_changelog_last_seq',
      help: 'Sequence number of the newest change in each source change log',
      labelNames: ['source'],
      registers,
      collect: each((u) => {
        if (u.log) this.logSeq.set({ source: u.name }, u.log.last);
      }),
    });
    this.buffered = new Gauge({
      name: 'syncrepl_rx_stream_buffered_bytes_max',
      help: 'The most bytes waiting in any one stream socket buffer (bounded by backpressure)',
      registers,
      collect: () => {
        let max = 0;
        for (const s of streams()) max = Math.max(max, s.conn.bufferedBytes);
        this.buffered.set(max);
      },
    });
    this.reconnects = new Counter({
      name: 'syncrepl_rx_upstream_reconnects_total',
      help: 'Connections each upstream opened again after its first (lost server, next URL, restart)',
      labelNames: ['source'],
      registers,
      collect: () => {
        this.reconnects.reset();
        for (const u of upstreams()) this.reconnects.inc({ source: u.name }, u.reconnects);
      },
    });
    this.delivery = new Histogram({
      name: 'syncrepl_rx_change_delivery_seconds',
      help:
        "From an LDAP write (its change's CSN time, the provider's clock) to the first SSE write of " +
        'that change to a subscriber',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.entries = new Gauge({
      name: 'syncrepl_rx_replica_entries',
      help: 'Entries in each source replica',
      labelNames: ['source'],
      registers,
      collect: each((u) => {
        if (u.store) this.entries.set({ source: u.name }, u.store.size);
      }),
    });
  }

  /** The tally a resource's streams count their events in (see `tallies`). */
  tally(resource: string): EventTally {
    let tally = this.tallies.get(resource);
    if (!tally) {
      tally = { present: 0, add: 0, modify: 0, delete: 0, ready: 0, reset: 0 };
      this.tallies.set(resource, tally);
    }
    return tally;
  }

  /** Every outcome and event of a resource present from the start, at 0. */
  declareResource(resource: string): void {
    for (const outcome of OUTCOMES) this.resumes.inc({ resource, outcome }, 0);
    for (const event of EVENTS) this.events.inc({ resource, event }, 0);
    this.slowDisconnects.inc({ resource }, 0);
    this.subscribers.inc({ resource }, 0);
  }

  /** A change was written to a stream: the first time, its delivery latency is observed. */
  observeDelivery(record: LogRecord): void {
    if (record.csn === undefined || this.delivered.has(record)) return;
    this.delivered.add(record);
    const at = csnTimeMs(record.csn);
    if (at !== undefined) this.delivery.observe(Math.max(0, (Date.now() - at) / 1000));
  }
}
