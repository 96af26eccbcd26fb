/**
 * Load generator of bench/fanout.ts: many SSE subscribers over raw node:http, in a process of
 * their own so that 10,000 sockets do not share the server's event loop. For every entry event
 * that carries a benchmark marker it records how long after the LDAP write it arrived.
 *
 *   forked by bench/fanout.ts with an IPC channel (serialization: 'advanced')
 *
 * IPC in                                              IPC out
 *   { type: 'open', url, count, concurrency,
 *     lastEventId? }                               →  { type: 'opened', ready, failed, ms, readyMs }
 *   { type: 'progress' }                           →  { type: 'progress', deliveries, open }
 *   { type: 'report' }                             →  { type: 'report', latencies, markers, ... }
 *   { type: 'reset-measurements' }                 →  { type: 'reset-done' }
 *   { type: 'close' }                              →  (closes every socket and exits)
 *
 * `concurrency` bounds the connections still in their replay: the server's listen backlog (511)
 * would drop SYNs of a 5,000-connection burst, and a 1-second SYN retransmit is not what we measure.
 * With `lastEventId`, every subscriber joins by resuming from that resume cookie (no replay).
 * The arrival time is taken once per chunk, before parsing, so it includes this process's own
 * queueing: with thousands of sockets answering at once, that is part of what a p99 means.
 */
import http from 'node:http';
import { setImmediate } from 'node:timers';
import { MARKER, SseParser, syncOpOf, wallNow } from './sse-reader.mjs';

/** Bounds: whatever the parent asks, never more than this many sockets in one generator. */
const MAX_CONNECTIONS = 10_000;
const OPEN_TIMEOUT_MS = 120_000;

const connections = [];
const counts = { ready: 0, reset: 0, present: 0, add: 0, modify: 0, delete: 0, other: 0 };
let failed = 0;
/** Sockets that ended after `ready` while we were not closing them: cut off by the server. */
let droppedAfterReady = 0;
let closing = false;
let bytes = 0;

// Latencies of marker events (ms), grown by doubling; and how many subscribers saw each marker.
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
const markers = new Map();

function recordMarker(data, at) {
  const m = MARKER.exec(data);
  if (!m) return;
  const n = Number(m[1]);
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[latencyCount++] = at - Number(m[2]);
  markers.set(n, (markers.get(n) ?? 0) + 1);
}

function openOne(url, lastEventId) {
  return new Promise((resolve) => {
    const started = wallNow();
    const conn = { readyAt: undefined, ended: false };
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      resolve(ok ? conn.readyAt - started : undefined);
    };
    const parser = new SseParser((event, data, _id, at) => {
      if (event === 'entry') {
        const op = syncOpOf(data);
        if (op in counts) counts[op]++;
        else counts.other++;
        if (op !== 'present') recordMarker(data, at);
      } else if (event === 'ready') {
        if (conn.readyAt === undefined) {
          conn.readyAt = at;
          counts.ready++;
          settle(true);
        }
      } else if (event === 'reset') counts.reset++;
      else counts.other++;
    });
    const headers = { Accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
    const req = http.get(url, { agent: false, headers }, (res) => {
      if (res.statusCode !== 200) {
        failed++;
        res.resume();
        settle(false);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text) => {
        bytes += text.length;
        parser.push(text, wallNow());
      });
      res.on('close', () => {
        conn.ended = true;
        if (!closing && conn.readyAt !== undefined) droppedAfterReady++;
        if (conn.readyAt === undefined) {
          failed++;
          settle(false);
        }
      });
    });
    req.on('error', () => {
      if (conn.readyAt === undefined && !settled) {
        failed++;
        settle(false);
      }
    });
    conn.req = req;
    connections.push(conn);
  });
}

async function open({ url, count, concurrency, lastEventId }) {
  const total = Math.min(Math.max(0, Math.floor(count)), MAX_CONNECTIONS);
  const width = Math.max(1, Math.min(Math.floor(concurrency), total || 1));
  const started = wallNow();
  const readyMs = new Float64Array(total);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < total && wallNow() - started < OPEN_TIMEOUT_MS) {
      const i = next++;
      const ms = await openOne(url, lastEventId);
      readyMs[i] = ms ?? NaN;
      done++;
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return {
    type: 'opened',
    ready: counts.ready,
    failed,
    requested: total,
    opened: done,
    ms: wallNow() - started,
    readyMs,
  };
}

function report() {
  const cpu = process.cpuUsage();
  return {
    type: 'report',
    latencies: latencies.slice(0, latencyCount),
    markers: [...markers],
    counts: { ...counts },
    failed,
    droppedAfterReady,
    open: connections.filter((c) => !c.ended).length,
    bytes,
    cpuS: (cpu.user + cpu.system) / 1e6,
    rssMB: process.memoryUsage().rss / 2 ** 20,
  };
}

function resetMeasurements() {
  latencies = new Float64Array(1 << 16);
  latencyCount = 0;
  markers.clear();
}

process.on('message', (msg) => {
  if (msg.type === 'open') {
    void open(msg).then((r) => process.send(r));
  } else if (msg.type === 'progress') {
    process.send({
      type: 'progress',
      deliveries: latencyCount,
      open: connections.filter((c) => !c.ended).length,
    });
  } else if (msg.type === 'report') {
    process.send(report());
  } else if (msg.type === 'reset-measurements') {
    resetMeasurements();
    process.send({ type: 'reset-done' });
  } else if (msg.type === 'close') {
    closing = true;
    for (const c of connections) c.req.destroy();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
