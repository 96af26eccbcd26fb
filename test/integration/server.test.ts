/**
 * @syncrepl-rx/server through the SubMan example: real slapd, real HTTP, the stream contract
 * (docs/stream-contract.md) rule by rule.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { MemoryStore, type ReplicaBatch } from '../../packages/core/src/index.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { EventSource } from 'eventsource';
import { startSubman, subscriberDn, type Subman, type SubmanTestOptions } from '../fixtures/subman.js';
import { entries, getJson, openSse, rebuild, type SseEvent, type SseReader } from '../fixtures/sse.js';
import { dn } from '../../examples/subman/src/data.js';

let running: Subman[] = [];
let readers: SseReader[] = [];
async function subman(options: SubmanTestOptions = {}): Promise<Subman> {
  const s = await startSubman(options);
  running.push(s);
  return s;
}
async function sse(
  url: string,
  headers: Record<string, string> = {},
  options?: { closeAfter?: number },
): Promise<SseReader> {
  const r = await openSse(url, headers, options);
  readers.push(r);
  return r;
}
afterEach(async () => {
  for (const r of readers) r.close();
  readers = [];
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

const REALM = 'example.org';
const subscribers = (realm = REALM) => `/realm/${realm}/subscriber`;
const ready = (events: SseEvent[]) => events.some((e) => e.event === 'ready');
const after = (events: SseEvent[], n: number) => events.slice(n);
const modifyStatus = (s: Subman, uid: string, status: string, realm = REALM) =>
  s.slapd.modify(
    `dn: ${subscriberDn(realm, uid)}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${status}\n-`,
  );

describe('the stream contract (docs/stream-contract.md)', () => {
  test('headers, retry, a present per record with the GET body, then one ready {} with an id', async () => {
    const s = await subman();
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await r.until(ready);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache, no-transform');
    expect(r.headers['x-accel-buffering']).toBe('no');
    expect(r.raw.startsWith('retry: ')).toBe(true);

    const listing = (await getJson(`${s.base}${subscribers()}`)).body as { id: string; _url: string }[];
    expect(listing.length).toBe(10);
    const presents = entries(r.events);
    expect(presents.every((e) => e.syncOp === 'present')).toBe(true);
    expect(presents.map((e) => e.body).sort((a, b) => a.id.localeCompare(b.id))).toEqual(listing);
    expect(presents[0]!.body._url).toBe(`${subscribers()}/${presents[0]!.body.id}`);
    for (const p of presents) expect(p.entryUUID).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.events.filter((e) => e.event === 'entry').every((e) => e.id)).toBe(true);
    const readies = r.events.filter((e) => e.event === 'ready');
    expect(readies).toHaveLength(1);
    expect(readies[0]!.data).toBe('{}');
    expect(readies[0]!.id).toBeTruthy();
    expect(r.events.at(-1)!.event).toBe('ready');
  });

  test('live add, modify and delete; a delete carries only id and _url', async () => {
    const s = await subman();
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await r.until(ready);
    const mark = r.events.length;
    await modifyStatus(s, 'sub000004', 'suspended');
    await r.until((ev) => after(ev, mark).length >= 1);
    await s.slapd.add(
      `dn: ${subscriberDn(REALM, 'newbie')}\nobjectClass: submanSubscriber\nuid: newbie\ncn: New Bie\nsubmanStatus: active`,
    );
    await r.until((ev) => after(ev, mark).length >= 2);
    await s.slapd.delete(subscriberDn(REALM, 'sub000008'));
    await r.until((ev) => after(ev, mark).length >= 3);
    const live = entries(after(r.events, mark));
    expect(live.map((e) => e.syncOp)).toEqual(['modify', 'add', 'delete']);
    expect(live[0]!.body).toMatchObject({
      id: 'sub000004',
      status: 'suspended',
      _url: `${subscribers()}/sub000004`,
    });
    expect(live[1]!.body).toMatchObject({ id: 'newbie', name: 'New Bie', _url: `${subscribers()}/newbie` });
    expect(live[2]!.body).toEqual({ id: 'sub000008', _url: `${subscribers()}/sub000008` });
    for (const e of after(r.events, mark)) expect(e.id).toBeTruthy();
  });

  test('a rename is a delete of the old id then an add of the new one, with the same entryUUID', async () => {
    const s = await subman();
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await r.until(ready);
    const mark = r.events.length;
    await s.slapd.modify(
      `dn: ${subscriberDn(REALM, 'sub000012')}\nchangetype: modrdn\nnewrdn: uid=renamed\ndeleteoldrdn: 1`,
    );
    await r.until((ev) => after(ev, mark).length >= 2);
    const [del, add] = entries(after(r.events, mark));
    expect(del).toMatchObject({
      syncOp: 'delete',
      body: { id: 'sub000012', _url: `${subscribers()}/sub000012` },
    });
    expect(add).toMatchObject({ syncOp: 'add', body: { id: 'renamed', _url: `${subscribers()}/renamed` } });
    expect(add!.entryUUID).toBe(del!.entryUUID);
  });

  test('a move between realms: the old realm sees the delete, the new one the add, a stream over both sees both', async () => {
    const s = await subman();
    const from = await sse(`${s.base}${subscribers(REALM)}?subscribe=1`);
    const to = await sse(`${s.base}${subscribers('example.net')}?subscribe=1`);
    const both = await sse(`${s.base}/subscriber?subscribe=1`);
    await Promise.all([from.until(ready), to.until(ready), both.until(ready)]);
    const marks = [from.events.length, to.events.length, both.events.length] as const;
    await s.slapd.modify(
      `dn: ${subscriberDn(REALM, 'sub000016')}\nchangetype: modrdn\nnewrdn: uid=sub000016\ndeleteoldrdn: 1\nnewsuperior: ${dn.realm('example.net')}`,
    );
    await from.until((ev) => after(ev, marks[0]).length >= 1);
    await to.until((ev) => after(ev, marks[1]).length >= 1);
    await both.until((ev) => after(ev, marks[2]).length >= 2);
    const [gone] = entries(after(from.events, marks[0]));
    const [came] = entries(after(to.events, marks[1]));
    expect(gone).toMatchObject({ syncOp: 'delete', body: { _url: `/realm/${REALM}/subscriber/sub000016` } });
    expect(came).toMatchObject({
      syncOp: 'add',
      body: { realmId: 'example.net', _url: '/realm/example.net/subscriber/sub000016' },
    });
    expect(entries(after(both.events, marks[2])).map((e) => `${e.syncOp} ${e.body._url}`)).toEqual([
      `delete /realm/${REALM}/subscriber/sub000016`,
      'add /realm/example.net/subscriber/sub000016',
    ]);
    expect(came!.entryUUID).toBe(gone!.entryUUID);
  });

  test('ready of an empty collection carries an id that resumes', async () => {
    const s = await subman();
    await s.slapd.add(`dn: ${dn.realm('empty.example')}\nobjectClass: submanRealm\nsubmanId: empty.example`);
    const url = `${s.base}${subscribers('empty.example')}?subscribe=1`;
    const first = await sse(url);
    await first.until(ready);
    expect(first.events.map((e) => e.event)).toEqual(['ready']);
    first.close();
    await s.slapd.add(
      `dn: ${subscriberDn('empty.example', 'first')}\nobjectClass: submanSubscriber\nuid: first\ncn: First\nsubmanStatus: active`,
    );
    const again = await sse(url, { 'Last-Event-ID': first.lastId()! });
    await again.until(ready);
    expect(entries(again.events).map((e) => `${e.syncOp} ${e.body.id}`)).toEqual(['add first']);
  });

  test('Last-Event-ID resumes with only the missed changes, no replay; so does ?lastEventId=', async () => {
    const s = await subman();
    const first = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await first.until(ready);
    const id = first.lastId()!;
    first.close();
    await modifyStatus(s, 'sub000020', 'missed-1');
    await modifyStatus(s, 'sub000024', 'missed-2');
    await modifyStatus(s, 'sub000001', 'missed-3', 'example.net'); // another realm: not in this view
    await new Promise((r) => setTimeout(r, 200));
    for (const r of [
      await sse(`${s.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': id }),
      await sse(`${s.base}${subscribers()}?subscribe=1&lastEventId=${encodeURIComponent(id)}`),
    ]) {
      await r.until(ready);
      expect(r.events.some((e) => e.event === 'reset')).toBe(false);
      expect(entries(r.events).map((e) => `${e.syncOp} ${e.body.id} ${String(e.body.status)}`)).toEqual([
        'modify sub000020 missed-1',
        'modify sub000024 missed-2',
      ]);
    }
  });

  test.each([
    ['over 1024 bytes', 'x'.repeat(1025)],
    ['with a tab (a control character)', 'abc\tdef'],
  ])('a cookie %s gets 400 (header)', async (_what, cookie) => {
    const s = await subman();
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': cookie });
    expect(r.status).toBe(400);
  });

  test('a cookie with control characters in the query gets 400', async () => {
    const s = await subman();
    const r = await sse(`${s.base}${subscribers()}?subscribe=1&lastEventId=abc%01def`);
    expect(r.status).toBe(400);
    const long = await sse(`${s.base}${subscribers()}?subscribe=1&lastEventId=${'y'.repeat(1025)}`);
    expect(long.status).toBe(400);
  });

  test.each([
    ['tampered with', (id: string) => id.slice(0, -3) + (id.endsWith('AAA') ? 'BBB' : 'AAA')],
    ['well-formed but not ours', () => 'not-a-cookie-of-this-server'],
  ])('a cookie %s gets event: reset and a full replay, ending in the exact state', async (_what, forge) => {
    const s = await subman();
    const first = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await first.until(ready);
    first.close();
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': forge(first.lastId()!) });
    await r.until(ready);
    expect(r.status).toBe(200);
    expect(r.events[0]!.event).toBe('reset');
    expect(r.events[0]!.data).toBe('{}');
    const listing = (await getJson(`${s.base}${subscribers()}`)).body as unknown[];
    expect([...rebuild(r.events).values()].sort((a, b) => a.id.localeCompare(b.id))).toEqual(listing);
  });

  test('a cookie from another deployment (another secret) gets a reset', async () => {
    const s = await subman();
    const first = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await first.until(ready);
    const other = await subman({ slapd: s.slapd, secret: 'another-deployment-secret-42' });
    const r = await sse(`${other.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': first.lastId()! });
    await r.until(ready);
    expect(r.events[0]!.event).toBe('reset');
  });

  test('a cookie older than the change log gets a reset (never a silent gap)', async () => {
    const s = await subman({ logCapacity: 3 });
    const first = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await first.until(ready);
    first.close();
    for (const [i, uid] of ['sub000000', 'sub000004', 'sub000008', 'sub000012', 'sub000016'].entries()) {
      await modifyStatus(s, uid, `status${i}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': first.lastId()! });
    await r.until(ready);
    expect(r.events[0]!.event).toBe('reset');
    expect(entries(r.events).filter((e) => e.syncOp === 'present')).toHaveLength(10);
  });

  test('a client that disconnects during the replay and comes back ends in the exact state', async () => {
    const s = await subman({ subscribers: 400 });
    const first = await sse(`${s.base}${subscribers()}?subscribe=1`, {}, { closeAfter: 5 });
    await first.until((ev) => ev.length >= 5);
    const partial = rebuild(first.events);
    expect(partial.size).toBe(5);
    await modifyStatus(s, 'sub000000', 'suspended');
    const again = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': first.lastId()! });
    await again.until(ready);
    const state = rebuild(again.events, partial);
    const listing = (await getJson(`${s.base}${subscribers()}`)).body as unknown[];
    expect([...state.values()].sort((a, b) => a.id.localeCompare(b.id))).toEqual(listing);
    expect(listing).toHaveLength(100);
  });
});

describe('on the wire', () => {
  test('heartbeat comments keep an idle stream alive', async () => {
    const s = await subman({ heartbeatMs: 50 });
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await r.until(ready);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(2);
  });

  test('the standard eventsource client follows the stream and resumes by itself after a drop', async () => {
    const s = await subman({ retryMs: 50 });
    const es = new EventSource(`${s.base}${subscribers()}?subscribe=1`);
    const seen: { type: string; data: string }[] = [];
    es.addEventListener('ready', (e) => seen.push({ type: 'ready', data: e.data }));
    es.addEventListener('entry', (e) => seen.push({ type: 'entry', data: e.data }));
    try {
      await waitUntil(() => seen.some((e) => e.type === 'ready'));
      const replayed = seen.filter((e) => e.type === 'entry').length;
      expect(replayed).toBe(10);
      // Drop every connection from the server side; EventSource reconnects with Last-Event-ID.
      s.server.closeAllConnections();
      await modifyStatus(s, 'sub000028', 'suspended');
      await waitUntil(() => seen.some((e) => e.data.includes('"suspended"')), 10_000);
      const presents = seen.filter((e) => e.data.includes('"syncOp":"present"')).length;
      expect(presents).toBe(replayed); // no second replay
    } finally {
      es.close();
    }
  });
});

describe('backpressure', () => {
  test('a client that stops reading is cut off and server buffers stay bounded', async () => {
    // Loopback kernel buffers absorb ~4 MB for a client that does not read: replay more than that.
    const s = await subman({ subscribers: 30_000, slowClientTimeoutMs: 300 });
    // A raw client that sends the request and never reads.
    const socket = net.connect(new URL(s.base).port ? Number(new URL(s.base).port) : 80, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.pause();
    socket.write(`GET /subscriber?subscribe=1 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    let closed = false;
    socket.on('close', () => (closed = true));
    const maxBuffered: number[] = [];
    for (let i = 0; i < 100 && !closed; i++) {
      const metrics = await (await fetch(`${s.base}/metrics`)).text();
      maxBuffered.push(Number(/syncrepl_rx_stream_buffered_bytes_max (\d+)/.exec(metrics)?.[1] ?? 0));
      if (/syncrepl_rx_slow_disconnects_total\{resource="allSubscribers"\} 1/.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/syncrepl_rx_slow_disconnects_total\{resource="allSubscribers"\} 1/);
    // ~6 MB of replay was due; the server itself never held more than a socket high-water mark of it.
    expect(Math.max(...maxBuffered)).toBeLessThan(64 * 1024);
    socket.destroy();
  });
});

describe('authorization', () => {
  const authorize: SubmanTestOptions['authorize'] = (req, ctx) => {
    const user = req.get('X-User');
    if (!user) return { allow: false, status: 401, headers: { 'WWW-Authenticate': 'X-User' } };
    if (user === 'admin') return { allow: true };
    if (user === 'org-only') {
      return ctx.params.realmId === REALM ? { allow: true } : { allow: false, status: 403 };
    }
    if (user === 'active-only') {
      return { allow: true, scope: 'active', filter: (e) => e.attributes.submanStatus?.[0] === 'active' };
    }
    return { allow: false, status: 403 };
  };

  test('401 and 403 for listings, items and streams', async () => {
    const s = await subman({ authorize });
    expect((await getJson(`${s.base}${subscribers()}`)).status).toBe(401);
    expect((await sse(`${s.base}${subscribers()}?subscribe=1`)).status).toBe(401);
    expect((await getJson(`${s.base}${subscribers('example.net')}`, { 'X-User': 'org-only' })).status).toBe(
      403,
    );
    expect(
      (await getJson(`${s.base}${subscribers('example.net')}/sub000001`, { 'X-User': 'org-only' })).status,
    ).toBe(403);
    expect(
      (await sse(`${s.base}${subscribers('example.net')}?subscribe=1`, { 'X-User': 'org-only' })).status,
    ).toBe(403);
    expect((await getJson(`${s.base}${subscribers()}`, { 'X-User': 'org-only' })).status).toBe(200);
  });

  test('a narrowing applies to listings, items, replays, live events and resumes', async () => {
    const s = await subman({ authorize });
    const h = { 'X-User': 'active-only' };
    const all = (await getJson(`${s.base}${subscribers()}`, { 'X-User': 'admin' })).body as {
      id: string;
      status: string;
    }[];
    const active = all.filter((b) => b.status === 'active');
    const inactive = all.find((b) => b.status !== 'active')!;
    expect((await getJson(`${s.base}${subscribers()}`, h)).body).toEqual(active);
    expect((await getJson(`${s.base}${subscribers()}/${inactive.id}`, h)).status).toBe(404);
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`, h);
    await r.until(ready);
    expect(
      entries(r.events)
        .map((e) => e.body.id)
        .sort(),
    ).toEqual(active.map((b) => b.id));
    r.close();
    const target = active[0]!.id;
    await modifyStatus(s, target, 'suspended'); // leaves the narrowed view: a delete there
    const back = await sse(`${s.base}${subscribers()}?subscribe=1`, { ...h, 'Last-Event-ID': r.lastId()! });
    await back.until(ready);
    expect(entries(back.events).map((e) => `${e.syncOp} ${e.body.id}`)).toEqual([`delete ${target}`]);
  });

  test('a resume cookie from one view never opens another', async () => {
    const s = await subman({ authorize });
    const narrowed = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'X-User': 'active-only' });
    await narrowed.until(ready);
    // The same cookie on another realm, and under another authorization scope: both get a reset.
    const otherRealm = await sse(`${s.base}${subscribers('example.net')}?subscribe=1`, {
      'X-User': 'admin',
      'Last-Event-ID': narrowed.lastId()!,
    });
    const otherScope = await sse(`${s.base}${subscribers()}?subscribe=1`, {
      'X-User': 'admin',
      'Last-Event-ID': narrowed.lastId()!,
    });
    await Promise.all([otherRealm.until(ready), otherScope.until(ready)]);
    expect(otherRealm.events[0]!.event).toBe('reset');
    expect(otherScope.events[0]!.event).toBe('reset');
    expect(entries(otherScope.events)).toHaveLength(10);
  });
});

describe('authorization without a scope, and resource callbacks that throw', () => {
  test('a filter returned without a scope is never shared with another view', async () => {
    const s = await subman({
      authorize: (req) =>
        req.get('X-User') === 'bob'
          ? { allow: true, filter: (e) => e.attributes.submanStatus?.[0] === 'active' } // no scope
          : { allow: true },
    });
    const all = (await getJson(`${s.base}${subscribers()}`)).body as { id: string; status: string }[];
    const hidden = all.find((b) => b.status !== 'active')!;
    const bob = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'X-User': 'bob' });
    const admin = await sse(`${s.base}${subscribers()}?subscribe=1`, { 'X-User': 'admin' });
    await Promise.all([bob.until(ready), admin.until(ready)]);
    const marks = [bob.events.length, admin.events.length] as const;
    await s.slapd.modify(
      `dn: ${subscriberDn(REALM, hidden.id)}\nchangetype: modify\nreplace: cn\ncn: Not For Bob\n-`,
    );
    await admin.until((ev) => after(ev, marks[1]).length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(entries(after(admin.events, marks[1])).map((e) => e.body.id)).toEqual([hidden.id]);
    expect(entries(after(bob.events, marks[0]))).toEqual([]);
  });

  test('a resource whose body() throws for one entry leaves that entry out; the server lives on', async () => {
    const s = await subman();
    const errors: string[] = [];
    const { syncreplResources } = await import('@syncrepl-rx/server');
    const { resources } = await import('../../examples/subman/src/model.js');
    const fragile = resources.map((r) =>
      r.name === 'subscriber'
        ? {
            ...r,
            body: (e: Parameters<typeof r.body>[0]) => {
              if (e.attributes.cn?.[0] === 'BOOM') throw new Error('mapping failed');
              return r.body(e);
            },
          }
        : r,
    );
    const api = syncreplResources({
      secret: 'test-secret-0123456789abcdef',
      sources: {
        subman: {
          url: s.slapd.url,
          bindDN: s.slapd.readerDN,
          password: s.slapd.readerPassword,
          base: 'dc=subman,dc=example',
        },
      },
      resources: fragile,
      logger: { error: (m) => errors.push(m) },
    });
    const { default: express } = await import('express');
    const app = express().use(api);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      await api.ready();
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}${subscribers()}`;
      const r = await sse(`${url}?subscribe=1`);
      await r.until(ready);
      const mark = r.events.length;
      await s.slapd.modify(
        `dn: ${subscriberDn(REALM, 'sub000000')}\nchangetype: modify\nreplace: cn\ncn: BOOM\n-`,
      );
      await modifyStatus(s, 'sub000004', 'still-alive');
      await r.until((ev) => entries(after(ev, mark)).some((e) => e.body.status === 'still-alive'));
      // The entry that cannot be mapped left this resource (a delete), and the failure was logged.
      expect(entries(after(r.events, mark)).map((e) => `${e.syncOp} ${e.body.id}`)).toEqual([
        'delete sub000000',
        'modify sub000004',
      ]);
      expect(errors.some((e) => e.includes('mapping failed'))).toBe(true);
      const listing = (await getJson(url)).body as { id: string }[];
      expect(listing.map((b) => b.id)).not.toContain('sub000000');
    } finally {
      await api.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('upstream', () => {
  test('before the first ready, listings get 503 with Retry-After; streams get 200 and are held until the data flows', async () => {
    const s = await subman({ waitReady: false });
    await s.slapd.stop();
    const fresh = await subman({ slapd: s.slapd, waitReady: false, heartbeatMs: 50 });
    const list = await getJson(`${fresh.base}${subscribers()}`);
    expect(list.status).toBe(503);
    expect(list.headers.get('retry-after')).toBe('5');
    const stream = await sse(`${fresh.base}${subscribers()}?subscribe=1`);
    expect(stream.status).toBe(200);
    // Held: heartbeats, no event, while the directory is down.
    const beats = stream.comments.length;
    await stream.until(() => stream.comments.length >= beats + 3);
    expect(stream.events).toEqual([]);
    await s.slapd.start();
    await stream.until(ready, 20_000);
    const listing = await getJson(`${fresh.base}${subscribers()}`);
    expect(listing.status).toBe(200);
    expect([...rebuild(stream.events).values()].sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      listing.body,
    );
    expect(stream.events.some((e) => e.event === 'reset')).toBe(false);
  });

  test('while LDAP is down, open streams stay open with heartbeats, and get the changes after recovery', async () => {
    const s = await subman({ heartbeatMs: 50 });
    const r = await sse(`${s.base}${subscribers()}?subscribe=1`);
    await r.until(ready);
    await s.slapd.stop();
    const beats = r.comments.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(r.ended).toBe(false);
    expect(r.comments.length).toBeGreaterThan(beats);
    await s.slapd.start();
    const mark = r.events.length;
    await modifyStatus(s, 'sub000032', 'suspended');
    await r.until(
      (ev) =>
        entries(after(ev, mark)).some((e) => e.body.id === 'sub000032' && e.body.status === 'suspended'),
      15_000,
    );
  });

  test('a server restart with a store dir resumes streams without a replay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'subman-store-'));
    try {
      const s = await subman({ storeDir: dir });
      const first = await sse(`${s.base}${subscribers()}?subscribe=1`);
      await first.until(ready);
      await modifyStatus(s, 'sub000036', 'one');
      await first.until((ev) => entries(ev).some((e) => e.syncOp === 'modify'));
      const id = first.lastId()!;
      first.close();
      await s.stopServer();
      await modifyStatus(s, 'sub000036', 'two'); // while the server is down
      const again = await subman({ slapd: s.slapd, storeDir: dir });
      const r = await sse(`${again.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': id });
      await r.until(ready);
      expect(r.events.some((e) => e.event === 'reset')).toBe(false);
      expect(entries(r.events).map((e) => `${e.syncOp} ${e.body.id} ${String(e.body.status)}`)).toEqual([
        'modify sub000036 two',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const deliveries = (metrics: string) =>
  Number(/^syncrepl_rx_change_delivery_seconds_count (\d+)/m.exec(metrics)?.[1] ?? NaN);

describe('fan-out and observability', () => {
  test('one upstream LDAP search serves every listing and stream; metrics report them', async () => {
    const s = await subman();
    const streams = await Promise.all(
      [subscribers(), subscribers('example.net'), '/realm', '/subscriber', subscribers()].map((p) =>
        sse(`${s.base}${p}?subscribe=1`),
      ),
    );
    await Promise.all(streams.map((r) => r.until(ready)));
    await getJson(`${s.base}${subscribers()}`);
    // slapd sees one client connection (the server's), running one operation: the persistent search.
    expect((await s.slapd.connections()).map((c) => c.opsExecuting)).toEqual([1]);

    const resumed = await sse(`${s.base}${subscribers()}?subscribe=1`, {
      'Last-Event-ID': streams[0]!.lastId()!,
    });
    await resumed.until(ready);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/syncrepl_rx_subscribers\{resource="subscriber"\} 4/);
    expect(metrics).toMatch(/syncrepl_rx_events_sent_total\{resource="subscriber",event="present"\} 30/);
    expect(metrics).toMatch(/syncrepl_rx_upstream_state\{source="subman",state="live"\} 1/);
    expect(metrics).toMatch(/syncrepl_rx_resumes_total\{resource="subscriber",outcome="resumed"\} 1/);
    expect(metrics).toMatch(/syncrepl_rx_upstream_last_cookie_timestamp_seconds\{source="subman"\} \d+/);
    // Outcomes and events are there from the start, at 0; so are the process's own metrics.
    expect(metrics).toMatch(/syncrepl_rx_resumes_total\{resource="realm",outcome="rejected"\} 0/);
    expect(metrics).toMatch(/syncrepl_rx_events_sent_total\{resource="group",event="delete"\} 0/);
    expect(metrics).toMatch(/syncrepl_rx_upstream_reconnects_total\{source="subman"\} 0/);
    expect(metrics).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds \d/m);

    // A live change is observed once, at its first SSE write, from its CSN's time.
    const before = deliveries(metrics);
    await modifyStatus(s, 'sub000004', 'observed');
    await Promise.all(
      [streams[0]!, streams[3]!, streams[4]!].map((r) =>
        r.until((ev) => ev.some((e) => e.data.includes('observed'))),
      ),
    );
    const after = deliveries(await (await fetch(`${s.base}/metrics`)).text());
    expect(after - before).toBe(1);
  });

  test('a refused upstream bind is logged without the password, and requests get 503', async () => {
    const lines: string[] = [];
    const log = (m: string, f?: Record<string, unknown>) => lines.push(`${m} ${JSON.stringify(f ?? {})}`);
    const base = await subman();
    const password = 'Definitely-Wrong-Pw-77';
    const { createSubmanApp } = await import('../../examples/subman/src/app.js');
    const { app, api } = createSubmanApp({
      secret: 'test-secret-0123456789abcdef',
      ldap: { url: base.slapd.url, bindDN: base.slapd.readerDN, password },
      logger: { debug: log, info: log, warn: log, error: log },
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      await waitUntil(() => lines.some((l) => l.includes('refused the bind')));
      expect((await getJson(`${url}${subscribers()}`)).status).toBe(503);
      expect(lines.join('\n')).not.toContain(password);
    } finally {
      await api.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('corrupt stored state', () => {
  test('a damaged change log is moved aside: the server starts, and an old cookie gets a reset and ends in the exact state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'subman-damaged-'));
    try {
      const s = await subman({ storeDir: dir });
      const first = await sse(`${s.base}${subscribers()}?subscribe=1`);
      await first.until(ready);
      const id = first.lastId()!;
      first.close();
      await s.stopServer();
      await writeFile(join(dir, 'log', 'data.mdb'), Buffer.alloc(8192, 0x5a));
      await modifyStatus(s, 'sub000020', 'while-down');
      const warnings: string[] = [];
      const again = await subman({
        slapd: s.slapd,
        storeDir: dir,
        logger: { warn: (m) => warnings.push(m) },
      });
      expect(warnings.some((w) => w.includes('change log could not be opened'))).toBe(true);
      const r = await sse(`${again.base}${subscribers()}?subscribe=1`, { 'Last-Event-ID': id });
      await r.until(ready);
      // The log's history is gone. The stream's position is known, but not whether the replica
      // holds changes beyond its own cookie that no log recorded (a refresh cut short): a new
      // history trusts no catch-up from before its first refresh ended. A reset, then the exact
      // state, the change made meanwhile included.
      expect(r.events.findIndex((e) => e.event === 'reset')).toBe(0);
      const listing = (await getJson(`${again.base}${subscribers()}`)).body as { id: string }[];
      const state = rebuild(r.events);
      expect(state.size).toBe(listing.length);
      expect([...state.values()].find((b) => b.id === 'sub000020')?.status).toBe('while-down');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SubMan: the 15 stream endpoints (docs/stream-contract.md §X1)', () => {
  const endpoints = [
    '/realm',
    '/realm/example.org/subscriber',
    '/group',
    '/service',
    '/service/internet/profile',
    '/service/internet/profile/100M/policy',
    '/client',
    '/client/nas1/port',
    '/client/nas1/port/ge-0-0-0/qinq',
    '/client/nas1/port/ge-0-0-0/stag',
    '/clientGroup',
    '/accessDevice',
    '/accessDevice/olt1/port',
    '/accessDevice/olt1/port/ge-0-0-1/qinq',
    '/accessDevice/olt1/port/ge-0-0-1/stag',
  ];

  test('each has a listing, items, and a stream whose replay equals the listing', async () => {
    const s = await subman();
    for (const path of endpoints) {
      const listing = (await getJson(`${s.base}${path}`)).body as { id: string; _url: string }[];
      expect(listing.length, path).toBeGreaterThan(0);
      const item = await getJson(`${s.base}${listing[0]!._url}`);
      expect(item.body, path).toEqual(listing[0]);
      expect(listing[0]!._url).toBe(`${path}/${encodeURIComponent(listing[0]!.id)}`);
      const r = await sse(`${s.base}${path}?subscribe=1`);
      await r.until(ready);
      expect(
        [...rebuild(r.events).values()].sort((a, b) => a.id.localeCompare(b.id)),
        path,
      ).toEqual(listing);
      r.close();
    }
  });
});

describe('REST', () => {
  test('items, 404, filter_* and 400 for an unknown filter; options are never mutated', async () => {
    const secret = 'frozen-secret-0123456789';
    const s = await subman(Object.freeze({ secret }) as SubmanTestOptions);
    const item = await getJson(`${s.base}${subscribers()}/sub000000`);
    expect(item.status).toBe(200);
    expect(item.body).toMatchObject({ id: 'sub000000', _url: `${subscribers()}/sub000000` });
    expect((await getJson(`${s.base}${subscribers()}/nobody`)).status).toBe(404);
    const active = (await getJson(`${s.base}${subscribers()}?filter_status=active`)).body as {
      status: string;
    }[];
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((b) => b.status === 'active')).toBe(true);
    expect((await getJson(`${s.base}${subscribers()}?filter_colour=red`)).status).toBe(400);
    // Names every object inherits are no filters either (they once passed the check).
    for (const name of ['constructor', '__proto__', 'toString']) {
      expect((await getJson(`${s.base}${subscribers()}?filter_${name}=x`)).status, name).toBe(400);
    }
    const realms = (await getJson(`${s.base}/realm`)).body as { id: string }[];
    expect(realms.map((r) => r.id)).toEqual(['campus.example', 'example.net', 'example.org', 'isp.example']);
  });

  test('mounted under a path: _url links carry basePath and resolve from the root; a router mounted elsewhere than its basePath says so once', async () => {
    const base = await subman();
    const { createSubmanApp } = await import('../../examples/subman/src/app.js');
    const express = (await import('express')).default;
    const warnings: string[] = [];
    const mounted = (basePath: string | undefined) => {
      const { api } = createSubmanApp({
        secret: 'test-secret-0123456789abcdef',
        ldap: { url: base.slapd.url, bindDN: base.slapd.readerDN, password: base.slapd.readerPassword },
        logger: { warn: (m) => warnings.push(m) },
        ...(basePath === undefined ? {} : { basePath }),
      });
      return api;
    };
    const good = mounted('/api');
    const unaware = mounted(undefined);
    const outer = express();
    outer.use('/api', good);
    outer.use('/other', unaware);
    const server = outer.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      await Promise.all([good.ready(), unaware.ready()]);
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const listing = (await getJson(`${url}/api${subscribers()}`)).body as { _url: string }[];
      expect(listing[0]!._url.startsWith(`/api${subscribers()}/`)).toBe(true);
      const item = await getJson(`${url}${listing[0]!._url}`);
      expect(item.status).toBe(200);
      expect(item.body).toEqual(listing[0]);
      expect(warnings).toEqual([]);
      await getJson(`${url}/other${subscribers()}`);
      await getJson(`${url}/other${subscribers()}`);
      expect(warnings).toEqual([
        "syncreplResources is mounted at '/other' but its basePath is '': _url links will not resolve; pass basePath: '/other'",
      ]);
    } finally {
      await Promise.all([good.close(), unaware.close()]);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('errors are RFC 9457 problem details (JSON, no stack); HEAD of a stream answers its headers and ends', async () => {
    const s = await subman();
    const missing = await getJson(`${s.base}${subscribers()}/nobody?x=1`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no subscriber "nobody"',
      instance: `${subscribers()}/nobody`,
    });
    const bad = await getJson(`${s.base}${subscribers()}?filter_colour=red`);
    expect(bad.body).toMatchObject({ status: 400, title: 'Bad Request' });
    expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack
    const cookie = await getJson(`${s.base}${subscribers()}?subscribe=1`, {
      'Last-Event-ID': 'x'.repeat(2000),
    });
    expect(cookie.body).toMatchObject({ status: 400, detail: expect.stringContaining('bad resume cookie') });

    // HEAD: a stream's headers, then the end (not a stream that never ends).
    const head = await fetch(`${s.base}${subscribers()}?subscribe=1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await head.text()).toBe('');
    const headMissing = await fetch(`${s.base}${subscribers()}/nobody`, { method: 'HEAD' });
    expect(headMissing.status).toBe(404);
  });
});

async function waitUntil(check: () => boolean, ms = 5000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the upstream', () => {
  test("the server's replica stores entries as the wire brought them (records), through its tap, never encoding them again", async () => {
    const commit = vi.spyOn(MemoryStore.prototype, 'commit');
    try {
      const s = await subman();
      const r = await sse(`${s.base}${subscribers()}?subscribe=1`);
      await r.until(ready);
      const seen = r.events.length;
      await modifyStatus(s, 'sub000004', 'suspended');
      await r.until((events) => entries(after(events, seen)).length > 0);
      // Every entry put into the replica, in the initial load and live, came with its record.
      const puts = commit.mock.calls.flatMap(([batch]: [ReplicaBatch]) =>
        [...batch.mutations]
          .filter(([, entry]) => entry !== null)
          .map(([uuid]) => batch.records?.has(uuid) ?? false),
      );
      expect(puts.length).toBeGreaterThan(10);
      expect(puts.filter((hasRecord) => !hasRecord)).toEqual([]);
    } finally {
      commit.mockRestore();
    }
  });
});
