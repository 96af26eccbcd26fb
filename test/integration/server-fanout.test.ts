/**
 * Fan-out on a real slapd through SubMan (packages/server/src/frames.ts, sse.ts, stream.ts): every
 * subscriber of a view gets the very same bytes, a burst of changes reaching the server in one
 * turn leaves as one write per subscriber, and a subscriber that stops reading is cut off while
 * the others keep receiving. The stream contract itself is checked in server.test.ts.
 */
import { afterEach, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { startSubman, subscriberDn, type Subman, type SubmanTestOptions } from '../fixtures/subman.js';
import { openSse, type SseReader } from '../fixtures/sse.js';
import { openChunked, type ChunkedStream } from '../fixtures/chunked.js';
import { writeStats } from '../../packages/server/src/sse.js';

let running: Subman[] = [];
const closers: (() => void)[] = [];
async function subman(options: SubmanTestOptions = {}): Promise<Subman> {
  const s = await startSubman(options);
  running.push(s);
  return s;
}
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

const REALM = 'example.org';
const realmStream = `/realm/${REALM}/subscriber?subscribe=1`;
/** The i-th subscriber of the realm (SubMan's data puts every 4th one in example.org). */
const uidIn = (i: number) => `sub${String(4 * (i % 10)).padStart(6, '0')}`;
const statusLdif = (i: number, status: string) =>
  `dn: ${subscriberDn(REALM, uidIn(i))}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${status}\n-\n`;

function openRaw(base: string, path: string): ChunkedStream {
  const url = new URL(base);
  const raw = openChunked(Number(url.port), path, url.hostname);
  closers.push(() => raw.socket.destroy());
  return raw;
}

const count = (text: string, what: string) => text.split(what).length - 1;
const afterReady = (text: string) => text.slice(text.indexOf('event: ready\n'));
/** The events after `ready`, heartbeats left out. */
const liveEvents = (text: string) =>
  afterReady(text)
    .split('\n\n')
    .filter((e) => e.startsWith('event: entry'));

test('every subscriber of a view gets byte-identical events; another view gets its own', async () => {
  const s = await subman({
    authorize: (req) =>
      req.get('X-User') === 'active-only'
        ? { allow: true, scope: 'active', filter: (e) => e.attributes.submanStatus?.[0] === 'active' }
        : { allow: true },
  });
  const streams = Array.from({ length: 20 }, () => openRaw(s.base, realmStream));
  await Promise.all(streams.map((r) => r.until((t) => t.includes('event: ready\n'))));
  const narrow = await openSse(`${s.base}${realmStream}`, { 'X-User': 'active-only' });
  closers.push(() => narrow.close());
  await narrow.until((events) => events.some((e) => e.event === 'ready'));
  const mark = narrow.events.length;

  const changes = [0, 1, 2, 3, 4];
  for (const [i, uid] of changes.entries()) await s.slapd.modify(statusLdif(uid, `shared-${i}`));
  await Promise.all(streams.map((r) => r.until((t) => count(afterReady(t), 'shared-') === changes.length)));

  const tails = streams.map((r) => liveEvents(r.text()).join('\n\n'));
  expect(liveEvents(streams[0]!.text())).toHaveLength(changes.length);
  for (const t of tails) expect(t).toBe(tails[0]);
  for (const [i, e] of liveEvents(streams[0]!.text()).entries()) {
    expect(e).toMatch(/^event: entry\nid: [^\n]+\ndata: \{"entryUUID":"[^"]+","syncOp":"modify","body":/);
    expect(e).toContain(`shared-${i}`);
  }
  // The narrower view: none of these statuses is 'active', so each subscriber leaves it (a delete).
  await narrow.until((events) => events.slice(mark).filter((e) => e.event === 'entry').length > 0);
  const narrowIds = narrow.events
    .slice(mark)
    .filter((e) => e.event === 'entry')
    .map((e) => e.id);
  for (const id of narrowIds) expect(tails[0]).not.toContain(`id: ${id}\n`);
});

test('a burst that reaches the server in one turn leaves as one write per subscriber', async () => {
  const s = await subman();
  const streams = Array.from({ length: 10 }, () => openRaw(s.base, realmStream));
  await Promise.all(streams.map((r) => r.until((t) => t.includes('event: ready\n'))));
  const marks = streams.map((r) => r.chunks.length);
  const before = { ...writeStats };
  const n = 20;
  const ldif = Array.from({ length: n }, (_, i) => statusLdif(i, `burst-${i}`)).join('\n');
  // The server runs in this process: ldapmodify run synchronously holds its event loop while
  // slapd applies the 20 writes, so their syncrepl messages wait in the socket and are read
  // together when the loop runs again.
  execFileSync(
    'ldapmodify',
    ['-x', '-D', s.slapd.rootDN, '-y', s.slapd.rootPasswordFile, '-H', s.slapd.url],
    { input: ldif, env: s.slapd.ldapEnv, stdio: ['pipe', 'ignore', 'pipe'] },
  );
  await Promise.all(streams.map((r) => r.until((t) => count(t, 'burst-') === n)));

  const chunkCounts = streams.map((r, i) => r.chunks.length - marks[i]!);
  const bursts = streams.map((r, i) => Buffer.concat(r.chunks.slice(marks[i])).toString());
  for (const b of bursts) expect(b).toBe(bursts[0]);
  expect(count(bursts[0]!, 'event: entry\n')).toBe(n);
  // Every subscriber got the burst in the same writes, each holding whole events …
  for (const c of chunkCounts) expect(c).toBe(chunkCounts[0]);
  for (const r of streams)
    for (const chunk of r.chunks.slice(-chunkCounts[0]!))
      expect(chunk.toString()).toMatch(/^(event|:)[^]*\n\n$/);
  // … far fewer writes than events: what arrived in one turn went out in one write.
  expect(chunkCounts[0]!).toBeLessThan(n);
  // And the server wrote exactly those chunks.
  expect(writeStats.writes - before.writes).toBe(streams.length * chunkCounts[0]!);
  console.log(`burst of ${n} changes: ${chunkCounts[0]} writes per subscriber`);
});

test('a subscriber that stops reading is cut off, while the others keep receiving every change', async () => {
  // Loopback kernel buffers absorb ~4 MB for a client that does not read: replay more than that.
  const s = await subman({ subscribers: 30_000, slowClientTimeoutMs: 300 });
  const fast: SseReader[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await openSse(`${s.base}${realmStream}`);
    closers.push(() => r.close());
    fast.push(r);
  }
  await Promise.all(fast.map((r) => r.until((events) => events.some((e) => e.event === 'ready'))));
  // The slow one asks for everything (about 6 MB of replay) and never reads.
  const slow = openRaw(s.base, '/subscriber?subscribe=1');
  slow.socket.pause();
  const entries = (r: SseReader) => r.events.filter((e) => e.event === 'entry' && /slow-/.test(e.data));
  let written = 0;
  const write = async () => s.slapd.modify(statusLdif(written, `slow-${written++}`));
  // Changes keep flowing until the server has cut the slow one off (it never reads, so its
  // socket shows nothing: the server's count says it).
  let cut = false;
  for (let i = 0; i < 200 && !cut; i++) {
    await write();
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    cut = /syncrepl_rx_slow_disconnects_total\{resource="allSubscribers"\} 1/.test(metrics);
  }
  expect(cut).toBe(true);
  await write();
  await Promise.all(fast.map((r) => r.until(() => entries(r).length === written)));
  for (const r of fast) {
    expect(r.ended).toBe(false);
    expect(entries(r).map((e) => JSON.parse(e.data).body.status)).toEqual(
      Array.from({ length: written }, (_, i) => `slow-${i}`),
    );
  }
  const metrics = await (await fetch(`${s.base}/metrics`)).text();
  // Only the slow one was cut off, once.
  const cutOffs = [...metrics.matchAll(/^syncrepl_rx_slow_disconnects_total\{resource="(\w+)"\} (\d+)$/gm)]
    .filter((m) => m[2] !== '0')
    .map((m) => `${m[1]} ${m[2]}`);
  expect(cutOffs).toEqual(['allSubscribers 1']);
}, 90_000);
