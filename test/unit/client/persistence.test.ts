import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { raw } from '../../fixtures/idb.js';
import { createStreamStore, type LocalStore } from '../../../packages/client/src/index.js';
import { FORMAT_VERSION } from '../../../packages/client/src/constants.js';
import {
  MAX_SEGMENTS,
  META_KEY,
  RECORD_SIZE,
  loadLocal,
  needsCompaction,
  writeBatch,
  type Batch,
  type StateMeta,
  type StoredMeta,
} from '../../../packages/client/src/persistence.js';

/** Puts raw records into the store, bypassing the client (to plant bad data). */
const setMany = (rows: [string, unknown][], store: LocalStore) =>
  store('readwrite', (os) => {
    const s = raw(os);
    for (const [key, value] of rows) s.put(value, key);
    return new Promise<void>((resolve, reject) => {
      s.transaction.oncomplete = () => resolve();
      s.transaction.onerror = () => reject(s.transaction.error);
    });
  });

/** Every record of the store, raw. */
const records = (store: LocalStore) =>
  store(
    'readonly',
    (s) =>
      new Promise<Map<string, unknown>>((resolve) => {
        const keys = raw(s).getAllKeys();
        const values = raw(s).getAll();
        values.onsuccess = () =>
          resolve(new Map(keys.result.map((k: unknown, i: number) => [String(k), values.result[i]])));
      }),
  );

let n = 0;
const freshUrl = () => `http://s.test/realm/r${++n}/subscriber?subscribe=1`;

const meta = (over: Partial<StateMeta> = {}): StateMeta => ({
  url: 'http://s.test/x',
  cookie: 'c1',
  replaying: false,
  buster: undefined,
  writer: 'tab-a',
  ...over,
});

const batch = <B>(puts: [string, B][], deletes: string[], m: StateMeta): Batch<B> => ({
  puts: new Map(puts),
  deletes: new Set(deletes),
  meta: m,
});

/** A store that counts its transactions. */
function counting(store: LocalStore) {
  const counter = { readwrite: 0, readonly: 0 };
  const wrapped: LocalStore = (mode, callback) => {
    counter[mode === 'readwrite' ? 'readwrite' : 'readonly']++;
    return store(mode, callback);
  };
  return { store: wrapped, counter };
}

const first = { expectedWriter: undefined };
const asA = { expectedWriter: 'tab-a' };

