/**
 * The floor of a failover: a bare node:http server, no Express and no syncrepl-rx, in a process of
 * its own, that answers every reconnect with the very bytes instance 2 sent for the same
 * `Last-Event-ID` (the catch-up and `ready`), learned beforehand. What it costs to accept the
 * connections, parse the requests and write those bytes on this machine is the least a resume can
 * cost; bench/failover.ts sets instance 2 beside it.
 *
 *   forked by bench/failover.ts with an IPC channel
 *
 * IPC in                                 IPC out
 *   { type: 'learn', url, ids }       →  { type: 'learned', answers, bytes }
 *   { type: 'listen' }                →  { type: 'listening', port }
 *   { type: 'close' }                 →  (closes every socket and exits)
 */
import http from 'node:http';
import { setImmediate } from 'node:timers';

/** Bounds, whatever the parent asks. */
const MAX_IDS = 1_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const LEARN_TIMEOUT_MS = 30_000;

/** @type {Map<string, string>} Last-Event-ID → the text instance 2 sent up to and with `ready`. */
const answers = new Map();
const sockets = new Set();

/** One GET with this id, read until the end of the `ready` event. */
function learnOne(url, id) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false, headers: { Accept: 'text/event-stream', 'Last-Event-ID': id } },
      (res) => {
        if (res.statusCode !== 200) {
          req.destroy();
          reject(new Error(`instance 2 answered ${res.statusCode} for an id`));
          return;
        }
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
          const ready = text.indexOf('event: ready\n');
          const end = ready < 0 ? -1 : text.indexOf('\n\n', ready);
          if (end >= 0) {
            req.destroy();
            resolve(text.slice(0, end + 2));
          } else if (text.length > MAX_ANSWER_BYTES) {
            req.destroy();
            reject(new Error('no ready within 16 MB'));
          }
        });
      },
    );
    req.setTimeout(LEARN_TIMEOUT_MS, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function learn({ url, ids }) {
  for (const id of [...new Set(ids)].slice(0, MAX_IDS)) answers.set(id, await learnOne(url, id));
  let bytes = 0;
  for (const a of answers.values()) bytes += Buffer.byteLength(a);
  return { type: 'learned', answers: answers.size, bytes };
}

function listen() {
  const server = http.createServer((req, res) => {
    const id = req.headers['last-event-id'];
    const answer = typeof id === 'string' ? answers.get(id) : undefined;
    if (answer === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    });
    res.write(answer); // and stays open, as a stream does
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // The same listen queue as the instances (test/fixtures/instance-main.ts).
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', 4096, () => resolve({ type: 'listening', port: server.address().port })),
  );
}

process.on('message', (msg) => {
  if (msg.type === 'learn')
    void learn(msg).then(
      (r) => process.send(r),
      (err) => process.send({ type: 'learned', answers: 0, bytes: 0, error: String(err.message) }),
    );
  else if (msg.type === 'listen') void listen().then((r) => process.send(r));
  else if (msg.type === 'close') {
    for (const s of sockets) s.destroy();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
