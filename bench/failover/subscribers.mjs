/**
 * SSE subscribers of bench/failover.ts, in a process of their own (the server's CPU is measured,
 * so the clients must not share its event loop): each opens `/people?subscribe=1` with a replay,
 * keeps the `id:` of the last event it received, and later reconnects to another instance with
 * it as `Last-Event-ID`, all at once, as clients do after a load balancer fails over.
 *
 *   forked by bench/failover.ts with an IPC channel (serialization: 'advanced')
 *
 * IPC in                                           IPC out
 *   { type: 'open', url, count, concurrency,
 *     groups }                                  →  { type: 'opened', ready, failed, ms }
 *   { type: 'progress' }                        →  { type: 'progress', live, minModifies, dropped }
 *   { type: 'freeze', group }                   →  { type: 'frozen', count }
 *   { type: 'ids' }                             →  { type: 'ids', ids }
 *   { type: 'reconnect', url, timeoutMs,
 *     again }                                   →  { type: 'reconnected', ... } once every one settled
 *   { type: 'close' }                           →  (closes every socket and exits)
 *
 * Subscriber i belongs to group i % groups. `freeze` closes one group's connections: those
 * subscribers stop at the position of their last event, so the subscribers of different groups
 * come back with different positions. `reconnect` starts one clock when the message arrives and
 * opens every connection in the same turn of the event loop (no concurrency bound: that is what
 * a failover looks like); each subscriber's time runs from that clock to its `ready`. With `again`,
 * each one reconnects with the id it had at the first reconnect (for the floor, floor.mjs).
 *
 * A resume cookie is not a credential; none of the ids leave this machine.
 */
import http from 'node:http';
import { clearTimeout, setImmediate, setTimeout } from 'node:timers';
import { SseParser, syncOpOf, wallNow } from '../fanout/sse-reader.mjs';

/** Bounds, whatever the parent asks. */
const MAX_CONNECTIONS = 10_000;
const OPEN_TIMEOUT_MS = 180_000;

/** @type {Sub[]} */
const subs = [];
let closing = false;

/**
 * @typedef {object} Sub
 * @property {number} group
 * @property {string | undefined} lastId
 * @property {string | undefined} [failoverId]  lastId when the first reconnect began
 * @property {'opening' | 'live' | 'frozen' | 'dropped' | 'failed'} phase
 * @property {number} modifies  modify events received after the first `ready`
 * @property {http.ClientRequest | undefined} req
 * @property {number} gen  bumped on every new request: the handlers of an older one do nothing
 */

