/**
 * The replica's state machine alone (packages/core/src/replica/machine.ts): each transition of its
 * diagram, with what it decides (changes, batches, warnings), and bad orders. No Observable and no
 * slapd: the machine only reads a store (here a MemoryStore seen through its read methods, so it
 * cannot write), and this test plays the wrapper, committing each step's batches in order. The
 * same rules are proven end to end against real slapd in test/integration/replica*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Attributes, SyncMessage } from '../../../../packages/core/src/sync/messages.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { apply, flush, start } from '../../../../packages/core/src/replica/machine.js';
import type { ReplicaReader, ReplicaState, Step } from '../../../../packages/core/src/replica/machine.js';
import { MemoryStore } from '../../../../packages/core/src/stores/memory.js';
import type { ReplicaBatch } from '../../../../packages/core/src/stores/store.js';

const ANN = 'aaaaaaaa-0000-4000-8000-000000000001';
const BOB = 'bbbbbbbb-0000-4000-8000-000000000002';
const CAT = 'cccccccc-0000-4000-8000-000000000003';

const person = (uid: string, extra: Attributes = {}, ou = 'people'): Entry => ({
  dn: `uid=${uid},ou=${ou},dc=example`,
  attributes: { uid: [uid], cn: [uid.toUpperCase()], ...extra },
});
const ann = person('ann');
const bob = person('bob');
const cat = person('cat');

const entryMessage = (
  type: 'add' | 'modify',
  entryUUID: string,
  entry: Entry,
  cookie?: string,
): SyncMessage => ({
  type,
  entryUUID,
  dn: entry.dn,
  attributes: entry.attributes,
  ...(cookie !== undefined && { cookie }),
});
const add = (entryUUID: string, entry: Entry, cookie?: string): SyncMessage =>
  entryMessage('add', entryUUID, entry, cookie);
const modify = (entryUUID: string, entry: Entry, cookie?: string): SyncMessage =>
  entryMessage('modify', entryUUID, entry, cookie);
const present = (entryUUID: string): SyncMessage => ({ type: 'present', entryUUID, dn: '', attributes: {} });
const del = (entryUUID: string, cookie?: string): SyncMessage => ({
  type: 'delete',
  entryUUID,
  dn: '',
  ...(cookie !== undefined && { cookie }),
});
const idSet = (refreshDeletes: boolean, entryUUIDs: string[], cookie?: string): SyncMessage => ({
  type: 'syncIdSet',
  refreshDeletes,
  entryUUIDs,
  ...(cookie !== undefined && { cookie }),
});

/** The store's read methods only: the machine gets no way to write. */
function readOnly(store: MemoryStore): ReplicaReader {
  return {
    get cookie() {
      return store.cookie;
    },
    get size() {
      return store.size;
    },
    get: (entryUUID) => store.get(entryUUID),
    has: (entryUUID) => store.has(entryUUID),
    entryUUIDs: () => store.entryUUIDs(),
    sameRecord: (entryUUID, record) => store.sameRecord(entryUUID, record),
  };
}

/** A machine over `store`; `step` applies a message and commits its batches, as replicate() does. */
function machine(store = new MemoryStore(), maxBatch?: number) {
  const { state, changes } = start(readOnly(store), maxBatch);
  const step = (message: SyncMessage): Step => {
    const result = apply(state, message);
    for (const batch of result.batches) store.commit(batch);
    return result;
  };
  return { state, store, opening: changes, step };
}

const summary = (changes: readonly Change[]): string[] =>
  changes.map((c) => {
    switch (c.type) {
      case 'ready':
        return c.cookie === undefined ? 'ready' : `ready ${c.cookie}`;
      case 'reset':
        return `reset ${c.reason}`;
      default:
        return `${c.type} ${c.entryUUID.slice(0, 3)}`;
    }
  });

/** A batch as `cookie: uuid+ uuid-` (+ entry, - gone), to assert what the store is asked to do. */
const batchSummary = (batches: readonly ReplicaBatch[]): string[] =>
  batches.map(
    (b) =>
      `${b.cookie ?? '-'}:` +
      [...b.mutations].map(([uuid, entry]) => ` ${uuid.slice(0, 3)}${entry === null ? '-' : '+'}`).join(''),
  );

