/**
 * The local-copy part of a collection alone (packages/client/src/local-copy.ts), over
 * fake-indexeddb: load and the position a tab stands at (M4), write-behind as the one writer
 * (P1, P3, M8), and what it says as `local` — with no stream and no entries' rules.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { createStreamStore, type LocalState, type LocalStore } from '../../../packages/client/src/index.js';
import { localCopy, type LocalCopyOptions } from '../../../packages/client/src/local-copy.js';
import { loadLocal, writeBatch } from '../../../packages/client/src/persistence.js';
import type { Position } from '../../../packages/client/src/tab-messages.js';

interface Sub {
  id: string;
}

let n = 0;
const freshUrl = () => `http://s.test/realm/r${++n}/subscriber?subscribe=1`;

/** A local copy over `store`, whose state in memory is `entries` and `said`, as a collection's would be. */
function setup(url: string, store: LocalStore | null, over: Partial<LocalCopyOptions<Sub>> = {}) {
  const entries = new Map<string, Sub>();
  const said = {
    cookie: undefined as string | undefined,
    replaying: false,
    position: undefined as Position | undefined,
  };
  const changed: LocalState[] = [];
  const copy = localCopy<Sub>({
    url,
    store,
    buster: undefined,
    batchDelayMs: 1,
    describe: () => ({ ...said }),
    entries: () => entries,
    onChanged: (local) => changed.push(local),
    ...over,
  });
  /** Applies an upsert to the state in memory and queues it, as the collection does. */
  const put = (key: string, body: Sub) => {
    const previous = entries.get(key);
    entries.set(key, body);
    copy.change({ type: 'upsert', syncOp: previous ? 'modify' : 'add', entryUUID: key, body, previous });
  };
  return { copy, entries, said, changed, put };
}

const until = async (predicate: () => boolean, ms = 3000) => {
  const t = Date.now();
  while (!predicate()) {
    if (Date.now() - t > ms) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 2));
  }
};

const stored = async (url: string, store: LocalStore) => {
  const loaded = await loadLocal<Sub>(url, {}, store);
  if (loaded.kind !== 'restored') throw new Error(`the store is ${loaded.kind}`);
  return {
    entries: Object.fromEntries(loaded.entries),
    cookie: loaded.meta.cookie,
    writer: loaded.meta.writer,
    seq: loaded.meta.seq,
  };
};

describe('localCopy: load', () => {
  it('store: null keeps nothing: local off, the empty position, and writing is a no-op', async () => {
    const { copy, put } = setup(freshUrl(), null);
    expect(copy.local).toEqual({ kind: 'off', detail: 'store: null' });
    const loaded = await copy.load();
    expect(loaded).toEqual({ restored: undefined, position: { epoch: '', seq: 0 }, local: copy.local });
    copy.writeAlone();
    put('u1', { id: 'a' });
    copy.saveMeta();
    copy.stopWriting();
    await expect(copy.flushed()).resolves.toBeUndefined();
  });

  it('a store IndexedDB cannot read: persistence is off for the session, and says why', async () => {
    const failing: LocalStore = () => Promise.reject(new Error('QuotaExceededError'));
    const { copy } = setup(freshUrl(), failing);
    const loaded = await copy.load();
    expect(loaded.local.kind).toBe('off');
    expect(loaded.local.kind === 'off' && loaded.local.detail).toContain('QuotaExceededError');
    expect(loaded.restored).toBeUndefined();
  });

  it('an empty store, then what a collection working alone wrote: restored, with its cookie, position unknown (no seq)', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    const first = setup(url, store);
    expect(await first.copy.load()).toMatchObject({
      local: { kind: 'empty' },
      position: { epoch: '', seq: 0 },
    });
    first.copy.writeAlone();
    first.put('u1', { id: 'a' });
    first.put('u2', { id: 'b' });
    first.said.cookie = 'c2';
    first.copy.saveMeta();
    first.copy.stopWriting();
    await first.copy.flushed();
    const written = await stored(url, store);
    expect(written).toMatchObject({
      entries: { u1: { id: 'a' }, u2: { id: 'b' } },
      cookie: 'c2',
      seq: undefined,
    });

    const second = setup(url, store);
    const loaded = await second.copy.load();
    expect(loaded.local).toEqual({ kind: 'restored', entries: 2 });
    expect(loaded.position).toBeUndefined();
    expect(loaded.restored?.cookie).toBe('c2');
    expect(loaded.restored?.replaying).toBe(false);
    expect(Object.fromEntries(loaded.restored!.entries)).toEqual(written.entries);
  });

  it('a copy written by a leader says where it stands: its epoch and seq (M4)', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    const leader = setup(url, store);
    await leader.copy.load();
    leader.said.position = { epoch: 'E1', seq: 0 };
    leader.copy.writeAsLeader({ epoch: '', seq: 0 });
    leader.put('u1', { id: 'a' });
    leader.said.position = { epoch: 'E1', seq: 1 };
    leader.said.cookie = 'c1';
    leader.copy.saveMeta();
    leader.copy.stopWriting();
    await leader.copy.flushed();
    expect(await stored(url, store)).toMatchObject({ writer: 'E1', seq: 1, cookie: 'c1' });
    expect((await setup(url, store).copy.load()).position).toEqual({ epoch: 'E1', seq: 1 });
  });
});