describe('writeBatch + loadLocal', () => {
  it('writes puts, deletes and the meta in ONE readwrite transaction, and loads them back', async () => {
    const url = freshUrl();
    const { store, counter } = counting(createStreamStore(url));
    await writeBatch(
      batch(
        [
          ['u1', { id: 'a' }],
          ['u2', { id: 'b' }],
        ],
        [],
        meta({ cookie: 'c1' }),
      ),
      first,
      store,
    );
    expect(counter.readwrite).toBe(1);
    await writeBatch(batch([['u3', { id: 'c' }]], ['u1'], meta({ cookie: 'c2' })), asA, store);
    expect(counter.readwrite).toBe(2);
    const loaded = await loadLocal<{ id: string }>(url, {}, store);
    expect(loaded.kind).toBe('restored');
    if (loaded.kind !== 'restored') return;
    expect(loaded.entries).toEqual(
      new Map([
        ['u2', { id: 'b' }],
        ['u3', { id: 'c' }],
      ]),
    );
    expect(loaded.meta).toMatchObject({
      cookie: 'c2',
      format: FORMAT_VERSION,
      firstSegment: 0,
      nextSegment: 2,
    });
  });

  it('stores up to RECORD_SIZE entries per record, not one record per entry', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    const puts = Array.from({ length: 2500 }, (_, i): [string, { i: number }] => [`u${i}`, { i }]);
    await writeBatch(batch(puts, [], meta()), first, store);
    expect([...(await records(store)).keys()].sort()).toEqual(['meta', 'seg:0', 'seg:1', 'seg:2']);
    expect(RECORD_SIZE).toBe(1000);
    const loaded = await loadLocal<{ i: number }>(url, {}, store);
    expect(loaded.kind === 'restored' && loaded.entries.size).toBe(2500);
  });

  it('compacts: the whole state as base records, the segments gone, in one transaction', async () => {
    const url = freshUrl();
    const { store, counter } = counting(createStreamStore(url));
    await writeBatch(
      batch(
        [
          ['u1', 1],
          ['u2', 2],
        ],
        [],
        meta({ cookie: 'c1' }),
      ),
      first,
      store,
    );
    await writeBatch(batch([['u3', 3]], ['u1'], meta({ cookie: 'c2' })), asA, store);
    const state: [string, number][] = [
      ['u2', 2],
      ['u3', 3],
      ['u4', 4],
    ];
    const written = await writeBatch(
      batch([['u4', 4]], [], meta({ cookie: 'c3' })),
      { ...asA, compactTo: state },
      store,
    );
    expect(counter.readwrite).toBe(3);
    expect(written).toMatchObject({
      kind: 'written',
      meta: { baseRecords: 1, firstSegment: 0, nextSegment: 0 },
    });
    expect([...(await records(store)).keys()].sort()).toEqual(['base:0', 'meta']);
    const loaded = await loadLocal<number>(url, {}, store);
    expect(loaded.kind === 'restored' && [...loaded.entries]).toEqual(state);
    expect(loaded.kind === 'restored' && loaded.meta.cookie).toBe('c3');
  });

  it('asks for compaction when segments hold as much as the state, or are too many', () => {
    const layout = (segments: number, items: number): StoredMeta => ({
      ...meta(),
      format: FORMAT_VERSION,
      savedAt: 0,
      baseRecords: 1,
      firstSegment: 10,
      nextSegment: 10 + segments,
      segmentItems: items,
    });
    expect(needsCompaction(undefined, 10)).toBe(false);
    expect(needsCompaction(layout(3, 500), 100)).toBe(false);
    expect(needsCompaction(layout(3, 1100), 100)).toBe(true);
    expect(needsCompaction(layout(MAX_SEGMENTS, 300), 100_000)).toBe(true);
  });

  it('is atomic: when one body cannot be stored, neither the entries nor the cookie are written (P1)', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    await writeBatch(batch([['u1', { v: 1 }]], [], meta({ cookie: 'c1' })), first, store);
    const poisoned = batch<unknown>(
      [
        ['u1', { v: 2 }],
        ['u2', { v: () => 'functions cannot be cloned' }],
      ],
      [],
      meta({ cookie: 'c2' }),
    );
    await expect(writeBatch(poisoned, asA, store)).rejects.toThrow();
    const loaded = await loadLocal<{ v: number }>(url, {}, store);
    expect(loaded.kind === 'restored' && loaded.meta.cookie).toBe('c1');
    expect(loaded.kind === 'restored' && [...loaded.entries]).toEqual([['u1', { v: 1 }]]);
  });

  it('yields, writing nothing, when another writer wrote since (P3: one tab writes)', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    const a1 = await writeBatch(
      batch([['u1', 1]], [], meta({ writer: 'tab-a', cookie: 'a1' })),
      first,
      store,
    );
    expect(a1.kind).toBe('written');
    // tab B loaded what A wrote, so it expects A; then it writes and becomes the writer
    const b1 = await writeBatch(batch([['u2', 2]], [], meta({ writer: 'tab-b', cookie: 'b1' })), asA, store);
    expect(b1.kind).toBe('written');
    // tab A still expects itself: it yields
    const a2 = await writeBatch(batch([['u3', 3]], [], meta({ writer: 'tab-a', cookie: 'a2' })), asA, store);
    expect(a2).toEqual({ kind: 'yielded' });
    const loaded = await loadLocal<number>(url, {}, store);
    expect(loaded.kind === 'restored' && [...loaded.entries.keys()]).toEqual(['u1', 'u2']);
    expect(loaded.kind === 'restored' && loaded.meta.cookie).toBe('b1');
  });

  it('a first write into a store someone else already filled yields too', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    await writeBatch(batch([['u1', 1]], [], meta({ writer: 'tab-a' })), first, store);
    expect(await writeBatch(batch([['u2', 2]], [], meta({ writer: 'tab-c' })), first, store)).toEqual({
      kind: 'yielded',
    });
  });
});

