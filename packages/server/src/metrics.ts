/** Prometheus metrics of the middleware (prom-client), on a registry of its own by default. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Upstream, UpstreamState } from './source.js';
import type { StreamSession } from './stream.js';

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

  constructor(
    registry: Registry | undefined,
    upstreams: () => Iterable<Upstream>,
    streams: () => Iterable<StreamSession>,
  ) {
    this.registry = registry ?? new Registry();
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
}