const stageOf = (state: ReplicaState): string => state.stage.kind;

/** A store with ann, bob and cat at cookie c1. */
const resumed = (): MemoryStore =>
  new MemoryStore({
    entries: [
      [ANN, ann],
      [BOB, bob],
      [CAT, cat],
    ],
    cookie: 'c1',
  });

describe('machine: start', () => {
  it('starts in a refresh from the store cookie, and says nothing for a store that kept its replica', () => {
    const { state, opening } = machine(resumed());
    expect(opening).toEqual([]);
    expect(state.stage).toMatchObject({ kind: 'refresh', startCookie: 'c1', tracked: true });
    expect(state.cookie).toBe('c1');
  });

  it('does not track presence when the replica is empty (a first load walks nothing at its end)', () => {
    expect(machine().state.stage).toMatchObject({ kind: 'refresh', startCookie: undefined, tracked: false });
  });

  it('opens with a reset (storeDiscarded) when the store discarded its replica', () => {
    const store = new MemoryStore();
    const reader: ReplicaReader = {
      ...readOnly(store),
      cookie: undefined,
      size: 0,
      discarded: 'another view',
    };
    expect(start(reader).changes).toEqual([{ type: 'reset', reason: 'storeDiscarded' }]);
  });
});

describe('machine: refresh → persist', () => {
  it('stages a first load and commits it once, with the final cookie, before ready', () => {
    const m = machine();
    expect(summary(m.step(add(ANN, ann)).changes)).toEqual(['add aaa']);
    const second = m.step(add(BOB, bob));
    expect(second.batches).toEqual([]); // held back: the refresh is not complete
    const end = m.step({ type: 'refreshDelete', refreshDone: true, cookie: 'c1' });
    expect(summary(end.changes)).toEqual(['ready c1']);
    expect(batchSummary(end.batches)).toEqual(['c1: aaa+ bbb+']);
    expect(stageOf(m.state)).toBe('persist');
    expect(m.store.cookie).toBe('c1');
  });

  it('cuts a batch every maxBatch staged mutations, under the cookie the refresh started from', () => {
    const m = machine(resumed(), 2);
    expect(m.step(add(ANN, person('ann', { mail: ['a@x'] }))).batches).toEqual([]);
    expect(batchSummary(m.step(add(BOB, person('bob', { mail: ['b@x'] }))).batches)).toEqual([
      'c1: aaa+ bbb+',
    ]);
    expect(m.step(add(CAT, person('cat', { mail: ['c@x'] }))).batches).toEqual([]);
    const end = m.step({ type: 'refreshDelete', refreshDone: true, cookie: 'c2' });
    expect(batchSummary(end.batches)).toEqual(['c2: ccc+']);
  });

  it('ends a present phase with a sweep committed under its own cookie, then completes', () => {
    const m = machine(resumed());
    m.step(present(ANN));
    m.step(add(BOB, person('bob', { mail: ['b@x'] })));
    const phaseEnd = m.step({ type: 'refreshPresent', refreshDone: false, cookie: 'c2' });
    expect(summary(phaseEnd.changes)).toEqual(['delete ccc']);
    expect(batchSummary(phaseEnd.batches)).toEqual(['c2: bbb+ ccc-']);
    expect(stageOf(m.state)).toBe('refresh'); // a delete phase may follow
    const end = m.step({ type: 'refreshDelete', refreshDone: true, cookie: 'c3' });
    expect(summary(end.changes)).toEqual(['ready c3']);
    expect(batchSummary(end.batches)).toEqual(['c3:']);
  });

  it('does not sweep an unchanged resume (nothing presented, no newer cookie)', () => {
    const m = machine(resumed());
    const end = m.step({ type: 'refreshPresent', refreshDone: true });
    expect(summary(end.changes)).toEqual(['ready c1']);
    expect(end.batches).toEqual([]);
    expect(m.store.size).toBe(3);
  });

  it('sweeps what a reload from no cookie did not bring back, even when it ends as a delete phase', () => {
    const m = machine(
      new MemoryStore({
        entries: [
          [ANN, ann],
          [BOB, bob],
        ],
      }),
    );
    m.step(add(ANN, ann));
    const end = m.step({ type: 'done', refreshDeletes: true, cookie: 'c1' });
    expect(summary(end.changes)).toEqual(['delete bbb', 'ready c1']);
    expect(batchSummary(end.batches)).toEqual(['c1: bbb-']);
  });

  it('treats a 389-ds resume that ends with done(refreshDeletes=FALSE) as the delete phase it is', () => {
    const m = machine(
      new MemoryStore({
        entries: [
          [ANN, ann],
          [BOB, bob],
        ],
        cookie: 'host:389#cn=dm:dc=x:(o=*)#12',
      }),
    );
    const end = m.step({ type: 'done', refreshDeletes: false, cookie: 'host:389#cn=dm:dc=x:(o=*)#13' });
    expect(summary(end.changes)).toEqual(['ready host:389#cn=dm:dc=x:(o=*)#13']);
    expect(m.store.size).toBe(2);
  });
});