describe('loadLocal discards what it cannot trust (P4), and clears the store', () => {
  const expectCleared = async (store: LocalStore) => expect((await records(store)).size).toBe(0);

  /** A store holding one good batch, to be damaged by the test. */
  async function good(url: string, over: Partial<StateMeta> = {}) {
    const store = createStreamStore(url);
    await writeBatch(
      batch(
        [
          ['u1', { id: 'a' }],
          ['u2', { id: 'b' }],
        ],
        [],
        meta(over),
      ),
      first,
      store,
    );
    const stored = (await records(store)).get(META_KEY) as StoredMeta;
    return { store, stored };
  }

  it('empty store: empty', async () => {
    const url = freshUrl();
    expect(await loadLocal(url, {}, createStreamStore(url))).toEqual({ kind: 'empty' });
  });

  it('records without a meta record: corrupt', async () => {
    const url = freshUrl();
    const store = createStreamStore(url);
    await setMany([['seg:0', { puts: [['u1', { id: 'a' }]], deletes: [] }]], store);
    const loaded = await loadLocal(url, {}, store);
    expect(loaded).toMatchObject({ kind: 'discarded', reason: 'corrupt' });
    expect(loaded.kind === 'discarded' && loaded.detail).toMatch(/without a meta record/);
    await expectCleared(store);
  });

  it('a meta record of the wrong shape: corrupt', async () => {
    const url = freshUrl();
    const { store, stored } = await good(url);
    await setMany([[META_KEY, { ...stored, cookie: 42 }]], store);
    expect(await loadLocal(url, {}, store)).toMatchObject({ kind: 'discarded', reason: 'corrupt' });
    await expectCleared(store);
  });

  it('a segment the meta names but that is missing: corrupt', async () => {
    const url = freshUrl();
    const { store, stored } = await good(url);
    await setMany([[META_KEY, { ...stored, nextSegment: 2 }]], store);
    const loaded = await loadLocal(url, {}, store);
    expect(loaded).toMatchObject({ kind: 'discarded', reason: 'corrupt' });
    await expectCleared(store);
  });

  it('a stray record the meta does not name: corrupt', async () => {
    const url = freshUrl();
    const { store } = await good(url);
    await setMany([['seg:7', { puts: [], deletes: [] }]], store);
    expect(await loadLocal(url, {}, store)).toMatchObject({ kind: 'discarded', reason: 'corrupt' });
  });

  it('a segment holding something that is not an entry: corrupt', async () => {
    for (const bad of [[['u1', null]], [[7, { id: 'x' }]], [['u1']], 'not a list']) {
      const url = freshUrl();
      const { store } = await good(url);
      await setMany([['seg:0', { puts: bad, deletes: [] }]], store);
      expect(await loadLocal(url, {}, store), JSON.stringify(bad)).toMatchObject({
        kind: 'discarded',
        reason: 'corrupt',
      });
    }
  });

  it('another format version: old-format', async () => {
    const url = freshUrl();
    const { store, stored } = await good(url);
    await setMany([[META_KEY, { ...stored, format: FORMAT_VERSION - 1 }]], store);
    expect(await loadLocal(url, {}, store)).toMatchObject({ kind: 'discarded', reason: 'old-format' });
    await expectCleared(store);
  });

  it('another buster: buster; the same buster: restored', async () => {
    const url = freshUrl();
    const { store } = await good(url, { buster: 'v1' });
    expect(await loadLocal(url, { buster: 'v1' }, store)).toMatchObject({ kind: 'restored' });
    expect(await loadLocal(url, { buster: 'v2' }, store)).toMatchObject({
      kind: 'discarded',
      reason: 'buster',
    });
    await expectCleared(store);
  });

  it('one database per stream URL', async () => {
    const a = freshUrl();
    const b = freshUrl();
    await good(a);
    expect(await loadLocal(b, {}, createStreamStore(b))).toEqual({ kind: 'empty' });
    expect(await loadLocal(a, {}, createStreamStore(a))).toMatchObject({ kind: 'restored' });
    const { indexedDB } = globalThis as unknown as {
      indexedDB: { databases(): Promise<{ name?: string }[]> };
    };
    const dbs = await indexedDB.databases();
    expect(dbs.map((d) => d.name)).toEqual(expect.arrayContaining([`syncrepl-rx ${a}`, `syncrepl-rx ${b}`]));
  });
});