describe('localCopy: writing', () => {
  it('another writer wrote since: this one writes nothing more, and local says stopped (P3)', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    const a = setup(url, store);
    const b = setup(url, store);
    await a.copy.load();
    await b.copy.load();
    a.copy.writeAlone();
    b.copy.writeAlone();
    b.put('u1', { id: 'from-b' });
    b.said.cookie = 'b1';
    b.copy.saveMeta();
    b.copy.stopWriting();
    await b.copy.flushed();
    a.put('u1', { id: 'from-a' });
    a.said.cookie = 'a1';
    a.copy.saveMeta();
    // Its batch goes out after batchDelayMs, finds b's meta, and writes nothing.
    await until(() => a.changed.length > 0);
    expect(a.changed).toEqual([
      { kind: 'stopped', reason: 'other-tab', detail: expect.any(String) as string },
    ]);
    expect(a.copy.local.kind).toBe('stopped');
    a.put('u2', { id: 'after' }); // not written: a stopped writing
    a.copy.stopWriting();
    await a.copy.flushed();
    expect(await stored(url, store)).toMatchObject({ entries: { u1: { id: 'from-b' } }, cookie: 'b1' });
  });

  it('an elected tab whose base is not what is stored writes its whole state in its first transaction (M8)', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    // The old leader stored up to seq 5, with an entry the new one (at seq 3) does not have.
    await writeBatch(
      {
        puts: new Map([['u9', { id: 'ghost' }]]),
        deletes: new Set(),
        meta: { url, cookie: 'c5', replaying: false, buster: undefined, writer: 'E1', seq: 5 },
      },
      { expectedWriter: undefined },
      store,
    );
    const next = setup(url, store);
    await next.copy.load();
    next.entries.set('u1', { id: 'a' });
    next.said.position = { epoch: 'E2', seq: 0 };
    next.said.cookie = 'c3';
    next.copy.writeAsLeader({ epoch: 'E1', seq: 3 });
    next.put('u2', { id: 'b' });
    next.said.position = { epoch: 'E2', seq: 1 };
    next.said.cookie = 'c4';
    next.copy.saveMeta();
    next.copy.stopWriting();
    await next.copy.flushed();
    expect(next.changed).toEqual([]);
    expect(await stored(url, store)).toEqual({
      entries: { u1: { id: 'a' }, u2: { id: 'b' } },
      cookie: 'c4',
      writer: 'E2',
      seq: 1,
    });
  });

  it('abandon() drops what is pending (a frozen leader, M9); discard() says so in local', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    const { copy, put, said, changed } = setup(url, store, { batchDelayMs: 60_000 });
    await copy.load();
    copy.writeAlone();
    put('u1', { id: 'a' });
    said.cookie = 'c1';
    copy.saveMeta();
    copy.abandon();
    copy.stopWriting(); // nothing left to flush
    await copy.flushed();
    expect((await loadLocal<Sub>(url, {}, store)).kind).toBe('empty');
    copy.discard('rejected-cookie', '400 to the cookie');
    expect(changed).toEqual([{ kind: 'discarded', reason: 'rejected-cookie', detail: '400 to the cookie' }]);
    expect(copy.local).toEqual(changed[0]);
  });
});
