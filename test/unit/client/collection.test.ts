import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { raw as rawStore } from '../../fixtures/idb.js';
import { U, body, entry, fakeServer, ready, reset, until, type Sub } from '../../fixtures/fake-fetch.js';
import {
  MalformedEventError,
  UnauthorizedError,
  collection,
  createStreamStore,
  type Collection,
  type CollectionChange,
  type CollectionOptions,
  type CollectionStatus,
  type StreamEvent,
  type LocalStore,
} from '../../../packages/client/src/index.js';
import { FORMAT_VERSION } from '../../../packages/client/src/constants.js';
import { META_KEY, loadLocal, writeBatch, type StateMeta } from '../../../packages/client/src/persistence.js';

let n = 0;
const open: Collection<Sub>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A collection over a fresh fake server and a fresh database (or the given store). */
function setup(options: CollectionOptions = {}, url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`) {
  const server = fakeServer();
  const c = collection<Sub>(url, {
    fetch: server.fetch,
    connectivity: null,
    backoff: { initialDelay: 1, maxDelay: 5 },
    ...options,
  });
  open.push(c);
  const statuses: CollectionStatus[] = [];
  const changes: CollectionChange<Sub>[] = [];
  const events: StreamEvent<Sub>[] = [];
  c.status$.subscribe((s) => statuses.push(s));
  c.changes$.subscribe((ch) => changes.push(ch));
  c.events$.subscribe((e) => events.push(e));
  const kind = () => c.status.getSnapshot().kind;
  return { c, server, url, statuses, changes, events, kind };
}

const ids = (snapshot: ReadonlyMap<string, Sub>) => [...snapshot.values()].map((b) => b.id).sort();

/** A store that records what the database holds (via loadLocal) after every readwrite transaction. */
function recording(url: string, store: LocalStore) {
  const commits: { cookie: string | undefined; entries: Map<string, Sub> }[] = [];
  const wrapped: LocalStore = async (mode, callback) => {
    const result = await store(mode, callback);
    if (mode === 'readwrite') {
      const loaded = await loadLocal<Sub>(url, {}, store);
      if (loaded.kind !== 'restored') throw new Error(`the store is ${loaded.kind} after a write`);
      commits.push({ cookie: loaded.meta.cookie, entries: loaded.entries });
    }
    return result;
  };
  return { store: wrapped, commits };
}

const localOf = (st: CollectionStatus) => ('local' in st ? st.local.kind : undefined);

describe('collection: the state rebuild over a stream', () => {
  it('upserts present/add/modify, removes on delete, and a rename keeps its entryUUID', async () => {
    const { c, server, changes, kind } = setup({ store: null });
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + entry('present', 2, body('bob'), 'p') + ready('c1'));
    await until(() => kind() === 'live', 'live');
    expect(ids(c.getSnapshot())).toEqual(['ann', 'bob']);
    server.send(entry('modify', 1, body('ann', 'suspended'), 'c2'));
    server.send(entry('delete', 2, { id: 'bob', _url: body('bob')._url }, 'c3'));
    server.send(entry('delete', 1, { id: 'ann', _url: body('ann')._url }, 'c4'));
    server.send(entry('add', 1, body('anna', 'suspended'), 'c5'));
    await until(() => changes.length === 6, 'six changes');
    expect([...c.getSnapshot()]).toEqual([[U(1), body('anna', 'suspended')]]);
    expect(changes.map((ch) => `${ch.type}:${ch.entryUUID.slice(-1)}`)).toEqual([
      'upsert:1',
      'upsert:2',
      'upsert:1',
      'delete:2',
      'delete:1',
      'upsert:1',
    ]);
  });

  it('on reset, entries not re-presented before ready are dropped, exactly then', async () => {
    const { c, server, changes, kind, statuses } = setup({ store: null });
    await server.request(1);
    server.send(
      entry('present', 1, body('ann'), 'p') +
        entry('present', 2, body('bob'), 'p') +
        entry('present', 3, body('cid'), 'p') +
        ready('c1'),
    );
    await until(() => kind() === 'live');
    server.end(); // the server goes away; the client resumes with c1, which it cannot honour
    await server.request(2);
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c1');
    server.send(
      reset + entry('present', 1, body('ann'), 'p2') + entry('present', 3, body('cid', 'disabled'), 'p2'),
    );
    await until(() => c.getSnapshot().get(U(3))?.status === 'disabled', 'cid modified');
    expect(ids(c.getSnapshot())).toEqual(['ann', 'bob', 'cid']); // bob is not gone before ready
    expect(statuses.at(-1)).toMatchObject({ kind: 'replaying', full: true });
    server.send(ready('c2'));
    await until(() => kind() === 'live');
    expect(ids(c.getSnapshot())).toEqual(['ann', 'cid']);
    expect(changes.filter((ch) => ch.type === 'delete')).toEqual([
      { type: 'delete', cause: 'reset', entryUUID: U(2), previous: body('bob') },
    ]);
    // ann came back unchanged: not a change (S4)
    expect(changes.filter((ch) => ch.entryUUID === U(1))).toHaveLength(1);
  });

  it('exposes every received event on events$, presents included', async () => {
    const { server, events, kind } = setup({ store: null });
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => kind() === 'live');
    expect(events).toEqual([
      { type: 'entry', syncOp: 'present', entryUUID: U(1), body: body('ann'), id: 'p' },
      { type: 'ready', id: 'c1' },
    ]);
  });

  it('stops with MalformedEventError on an entry that is not { entryUUID, syncOp, body }', async () => {
    const { c, server, kind } = setup({ store: null });
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + 'event: entry\nid: bad\ndata: {"syncOp":"add"}\n\n');
    await until(() => kind() === 'error');
    const status = c.status.getSnapshot() as Extract<CollectionStatus, { kind: 'error' }>;
    expect(status.error).toBeInstanceOf(MalformedEventError);
    expect(status.error.message).toMatch(/has no entryUUID/);
    expect(ids(c.getSnapshot())).toEqual(['ann']);
  });
});

describe('collection: status', () => {
  it('goes loading-local → connecting → replaying → live', async () => {
    const { server, statuses, kind } = setup();
    await server.request(1);
    server.send(ready('c1'));
    await until(() => kind() === 'live');
    expect(statuses.map((s) => s.kind)).toEqual(['loading-local', 'connecting', 'replaying', 'live']);
    expect(statuses[1]).toMatchObject({ local: { kind: 'empty' } });
  });

  it('401: error status with UnauthorizedError and no retry; reconnect() tries again', async () => {
    const { c, server, kind } = setup({ store: null });
    server.statuses.push(401);
    await until(() => kind() === 'error');
    const status = c.status.getSnapshot() as Extract<CollectionStatus, { kind: 'error' }>;
    expect(status.error).toBeInstanceOf(UnauthorizedError);
    await new Promise((r) => setTimeout(r, 30));
    expect(server.requests).toHaveLength(1);
    c.reconnect();
    await server.request(2);
    server.send(ready('c1'));
    await until(() => kind() === 'live');
  });
});

describe('collection: snapshots for UI stores', () => {
  it('getSnapshot() keeps its identity until something changes (useSyncExternalStore)', async () => {
    const { c, server, kind } = setup({ store: null });
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => kind() === 'live');
    const first = c.getSnapshot();
    expect(c.getSnapshot()).toBe(first);
    server.send(entry('modify', 1, body('ann'), 'c2')); // same body: no change
    await new Promise((r) => setTimeout(r, 20));
    expect(c.getSnapshot()).toBe(first);
    server.send(entry('modify', 1, body('ann', 'disabled'), 'c3'));
    await until(() => c.getSnapshot() !== first, 'a new snapshot');
    expect(first.get(U(1))).toEqual(body('ann')); // old snapshots are not mutated
    expect(c.getSnapshot().get(U(1))).toEqual(body('ann', 'disabled'));
  });

  it('subscribe() calls the listener at once and on changes, coalesced, and returns unsubscribe (Svelte)', async () => {
    const { c, server } = setup({ store: null });
    const seen: number[] = [];
    const unsubscribe = c.subscribe((snapshot) => seen.push(snapshot.size));
    expect(seen).toEqual([0]); // synchronously
    await server.request(1);
    server.send(
      entry('present', 1, body('a'), 'p') +
        entry('present', 2, body('b'), 'p') +
        entry('present', 3, body('c'), 'p'),
    );
    await until(() => seen.at(-1) === 3, 'three entries');
    expect(seen).toEqual([0, 3]); // one notification for one chunk of events
    expect(typeof unsubscribe).toBe('function');
    unsubscribe();
    server.send(entry('add', 4, body('d'), 'c4'));
    await until(() => c.getSnapshot().size === 4);
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([0, 3]);
  });

  it('subscribe and getSnapshot work detached (React calls them unbound)', () => {
    const { c } = setup({ store: null });
    const { subscribe, getSnapshot } = c;
    let calls = 0;
    const off = subscribe(() => calls++);
    expect(getSnapshot()).toBeInstanceOf(Map);
    expect(calls).toBe(1);
    off();
    const { subscribe: onStatus, getSnapshot: status } = c.status;
    expect(status().kind).toBeDefined();
    onStatus(() => calls++)();
    expect(calls).toBe(2);
  });
  it('after close(), subscribe still hands over the last value at once (store contract)', async () => {
    const { c, server, kind } = setup({ store: null });
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => kind() === 'live');
    await c.close();
    const seen: unknown[] = [];
    c.subscribe((snapshot) => seen.push(snapshot.size))();
    c.status.subscribe((status) => seen.push(status.kind))();
    expect(seen).toEqual([1, 'live']);
  });
});

describe('collection: persistence', () => {
  it('emits the stored state before any request, then resumes with the stored cookie on the FIRST request', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const store = createStreamStore(url);
    const meta: StateMeta = {
      url,
      cookie: 'stored-cookie',
      replaying: false,
      buster: undefined,
      writer: 'earlier-visit',
    };
    await writeBatch(
      { puts: new Map([[U(1), body('ann')]]), deletes: new Set(), meta },
      { expectedWriter: undefined },
      store,
    );
    const server = fakeServer();
    let firstSnapshotAt = 0;
    const c = collection<Sub>(url, { fetch: server.fetch, connectivity: null });
    open.push(c);
    c.subscribe((s) => {
      if (s.size > 0 && !firstSnapshotAt) firstSnapshotAt = performance.now();
    });
    await server.request(1);
    expect(firstSnapshotAt).toBeGreaterThan(0);
    expect(firstSnapshotAt).toBeLessThanOrEqual(server.requests[0]!.at);
    expect(server.requests[0]!.headers['Last-Event-ID']).toBe('stored-cookie');
    expect(c.status.getSnapshot()).toMatchObject({
      kind: 'connecting',
      local: { kind: 'restored', entries: 1 },
    });
    server.send(ready('c2'));
    await until(() => c.status.getSnapshot().kind === 'live');
    expect(c.status.getSnapshot()).toMatchObject({ kind: 'live' });
    expect(ids(c.getSnapshot())).toEqual(['ann']);
  });

  it('writes in batches: one transaction for a burst, and every stored cookie matches its stored entries (P1)', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const { store, commits } = recording(url, createStreamStore(url));
    const { c, server, kind } = setup({ store, batchDelayMs: 20 }, url);
    await server.request(1);
    // expected state after the event carrying each cookie
    const expected = new Map<string, Map<string, Sub>>();
    const state = new Map<string, Sub>();
    let text = '';
    for (let i = 1; i <= 200; i++) {
      state.set(U(i), body(`s${i}`));
      text += entry('present', i, body(`s${i}`), `p${i}`);
      expected.set(`p${i}`, new Map(state));
    }
    text += ready('r1');
    expected.set('r1', new Map(state));
    server.send(text);
    await until(() => kind() === 'live');
    await until(() => commits.at(-1)?.cookie === 'r1', 'r1 stored');
    expect(commits).toHaveLength(1); // 201 events, one transaction
    // live changes spread over time: deletes, modifies, a rename
    const live: [string, () => void][] = [
      ['c1', () => state.delete(U(5))],
      ['c2', () => state.set(U(6), body('s6', 'disabled'))],
      ['c3', () => state.delete(U(7))],
      ['c4', () => state.set(U(7), body('renamed'))],
    ];
    server.send(entry('delete', 5, { id: 's5', _url: 'x' }, 'c1'));
    server.send(entry('modify', 6, body('s6', 'disabled'), 'c2'));
    await new Promise((r) => setTimeout(r, 60));
    server.send(entry('delete', 7, { id: 's7', _url: 'x' }, 'c3') + entry('add', 7, body('renamed'), 'c4'));
    for (const [cookie, change] of live) {
      change();
      expected.set(cookie, new Map(state));
    }
    await until(() => commits.at(-1)?.cookie === 'c4', 'c4 stored');
    expect(commits.length).toBe(3);
    for (const commit of commits) {
      expect(commit.entries, `entries stored with cookie ${commit.cookie}`).toEqual(
        expected.get(commit.cookie!),
      );
    }
    expect(c.getSnapshot()).toEqual(state);
  });

  it('compacts once the segments outgrow the state: the store shrinks back, the state stays exact', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const raw = createStreamStore(url);
    const { store, commits } = recording(url, raw);
    const { c, server, kind } = setup({ store, batchDelayMs: 5 }, url);
    await server.request(1);
    let text = '';
    for (let i = 1; i <= 1200; i++) text += entry('present', i, body(`s${i}`), 'p');
    server.send(text + ready('r1'));
    await until(() => kind() === 'live');
    await until(() => commits.at(-1)?.cookie === 'r1', 'r1 stored');
    text = '';
    for (let i = 101; i <= 1200; i++) text += entry('delete', i, { id: `s${i}`, _url: 'x' }, `d${i}`);
    server.send(text);
    await until(() => commits.at(-1)?.cookie === 'd1200', 'deletes stored');
    // Without compaction: 2+ segments of puts and 2+ of deletes. The segments came to outweigh the
    // state of 100, so a batch rewrote it as one base record (a later batch may add one segment).
    const keys = await raw(
      'readonly',
      (s) =>
        new Promise<unknown[]>(
          (resolve) =>
            (rawStore(s).getAllKeys().onsuccess = (e: { target: { result: unknown[] } }) =>
              resolve(e.target.result)),
        ),
    );
    expect(keys).toContain('base:0');
    expect(keys.length).toBeLessThanOrEqual(3);
    expect(commits.at(-1)!.entries).toEqual(c.getSnapshot());
    expect(c.getSnapshot().size).toBe(100);
  });

  it('a failed write stops persisting, says so, and the collection goes on in memory (P6)', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const real = createStreamStore(url);
    let failing = false;
    const store: LocalStore = (mode, callback) =>
      failing && mode === 'readwrite'
        ? Promise.reject(new DOMException('quota exceeded', 'QuotaExceededError'))
        : real(mode, callback);
    const { c, server, kind } = setup({ store, batchDelayMs: 1 }, url);
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => kind() === 'live');
    await until(async () => {
      const loaded = await loadLocal<Sub>(url, {}, real);
      return loaded.kind === 'restored' && loaded.meta.cookie === 'c1';
    }, 'c1 stored');
    failing = true;
    server.send(entry('add', 2, body('bob'), 'c2'));
    await until(() => localOf(c.status.getSnapshot()) === 'stopped', 'persisting stopped');
    expect(c.status.getSnapshot()).toMatchObject({
      kind: 'live',
      local: { kind: 'stopped', reason: 'write-failed', detail: expect.stringMatching(/quota exceeded/) },
    });
    server.send(entry('add', 3, body('cid'), 'c3'));
    await until(() => c.getSnapshot().size === 3, 'still applying');
    const stored = await loadLocal<Sub>(url, {}, real);
    expect(stored).toMatchObject({ kind: 'restored', meta: { cookie: 'c1' } }); // older, consistent
    expect(stored.kind === 'restored' && ids(stored.entries)).toEqual(['ann']);
  });

  it('close() writes what is pending', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const { c, server, kind } = setup({ batchDelayMs: 60_000 }, url);
    await server.request(1);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => kind() === 'live');
    await c.close();
    const loaded = await loadLocal<Sub>(url);
    expect(loaded).toMatchObject({ kind: 'restored', meta: { cookie: 'c1' } });
  });

  it('a reload resumes: the same data, the stored cookie sent, no replay needed', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const first = setup({}, url);
    await first.server.request(1);
    first.server.send(
      entry('present', 1, body('ann'), 'p') + entry('present', 2, body('bob'), 'p') + ready('c1'),
    );
    await until(() => first.kind() === 'live');
    first.server.send(entry('delete', 2, { id: 'bob', _url: 'x' }, 'c2'));
    await until(() => first.c.getSnapshot().size === 1);
    await first.c.close();
    const second = setup({}, url);
    await second.server.request(1);
    expect(second.server.requests[0]!.headers['Last-Event-ID']).toBe('c2');
    expect(ids(second.c.getSnapshot())).toEqual(['ann']);
    second.server.send(ready('c2'));
    await until(() => second.kind() === 'live');
    expect(ids(second.c.getSnapshot())).toEqual(['ann']);
  });

  it('corrupt stored data is discarded: the status says so, and the stream replays without a cookie (P4)', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const store = createStreamStore(url);
    await store('readwrite', (os) => {
      const s = rawStore(os);
      s.put({ format: FORMAT_VERSION, cookie: 12 }, META_KEY);
      s.put({ puts: [[U(9), body('ghost')]], deletes: [] }, 'seg:0');
      return new Promise<void>((resolve) => (s.transaction.oncomplete = () => resolve()));
    });
    const { c, server, kind, statuses } = setup({ store }, url);
    await server.request(1);
    expect(server.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
    expect(statuses[1]).toMatchObject({
      kind: 'connecting',
      local: { kind: 'discarded', reason: 'corrupt' },
    });
    expect(c.getSnapshot().size).toBe(0);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => kind() === 'live');
    expect(ids(c.getSnapshot())).toEqual(['ann']);
  });

  it('a stored copy from another format version is discarded as old-format', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const store = createStreamStore(url);
    const meta: StateMeta = { url, cookie: 'c', replaying: false, buster: undefined, writer: 'w' };
    await writeBatch(
      { puts: new Map([[U(1), body('ann')]]), deletes: new Set(), meta },
      { expectedWriter: undefined },
      store,
    );
    // rewrite the stored format as an older or newer client would have left it
    await store('readwrite', (os) => {
      const s = rawStore(os);
      const get = s.get(META_KEY);
      get.onsuccess = () => s.put({ ...get.result, format: FORMAT_VERSION + 1 }, META_KEY);
      return new Promise<void>((resolve) => (s.transaction.oncomplete = () => resolve()));
    });
    const { server, statuses } = setup({ store }, url);
    await server.request(1);
    expect(statuses[1]).toMatchObject({ local: { kind: 'discarded', reason: 'old-format' } });
    expect(server.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
  });

  it('a new buster forces a fresh start; the same buster resumes', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const first = setup({ buster: 'v1' }, url);
    await first.server.request(1);
    first.server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await until(() => first.kind() === 'live');
    await first.c.close();
    const same = setup({ buster: 'v1' }, url);
    await same.server.request(1);
    expect(same.server.requests[0]!.headers['Last-Event-ID']).toBe('c1');
    await same.c.close();
    const busted = setup({ buster: 'v2' }, url);
    await busted.server.request(1);
    expect(busted.server.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
    expect(busted.c.getSnapshot().size).toBe(0);
    expect(busted.statuses[1]).toMatchObject({ local: { kind: 'discarded', reason: 'buster' } });
  });

  it('an interrupted full replay is not resumed from its cookie: the next start replays again', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const first = setup({}, url);
    await first.server.request(1);
    first.server.send(
      entry('present', 1, body('ann'), 'p1') + entry('present', 2, body('ghost'), 'p1') + ready('c1'),
    );
    await until(() => first.kind() === 'live');
    first.server.end();
    await first.server.request(2);
    first.server.send(reset + entry('present', 1, body('ann'), 'p2')); // and the page closes mid-replay
    await until(() => first.events.length === 5);
    await first.c.close();
    const second = setup({}, url);
    await second.server.request(1);
    expect(second.server.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
    expect(ids(second.c.getSnapshot())).toEqual(['ann', 'ghost']); // shown at once, as stored
    second.server.send(entry('present', 1, body('ann'), 'p3') + ready('c3'));
    await until(() => second.kind() === 'live');
    expect(ids(second.c.getSnapshot())).toEqual(['ann']); // the ghost is gone
  });

  it('a 400 to the stored cookie: the cookie is dropped, the status says so, and a full replay follows', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const first = setup({}, url);
    await first.server.request(1);
    first.server.send(
      entry('present', 1, body('ann'), 'p') + entry('present', 2, body('ghost'), 'p') + ready('c1'),
    );
    await until(() => first.kind() === 'live');
    await first.c.close();
    const second = setup({}, url);
    second.server.statuses.push(400);
    await second.server.request(2);
    expect(second.server.requests[0]!.headers['Last-Event-ID']).toBe('c1');
    expect(second.server.requests[1]!.headers['Last-Event-ID']).toBeUndefined();
    expect(second.c.status.getSnapshot()).toMatchObject({
      local: { kind: 'discarded', reason: 'rejected-cookie' },
    });
    second.server.send(entry('present', 1, body('ann'), 'p') + ready('c2'));
    await until(() => second.kind() === 'live');
    expect(ids(second.c.getSnapshot())).toEqual(['ann']);
  });

  it('two tabs on one stream: the newer one writes, the older one stops writing and says so (P3)', async () => {
    const url = `http://s.test/realm/r${++n}/subscriber?subscribe=1`;
    const a = setup({ batchDelayMs: 1 }, url);
    await a.server.request(1);
    a.server.send(entry('present', 1, body('ann'), 'p') + ready('a1'));
    await until(() => a.kind() === 'live');
    await until(async () => (await storedCookie(url)) === 'a1', "tab a's write of a1");
    const b = setup({ batchDelayMs: 1 }, url);
    await b.server.request(1);
    expect(b.server.requests[0]!.headers['Last-Event-ID']).toBe('a1');
    b.server.send(entry('add', 2, body('bob'), 'b2') + ready('b2'));
    await until(() => b.kind() === 'live');
    await until(async () => (await storedCookie(url)) === 'b2', "tab b's write of b2");
    a.server.send(entry('add', 3, body('old-tab'), 'a3'));
    await until(() => localOf(a.c.status.getSnapshot()) === 'stopped', 'tab a stopped writing');
    expect(a.c.status.getSnapshot()).toMatchObject({ local: { kind: 'stopped', reason: 'other-tab' } });
    const stored = await loadLocal<Sub>(url);
    expect(stored).toMatchObject({ kind: 'restored', meta: { cookie: 'b2' } });
    expect(stored.kind === 'restored' && ids(new Map(stored.entries))).toEqual(['ann', 'bob']);
  });
});

/** The cookie of the local copy stored for `url`, or undefined when there is none yet. */
async function storedCookie(url: string): Promise<string | undefined> {
  const stored = await loadLocal<Sub>(url);
  return stored.kind === 'restored' ? stored.meta.cookie : undefined;
}
