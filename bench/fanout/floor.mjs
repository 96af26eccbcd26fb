/**
 * The floor of bench/fanout.ts: a bare node:http server (no Express, no syncrepl-rx) holding the
 * same SSE connections as the server under test and writing each change to them as one prepared
 * Buffer, `res.write(buffer)` per connection. What it costs per delivery is what Node itself costs
 * to write one event to one socket on this machine.
 *
 *   forked by bench/fanout.ts with an IPC channel
 *
 * IPC in                                  IPC out
 *   { type: 'start' }                  →  { type: 'ready', port }
 *   { type: 'publish', n }             →  (writes marker n, stamped now, to every connection)
 *   { type: 'stop' }                   →  (closes every connection and exits)
 *
 * A connection gets the SSE headers, `retry:` and `ready` at once (no replay), then the events:
 * `event: entry`, an `id:` and the `data:` of a modify whose body carries the marker, as the
 * server under test sends them. The marker's time is taken when the floor gets the order, so the
 * latency figures start there (no LDAP in between).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
};
const MAX_CONNECTIONS = 20_000;
const open = new Set();
// An id of the length of the server's resume cookies (~180 characters), so the bytes match.
const ID = 'x'.repeat(180);

const server = http.createServer((req, res) => {
  if (open.size >= MAX_CONNECTIONS) {
    res.writeHead(503).end();
    return;
  }
  res.writeHead(200, HEADERS);
  res.socket?.setNoDelay(true);
  res.write(`retry: 2000\n\nevent: ready\nid: ${ID}\ndata: {}\n\n`);
  open.add(res);
  res.on('close', () => open.delete(res));
});

process.on('message', (m) => {
  if (m.type === 'start') {
    server.listen(0, '127.0.0.1', 4096, () => process.send({ type: 'ready', port: server.address().port }));
  } else if (m.type === 'publish') {
    const at = performance.timeOrigin + performance.now();
    const body = `{"id":"floor","status":"m${m.n}-${at.toFixed(3)}"}`;
    const data = `{"entryUUID":"00000000-0000-0000-0000-000000000000","syncOp":"modify","body":${body}}`;
    const bytes = Buffer.from(`event: entry\nid: ${ID}\ndata: ${data}\n\n`);
    for (const res of open) res.write(bytes);
  } else if (m.type === 'stop') {
    for (const res of open) res.end();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