/** One GET of the stream; `handlers` sees its events, `onEnd` its end (error, close, non-200). */
function request(url, lastEventId, onEvent, onStatus, onEnd) {
  const headers = { Accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  const parser = new SseParser(onEvent);
  const req = http.get(url, { agent: false, headers }, (res) => {
    onStatus(res.statusCode ?? 0);
    if (res.statusCode !== 200) {
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    res.on('data', (text) => parser.push(text, wallNow()));
    res.on('close', () => onEnd());
  });
  req.on('error', () => onEnd());
  return req;
}

function openOne(url, group) {
  return new Promise((resolve) => {
    /** @type {Sub} */
    const sub = { group, lastId: undefined, phase: 'opening', modifies: 0, req: undefined, gen: 0 };
    subs.push(sub);
    const gen = sub.gen;
    const settle = (phase) => {
      if (sub.gen !== gen || sub.phase !== 'opening') return;
      sub.phase = phase;
      resolve(phase === 'live');
    };
    sub.req = request(
      url,
      undefined,
      (event, data, id) => {
        if (sub.gen !== gen) return;
        if (id !== undefined) sub.lastId = id;
        if (event === 'ready') settle('live');
        else if (event === 'entry' && sub.phase === 'live' && syncOpOf(data) === 'modify') sub.modifies++;
      },
      (status) => {
        if (status !== 200) settle('failed');
      },
      () => {
        if (sub.gen !== gen) return;
        if (sub.phase === 'opening') settle('failed');
        else if (sub.phase === 'live' && !closing) sub.phase = 'dropped';
      },
    );
  });
}

async function open({ url, count, concurrency, groups }) {
  const total = Math.min(Math.max(0, Math.floor(count)), MAX_CONNECTIONS);
  const width = Math.max(1, Math.min(Math.floor(concurrency), total || 1));
  const g = Math.max(1, Math.floor(groups));
  const started = wallNow();
  let next = 0;
  let ready = 0;
  let failed = 0;
  const worker = async () => {
    while (next < total && wallNow() - started < OPEN_TIMEOUT_MS) {
      const i = next++;
      if (await openOne(url, i % g)) ready++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return { type: 'opened', ready, failed, ms: wallNow() - started };
}

function progress() {
  let live = 0;
  let minModifies = Infinity;
  let dropped = 0;
  for (const s of subs) {
    if (s.phase === 'live') {
      live++;
      minModifies = Math.min(minModifies, s.modifies);
    } else if (s.phase === 'dropped') dropped++;
  }
  return { type: 'progress', live, minModifies: live === 0 ? 0 : minModifies, dropped };
}

function freeze(group) {
  let count = 0;
  for (const s of subs) {
    if (s.group !== group || s.phase !== 'live') continue;
    s.phase = 'frozen';
    s.req?.destroy();
    count++;
  }
  return { type: 'frozen', count };
}

/**
 * Every subscriber that has an id reconnects to `url` with it, in this turn of the event loop.
 * Outcome per subscriber: `resumed` (ready without a reset), `reset` (an `event: reset` came
 * first), `failed` (no ready: an HTTP error, a closed socket, or the timeout).
 */
function reconnect({ url, timeoutMs, again }) {
  return new Promise((resolve) => {
    const t0 = wallNow();
    for (const s of subs) {
      if (!again) s.failoverId = s.lastId;
      else s.lastId = s.failoverId;
    }
    const withId = subs.filter((s) => s.lastId !== undefined);
    const readyMs = new Float64Array(withId.length).fill(NaN);
    /** From t0 to the TCP connection: over a second means a SYN was retransmitted. */
    const connectMs = new Float64Array(withId.length).fill(NaN);
    /** Entry events before `ready`, per subscriber (the catch-up, or the replay after a reset). */
    const entriesBeforeReady = new Float64Array(withId.length).fill(NaN);
    /** Modify events each one received live from the first instance: it missed the changes after. */
    const modifiesBefore = Float64Array.from(withId, (s) => s.modifies);
    const outcome = { resumed: 0, reset: 0, failed: 0 };
    const statuses = {};
    let pending = withId.length;
    let timer;
    const done = () => {
      clearTimeout(timer);
      resolve({
        type: 'reconnected',
        t0,
        ...outcome,
        statuses,
        readyMs,
        connectMs,
        entriesBeforeReady,
        modifiesBefore,
        withoutId: subs.length - withId.length,
      });
    };
    if (pending === 0) return done();
    timer = setTimeout(() => {
      outcome.failed += pending;
      pending = 0;
      done();
    }, timeoutMs);
    withId.forEach((s, i) => {
      const gen = ++s.gen;
      s.req?.destroy();
      let settled = false;
      let reset = false;
      let entries = 0;
      const settle = (what) => {
        if (settled || pending === 0) return;
        settled = true;
        outcome[what]++;
        if (--pending === 0) done();
      };
      s.phase = 'opening';
      s.req = request(
        url,
        s.lastId,
        (event, _data, id, at) => {
          if (s.gen !== gen) return;
          if (id !== undefined) s.lastId = id;
          if (settled) return;
          if (event === 'reset') reset = true;
          else if (event === 'entry') entries++;
          else if (event === 'ready') {
            readyMs[i] = at - t0;
            entriesBeforeReady[i] = entries;
            s.phase = 'live';
            settle(reset ? 'reset' : 'resumed');
          }
        },
        (status) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status !== 200) settle('failed');
        },
        () => settle('failed'),
      );
      s.req.once('socket', (socket) => socket.once('connect', () => (connectMs[i] = wallNow() - t0)));
    });
  });
}

process.on('message', (msg) => {
  if (msg.type === 'open') void open(msg).then((r) => process.send(r));
  else if (msg.type === 'progress') process.send(progress());
  else if (msg.type === 'freeze') process.send(freeze(msg.group));
  else if (msg.type === 'ids') process.send({ type: 'ids', ids: subs.map((s) => s.lastId ?? '') });
  else if (msg.type === 'reconnect') void reconnect(msg).then((r) => process.send(r));
  else if (msg.type === 'close') {
    closing = true;
    for (const s of subs) s.req?.destroy();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