describe('machine: persist', () => {
  const live = () => {
    const m = machine(resumed());
    m.step({ type: 'refreshDelete', refreshDone: true });
    expect(stageOf(m.state)).toBe('persist');
    return m;
  };

  it('classifies by the replica and commits every step with its cookie', () => {
    const m = live();
    const moved = person('ann', {}, 'staff');
    expect(summary(m.step(modify(ANN, moved, 'c2')).changes)).toEqual(['rename aaa']);
    const mailed = { ...moved, attributes: { ...moved.attributes, mail: ['a@x'] } };
    const step = m.step(modify(ANN, mailed, 'c3'));
    expect(step.changes).toEqual([
      {
        type: 'modify',
        entryUUID: ANN,
        dn: moved.dn,
        old: moved,
        new: mailed,
        diff: { mail: { added: ['a@x'], removed: [], appeared: true } },
      },
    ]);
    expect(batchSummary(step.batches)).toEqual(['c3: aaa+']);
    // The same entry again: no change, but the cookie moved and is committed alone.
    const same = m.step(add(ANN, mailed, 'c4'));
    expect(same.changes).toEqual([]);
    expect(batchSummary(same.batches)).toEqual(['c4:']);
    expect(batchSummary(m.step({ type: 'cookie', cookie: 'c5' }).batches)).toEqual(['c5:']);
    // Nothing new at all: no batch.
    expect(m.step({ type: 'cookie', cookie: 'c5' }).batches).toEqual([]);
  });

  it('starts the refresh of a reconnect at an add without a cookie, and holds cookies back until it ends', () => {
    const m = live();
    m.step(add(ANN, ann));
    expect(stageOf(m.state)).toBe('refresh');
    expect(m.state.stage).toMatchObject({ startCookie: 'c1' });
    expect(m.step({ type: 'cookie', cookie: 'c2' }).batches).toEqual([]);
    const end = m.step({ type: 'refreshDelete', refreshDone: true });
    expect(summary(end.changes)).toEqual(['ready c2']);
    expect(batchSummary(end.batches)).toEqual(['c2:']);
  });

  it.each([
    ['present', present(ANN)],
    ['delete without a cookie', del(ANN)],
    ['syncIdSet refreshDeletes=FALSE', idSet(false, [ANN])],
    ['refreshDelete', { type: 'refreshDelete', refreshDone: false } as SyncMessage],
  ])('a %s starts a refresh', (_, message) => {
    const m = live();
    m.step(message);
    expect(stageOf(m.state)).toBe('refresh');
  });

  it.each([
    ['modify', modify(ANN, ann, 'c2')],
    ['delete with a cookie', del(ANN, 'c2')],
    ['syncIdSet refreshDeletes=TRUE', idSet(true, [ANN], 'c2')],
    ['cookie', { type: 'cookie', cookie: 'c2' } as SyncMessage],
  ])('a %s stays in the persist stage', (_, message) => {
    const m = live();
    m.step(message);
    expect(stageOf(m.state)).toBe('persist');
  });
});

