/**
 * The SSE connection's coalesced writes (packages/server/src/sse.ts) over real node:http sockets:
 * frames queued in one turn of the event loop leave as one HTTP chunk, shared Buffers are joined
 * once for every connection that queued the same ones, and the high-water mark still stops the
 * writer. The same paths under a real slapd are in integration/server-fanout.test.ts.
 */
import { afterEach, expect, test } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openChunked as openRaw } from '../../fixtures/chunked.js';
import { SseConnection, writeStats } from '../../../packages/server/src/sse.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function serve(onConnection: (conn: SseConnection) => void): Promise<number> {
  const server = http.createServer((_req, res) => onConnection(new SseConnection(res, { retryMs: 1000 })));
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

test('frames queued in one turn leave as one HTTP chunk, in order, bytes unchanged', async () => {
  const frames = [
    Buffer.from('event: entry\ndata: {"a":1}\n\n'),
    Buffer.from('event: entry\ndata: {"é":2}\n\n'),
  ];
  const conns: SseConnection[] = [];
  const port = await serve((c) => conns.push(c));
  const raw = openRaw(port);
  cleanup.push(() => raw.socket.destroy());
  await raw.until((_, c) => c.length === 1); // retry:
  expect(raw.chunks[0]!.toString()).toBe('retry: 1000\n\n');
  const before = { ...writeStats };
  // One turn: two shared Buffers and a text frame.
  for (const f of frames) expect(conns[0]!.write(f)).toBe(true);
  conns[0]!.write('event: ready\ndata: {}\n\n');
  expect(conns[0]!.pending).toBe(true);
  await raw.until((_, c) => c.length === 2);
  expect(raw.chunks[1]!.toString()).toBe(
    'event: entry\ndata: {"a":1}\n\nevent: entry\ndata: {"é":2}\n\nevent: ready\ndata: {}\n\n',
  );
  expect(writeStats.writes - before.writes).toBe(1);
  expect(conns[0]!.pending).toBe(false);
  // The next turn's frame is a chunk of its own.
  conns[0]!.write(frames[0]!);
  await raw.until((_, c) => c.length === 3);
  expect(raw.chunks[2]!.equals(frames[0]!)).toBe(true);
});

test('connections that queued the same Buffers in a turn share one joined Buffer', async () => {
  const conns: SseConnection[] = [];
  const port = await serve((c) => conns.push(c));
  const raws = Array.from({ length: 5 }, () => openRaw(port));
  cleanup.push(() => raws.forEach((r) => r.socket.destroy()));
  await Promise.all(raws.map((r) => r.until((_, c) => c.length === 1)));
  const a = Buffer.from('event: entry\ndata: 1\n\n');
  const b = Buffer.from('event: entry\ndata: 2\n\n');
  const before = { ...writeStats };
  for (const c of conns) {
    c.write(a);
    c.write(b);
  }
  await Promise.all(raws.map((r) => r.until((_, c) => c.length === 2)));
  for (const r of raws)
    expect(r.chunks[1]!.toString()).toBe('event: entry\ndata: 1\n\nevent: entry\ndata: 2\n\n');
  expect(writeStats.writes - before.writes).toBe(5);
  expect(writeStats.joined - before.joined).toBe(1);
  expect(writeStats.joinsShared - before.joinsShared).toBe(4);
});

test('the high-water mark stops the writer, and the write says when to wait for drain', async () => {
  const conns: SseConnection[] = [];
  const port = await serve((c) => conns.push(c));
  const raw = openRaw(port);
  cleanup.push(() => raw.socket.destroy());
  await raw.until((_, c) => c.length === 1);
  const conn = conns[0]!;
  raw.socket.pause(); // stops reading: the kernel buffers fill, then Node's
  const big = Buffer.alloc(conn.res.writableHighWaterMark, 'x');
  expect(conn.write(big)).toBe(false);
  expect(conn.bufferedBytes).toBeGreaterThanOrEqual(big.length);
  // Keep writing one high-water mark per turn until a write says to wait for drain; the caller
  // learns it synchronously, before the drain can happen (stream.ts waits for it from there).
  type Stop = { congested: boolean; drained: Promise<void> } | undefined;
  let stop: Stop;
  for (let i = 0; i < 2000 && !stop; i++) {
    stop = await new Promise<Stop>((resolve) => {
      conn.whenFlushed((ok) =>
        resolve(
          ok
            ? undefined
            : { congested: conn.congested, drained: new Promise<void>((r) => conn.onceDrain(r)) },
        ),
      );
      if (!conn.pending) conn.write(big);
    });
  }
  expect(stop?.congested).toBe(true);
  raw.socket.resume();
  await stop!.drained;
  expect(conn.congested).toBe(false);
});