describe('machine: reset and bad orders', () => {
  it('drops the cookie at a reset, and the reload sweeps what it did not bring back', () => {
    const m = machine(resumed());
    m.step({ type: 'refreshDelete', refreshDone: true });
    const reset = m.step({ type: 'reset', reason: 'refreshRequired' });
    expect(summary(reset.changes)).toEqual(['reset refreshRequired']);
    expect(m.state.stage).toMatchObject({ kind: 'refresh', startCookie: undefined, tracked: true });
    expect(m.state.cookie).toBeUndefined();
    // A message after the reset belongs to the reload: an unchanged entry is nothing, and the
    // batches carry no cookie until the reload completes.
    expect(m.step(add(ANN, ann)).changes).toEqual([]);
    const end = m.step({ type: 'refreshDelete', refreshDone: true });
    expect(summary(end.changes)).toEqual(['delete bbb', 'delete ccc', 'ready']);
    expect(batchSummary(end.batches)).toEqual(['-: bbb- ccc-']);
    expect(m.store.cookie).toBeUndefined();
  });

  it('resets in the middle of a refresh: what was staged stays, under no cookie', () => {
    const m = machine(resumed());
    m.step(add(ANN, person('ann', { mail: ['a@x'] })));
    m.step({ type: 'reset', reason: 'refreshRequired' });
    expect(flush(m.state)).toMatchObject({ cookie: undefined });
  });

  it('warns about a present phase that presents entries the replica lacks, and changes nothing for them', () => {
    const m = machine(resumed());
    m.step(present(ANN));
    m.step(present(BOB));
    m.step(present(CAT));
    expect(m.step(present('eeeeeeee-0000-4000-8000-000000000005')).changes).toEqual([]);
    const end = m.step({ type: 'refreshPresent', refreshDone: true, cookie: 'c2' });
    expect(summary(end.changes)).toEqual(['ready c2']);
    expect(end.warnings).toEqual([expect.stringContaining('presented 1 entries as unchanged')]);
  });

  it('does not warn about entries a syncIdSet lists before sending them', () => {
    const m = machine(resumed());
    const dan = 'dddddddd-0000-4000-8000-000000000004';
    m.step(idSet(false, [ANN, BOB, CAT, dan]));
    expect(summary(m.step(add(dan, person('dan'))).changes)).toEqual(['add ddd']);
    const end = m.step({ type: 'refreshPresent', refreshDone: true, cookie: 'c2' });
    expect(end.warnings).toEqual([]);
    expect(summary(end.changes)).toEqual(['ready c2']);
  });

  it('ignores the delete of an unknown entryUUID (only its cookie is committed)', () => {
    const m = machine(resumed());
    m.step({ type: 'refreshDelete', refreshDone: true });
    const step = m.step(del('ffffffff-0000-4000-8000-000000000006', 'c2'));
    expect(step.changes).toEqual([]);
    expect(batchSummary(step.batches)).toEqual(['c2:']);
  });

  it('deletes exactly what a syncIdSet refreshDeletes=TRUE lists: nothing for an empty one', () => {
    const m = machine(resumed());
    expect(m.step(idSet(true, [])).changes).toEqual([]);
    expect(summary(m.step(idSet(true, [BOB])).changes)).toEqual(['delete bbb']);
  });

  it('reads its own batches within a step: a UUID listed twice across a batch cut is deleted once', () => {
    const m = machine(resumed(), 1);
    const step = m.step(idSet(true, [ANN, ANN, BOB]));
    expect(summary(step.changes)).toEqual(['delete aaa', 'delete bbb']);
    expect(batchSummary(step.batches)).toEqual(['c1: aaa-', 'c1: bbb-']);
  });
});

describe('machine: flush', () => {
  it('hands over what is staged under the last safe cookie, once', () => {
    const m = machine(resumed());
    m.step(add(ANN, person('ann', { mail: ['a@x'] })));
    m.step({ type: 'cookie', cookie: 'c2' }); // mid-refresh: not safe yet
    const batch = flush(m.state);
    expect(batch === undefined ? [] : batchSummary([batch])).toEqual(['c1: aaa+']);
    if (batch !== undefined) m.store.commit(batch);
    expect(flush(m.state)).toBeUndefined();
  });
});
