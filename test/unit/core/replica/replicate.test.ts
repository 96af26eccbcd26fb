import { NEVER, Observable, Subject, from, of, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import type { Attributes, SyncMessage } from '../../../../packages/core/src/sync/messages.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { replicate, replicateFrom } from '../../../../packages/core/src/replica/replicate.js';
import { cookieMoved } from '../../../../packages/core/src/replica/machine.js';
import { MemoryStore } from '../../../../packages/core/src/stores/memory.js';
import type { ReplicaBatch, ReplicaStore } from '../../../../packages/core/src/stores/store.js';
import { withCommit } from '../../../fixtures/store-commit.js';

// --- fixtures -------------------------------------------------------------------------------

const ANN = 'aaaaaaaa-0000-4000-8000-000000000001';
const BOB = 'bbbbbbbb-0000-4000-8000-000000000002';
const CAT = 'cccccccc-0000-4000-8000-000000000003';
const DAN = 'dddddddd-0000-4000-8000-000000000004';

const person = (uid: string, extra: Attributes = {}): Entry => ({
  dn: `uid=${uid},ou=people,dc=example`,
  attributes: { objectClass: ['inetOrgPerson'], uid: [uid], cn: [uid.toUpperCase()], ...extra },
});

const add = (entryUUID: string, entry: Entry, cookie?: string): SyncMessage => ({
  type: 'add',
  entryUUID,
  dn: entry.dn,
  attributes: entry.attributes,
  ...(cookie !== undefined && { cookie }),
});
const modify = (entryUUID: string, entry: Entry, cookie?: string): SyncMessage => ({
  type: 'modify',
  entryUUID,
  dn: entry.dn,
  attributes: entry.attributes,
  ...(cookie !== undefined && { cookie }),
});
const present = (entryUUID: string, dn: string): SyncMessage => ({
  type: 'present',
  entryUUID,
  dn,
  attributes: {},
});
const del = (entryUUID: string, cookie?: string): SyncMessage => ({
  type: 'delete',
  entryUUID,
  dn: '',
  ...(cookie !== undefined && { cookie }),
});
const refreshPresent = (refreshDone: boolean, cookie?: string): SyncMessage => ({
  type: 'refreshPresent',
  refreshDone,
  ...(cookie !== undefined && { cookie }),
});
const refreshDelete = (refreshDone: boolean, cookie?: string): SyncMessage => ({
  type: 'refreshDelete',
  refreshDone,
  ...(cookie !== undefined && { cookie }),
});
const done = (refreshDeletes: boolean, cookie?: string): SyncMessage => ({
  type: 'done',
  refreshDeletes,
  ...(cookie !== undefined && { cookie }),
});
const idSet = (refreshDeletes: boolean, entryUUIDs: string[], cookie?: string): SyncMessage => ({
  type: 'syncIdSet',
  refreshDeletes,
  entryUUIDs,
  ...(cookie !== undefined && { cookie }),
});

/** Runs `messages` through replicate() synchronously and returns what it emitted. */
function run(messages: SyncMessage[], store: ReplicaStore = new MemoryStore()): Change[] {
  const out: Change[] = [];
  let failure: unknown;
  from(messages)
    .pipe(replicate({ store }))
    .subscribe({ next: (c) => out.push(c), error: (e: unknown) => (failure = e) });
  if (failure !== undefined) throw failure;
  return out;
}

/** Changes as `type uuid` strings, the easiest way to assert order. */
const summary = (changes: Change[]): string[] =>
  changes.map((c) => {
    switch (c.type) {
      case 'ready':
        return c.cookie === undefined ? 'ready' : `ready ${c.cookie}`;
      case 'reset':
        return 'reset';
      default:
        return `${c.type} ${c.entryUUID.slice(0, 3)}`;
    }
  });

/** A store that holds ann, bob, cat at cookie c1. */
function resumedStore(): MemoryStore {
  return new MemoryStore({
    entries: [
      [ANN, person('ann')],
      [BOB, person('bob')],
      [CAT, person('cat')],
    ],
    cookie: 'c1',
  });
}

// --- classification -------------------------------------------------------------------------

describe('replicate: initial content', () => {
  it('emits add per entry and ready after refreshDelete refreshDone (slapd, refreshAndPersist)', () => {
    const store = new MemoryStore();
    const changes = run([add(ANN, person('ann')), add(BOB, person('bob')), refreshDelete(true, 'c1')], store);
    expect(summary(changes)).toEqual(['add aaa', 'add bbb', 'ready c1']);
    expect(changes[0]).toEqual({ type: 'add', entryUUID: ANN, dn: person('ann').dn, entry: person('ann') });
    expect(store.size).toBe(2);
    expect(store.cookie).toBe('c1');
    expect(store.get(BOB)).toEqual(person('bob'));
  });

  it('emits ready on done in refreshOnly, whichever phase it closes', () => {
    expect(summary(run([add(ANN, person('ann')), done(false, 'c1')]))).toEqual(['add aaa', 'ready c1']);
    expect(summary(run([add(ANN, person('ann')), done(true, 'c1')]))).toEqual(['add aaa', 'ready c1']);
  });

  it('emits ready without a cookie when the server sent none', () => {
    expect(run([refreshDelete(true)])).toEqual([{ type: 'ready' }]);
  });

  it('a load into an empty replica tracks no presence, yet a later present phase still sweeps', () => {
    // Phase one fills the empty replica (nothing to sweep); phase two presents only ann.
    const changes = run([
      add(ANN, person('ann')),
      add(BOB, person('bob')),
      refreshPresent(false),
      present(ANN, person('ann').dn),
      refreshPresent(true, 'c1'),
    ]);
    expect(summary(changes)).toEqual(['add aaa', 'add bbb', 'delete bbb', 'ready c1']);
  });

  it('a reset on an empty replica reloads and ends without deleting what it loaded', () => {
    const store = new MemoryStore();
    const changes = run(
      [{ type: 'reset', reason: 'refreshRequired' }, add(ANN, person('ann')), done(true, 'c2')],
      store,
    );
    expect(summary(changes)).toEqual(['reset', 'add aaa', 'ready c2']);
    expect(store.size).toBe(1);
  });
});

describe('replicate: persist-stage classification', () => {
  const loaded = (): SyncMessage[] => [
    add(ANN, person('ann')),
    add(BOB, person('bob')),
    refreshDelete(true, 'c1'),
  ];

  it('turns a modify into modify with old, new and diff', () => {
    const changed = person('ann', { mail: ['ann@example'] });
    const changes = run([...loaded(), modify(ANN, changed, 'c2')]);
    expect(changes.at(-1)).toEqual({
      type: 'modify',
      entryUUID: ANN,
      dn: changed.dn,
      old: person('ann'),
      new: changed,
      diff: { mail: { added: ['ann@example'], removed: [], appeared: true } },
    });
  });

  it('turns a DN change into rename, with the attribute diff', () => {
    const moved: Entry = {
      dn: 'uid=ann,ou=staff,dc=example',
      attributes: { ...person('ann').attributes, ou: ['staff'] },
    };
    const changes = run([...loaded(), modify(ANN, moved, 'c2')]);
    expect(changes.at(-1)).toEqual({
      type: 'rename',
      entryUUID: ANN,
      oldDn: 'uid=ann,ou=people,dc=example',
      newDn: 'uid=ann,ou=staff,dc=example',
      old: person('ann'),
      new: moved,
      diff: { ou: { added: ['staff'], removed: [], appeared: true } },
    });
  });

  it('classifies by the replica: add of a known entry is a modify, modify of an unknown one an add', () => {
    const changed = person('bob', { sn: ['Builder'] });
    expect(summary(run([...loaded(), add(BOB, changed, 'c2'), modify(CAT, person('cat'), 'c3')]))).toEqual([
      'add aaa',
      'add bbb',
      'ready c1',
      'modify bbb',
      'add ccc',
    ]);
  });

  it('emits nothing for an add or present whose content equals the replica', () => {
    const same = person('ann');
    const reordered: Entry = {
      dn: same.dn,
      attributes: { cn: ['ANN'], uid: ['ann'], objectclass: ['inetOrgPerson'] },
    };
    expect(summary(run([...loaded(), add(ANN, same, 'c2'), modify(ANN, reordered, 'c3')]))).toEqual([
      'add aaa',
      'add bbb',
      'ready c1',
    ]);
  });

  it('turns a delete into delete with the old entry, and ignores deletes of unknown entries', () => {
    const changes = run([...loaded(), del(ANN, 'c2'), del(DAN, 'c3'), del(ANN, 'c4')]);
    expect(summary(changes)).toEqual(['add aaa', 'add bbb', 'ready c1', 'delete aaa']);
    expect(changes.at(-1)).toEqual({
      type: 'delete',
      entryUUID: ANN,
      dn: person('ann').dn,
      old: person('ann'),
    });
  });

  it('deletes exactly the UUIDs of a syncIdSet refreshDeletes=TRUE, and nothing for an empty one', () => {
    expect(summary(run([...loaded(), idSet(true, [], 'c2')]))).toEqual(['add aaa', 'add bbb', 'ready c1']);
    expect(summary(run([...loaded(), idSet(true, [BOB, DAN], 'c2')]))).toEqual([
      'add aaa',
      'add bbb',
      'ready c1',
      'delete bbb',
    ]);
  });

  it('tracks the last cookie of any message and commits persist changes with it', () => {
    const store = new MemoryStore();
    const changes = run(
      [...loaded(), modify(ANN, person('ann', { sn: ['A'] }), 'c2'), { type: 'cookie', cookie: 'c3' }],
      store,
    );
    expect(summary(changes)).toEqual(['add aaa', 'add bbb', 'ready c1', 'modify aaa']);
    expect(store.cookie).toBe('c3');
    expect(store.get(ANN)?.attributes.sn).toEqual(['A']);
  });
});

// --- the sweep rule -------------------------------------------------------------------------

describe('replicate: present phase sweep (RFC 4533 §3.3.2)', () => {
  it('deletes the entries a resumed present phase did not present', () => {
    const store = resumedStore();
    const changed = person('bob', { sn: ['Builder'] });
    const changes = run(
      [present(ANN, person('ann').dn), add(BOB, changed), refreshPresent(true, 'c2')],
      store,
    );
    expect(summary(changes)).toEqual(['modify bbb', 'delete ccc', 'ready c2']);
    expect(changes[1]).toEqual({ type: 'delete', entryUUID: CAT, dn: person('cat').dn, old: person('cat') });
    expect([...store.entryUUIDs()].sort()).toEqual([ANN, BOB]);
    expect(store.cookie).toBe('c2');
  });

  it('counts a syncIdSet refreshDeletes=FALSE as presence', () => {
    expect(summary(run([idSet(false, [ANN, CAT]), refreshPresent(true, 'c2')], resumedStore()))).toEqual([
      'delete bbb',
      'ready c2',
    ]);
  });

  it('sweeps at done refreshDeletes=FALSE in refreshOnly', () => {
    expect(summary(run([present(ANN, 'x'), present(BOB, 'x'), done(false, 'c2')], resumedStore()))).toEqual([
      'delete ccc',
      'ready c2',
    ]);
  });

  it('sweeps at the refreshPresent between a present and a delete phase, then applies the deletes', () => {
    const changes = run(
      [
        present(ANN, 'x'),
        present(BOB, 'x'),
        refreshPresent(false, 'c2'),
        add(DAN, person('dan')),
        del(BOB),
        done(true, 'c3'),
      ],
      resumedStore(),
    );
    expect(summary(changes)).toEqual(['delete ccc', 'add ddd', 'delete bbb', 'ready c3']);
  });

  it('does not sweep after a delete phase (slapd session log resume)', () => {
    const store = resumedStore();
    const changed = person('bob', { sn: ['Builder'] });
    const changes = run([add(BOB, changed), del(CAT), refreshDelete(true, 'c2')], store);
    expect(summary(changes)).toEqual(['modify bbb', 'delete ccc', 'ready c2']);
    expect(store.has(ANN)).toBe(true);
  });

  it('does not sweep when a resume presents nothing and the cookie did not move (no change)', () => {
    const store = resumedStore();
    expect(summary(run([refreshPresent(true)], store))).toEqual(['ready c1']);
    expect(summary(run([refreshPresent(true, 'c1')], store))).toEqual(['ready c1']);
    expect(summary(run([done(false)], store))).toEqual(['ready c1']);
    expect(store.size).toBe(3);
  });

  it('compares OpenLDAP cookies by CSN: the same position spelled differently is no move', () => {
    const csn = '20260101120000.000000Z#000000#000#000000';
    const later = '20260101120500.000000Z#000000#000#000000';
    const store = new MemoryStore({ entries: [[ANN, person('ann')]], cookie: `rid=001,csn=${csn}` });
    // The protocol layer merges cookies, so the unchanged position may come back with a sid.
    expect(summary(run([refreshPresent(true, `rid=001,sid=001,csn=${csn}`)], store))).toEqual([
      `ready rid=001,sid=001,csn=${csn}`,
    ]);
    expect(store.size).toBe(1);
    expect(summary(run([refreshPresent(true, `rid=001,sid=001,csn=${later}`)], store))).toEqual([
      'delete aaa',
      `ready rid=001,sid=001,csn=${later}`,
    ]);
  });

  it('empties the replica when a resume presents nothing and the cookie moved (the directory was emptied)', () => {
    expect(summary(run([refreshPresent(true, 'c2')], resumedStore()))).toEqual([
      'delete aaa',
      'delete bbb',
      'delete ccc',
      'ready c2',
    ]);
  });

  it('empties the replica when a refresh from no cookie presents nothing', () => {
    const store = new MemoryStore({ entries: [[ANN, person('ann')]] });
    expect(summary(run([refreshPresent(true, 'c1')], store))).toEqual(['delete aaa', 'ready c1']);
  });

  it('purges entries a full content transfer did not send, even when it ends with refreshDelete', () => {
    // A store with entries but no cookie: the search ran without a cookie, so it sends everything.
    const store = new MemoryStore({
      entries: [
        [ANN, person('ann')],
        [BOB, person('bob')],
      ],
    });
    expect(summary(run([add(ANN, person('ann')), refreshDelete(true, 'c1')], store))).toEqual([
      'delete bbb',
      'ready c1',
    ]);
  });
});

describe('replicate: 389 Directory Server refreshOnly resume', () => {
  const DS = (n: number): string =>
    `localhost:389#cn=reader,dc=example:ou=people,dc=example:(objectClass=*)#${n}`;
  const dsStore = (): MemoryStore =>
    new MemoryStore({
      entries: [
        [ANN, person('ann')],
        [BOB, person('bob')],
        [CAT, person('cat')],
      ],
      cookie: DS(5),
    });

  it('applies deletes and changes, and sweeps nothing, although done says refreshDeletes=FALSE', () => {
    // What ns-slapd 2.3 sends (docs/research-389ds.md): the deleted UUIDs, the changed entries
    // as add, then SearchResultDone with refreshDeletes=FALSE.
    const store = dsStore();
    const changed = person('bob', { sn: ['Builder'] });
    const changes = run(
      [idSet(true, [CAT], DS(9)), add(BOB, changed), add(DAN, person('dan')), done(false, DS(9))],
      store,
    );
    expect(summary(changes)).toEqual(['delete ccc', 'modify bbb', 'add ddd', `ready ${DS(9)}`]);
    expect([...store.entryUUIDs()].sort()).toEqual([ANN, BOB, DAN]);
    expect(store.cookie).toBe(DS(9));
  });

  it('a resume with nothing changed keeps everything', () => {
    const store = dsStore();
    expect(summary(run([done(false, DS(5))], store))).toEqual([`ready ${DS(5)}`]);
    expect(store.size).toBe(3);
  });

  it('still sweeps a full load (no cookie) that ends with done refreshDeletes=FALSE', () => {
    const store = new MemoryStore({ entries: [[ANN, person('ann')]] });
    expect(summary(run([add(BOB, person('bob')), done(false, DS(1))], store))).toEqual([
      'add bbb',
      'delete aaa',
      `ready ${DS(1)}`,
    ]);
  });

  it('an OpenLDAP cookie keeps the RFC reading: done refreshDeletes=FALSE sweeps', () => {
    expect(summary(run([present(ANN, 'x'), done(false, 'c2')], resumedStore()))).toEqual([
      'delete bbb',
      'delete ccc',
      'ready c2',
    ]);
  });
});

describe('replicate: reset and reconnect', () => {
  it('emits reset at once, then deletes what the reload did not bring back, before ready', () => {
    const store = new MemoryStore();
    const changes = run(
      [
        add(ANN, person('ann')),
        add(BOB, person('bob')),
        refreshDelete(true, 'c1'),
        { type: 'reset', reason: 'refreshRequired' },
        add(ANN, person('ann')),
        add(CAT, person('cat')),
        refreshDelete(true, 'c9'),
      ],
      store,
    );
    expect(summary(changes)).toEqual([
      'add aaa',
      'add bbb',
      'ready c1',
      'reset',
      'add ccc',
      'delete bbb',
      'ready c9',
    ]);
    expect(changes[3]).toEqual({ type: 'reset', reason: 'refreshRequired' });
    expect([...store.entryUUIDs()].sort()).toEqual([ANN, CAT]);
    expect(store.cookie).toBe('c9');
  });

  it('detects the refresh of a reconnect and sweeps entries gone while disconnected', () => {
    const changes = run([
      add(ANN, person('ann')),
      refreshDelete(true, 'c1'),
      add(BOB, person('bob'), 'c2'), // persist
      // connection lost; the protocol layer resumes from c2; bob was deleted meanwhile
      present(ANN, person('ann').dn),
      refreshPresent(true, 'c3'),
    ]);
    expect(summary(changes)).toEqual(['add aaa', 'ready c1', 'add bbb', 'delete bbb', 'ready c3']);
  });

  it('starts a reconnect refresh at a cookieless add, so its adds count as presence', () => {
    const changes = run([
      add(ANN, person('ann')),
      refreshDelete(true, 'c1'),
      add(BOB, person('bob'), 'c2'),
      // reconnect: ann changed (sent as add, no cookie), bob unchanged (present)
      add(ANN, person('ann', { sn: ['A'] })),
      present(BOB, person('bob').dn),
      refreshPresent(true, 'c3'),
    ]);
    expect(summary(changes)).toEqual(['add aaa', 'ready c1', 'add bbb', 'modify aaa', 'ready c3']);
  });

  it('emits ready after every completed refresh', () => {
    const changes = run([
      refreshDelete(true, 'c1'),
      present(ANN, 'x'),
      refreshPresent(true, 'c1'),
      done(true, 'c2'),
    ]);
    expect(summary(changes)).toEqual(['ready c1', 'ready c1', 'ready c2']);
  });
});

describe('replicate: oddities', () => {
  it('warns when the server presents entries the replica does not hold', () => {
    const logger = { info: vi.fn(), warn: vi.fn() };
    const out: Change[] = [];
    from([present(DAN, 'uid=dan'), idSet(false, [ANN]), refreshPresent(true, 'c2')])
      .pipe(replicate({ store: resumedStore(), logger }))
      .subscribe((c) => out.push(c));
    expect(summary(out)).toEqual(['delete bbb', 'delete ccc', 'ready c2']);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![0]).toMatch(
      /presented 1 entries as unchanged that this replica does not hold/,
    );
  });

  it('refuses a store that another subscription is using', () => {
    const store = new MemoryStore();
    const first = NEVER.pipe(replicate({ store })).subscribe();
    const error = vi.fn();
    NEVER.pipe(replicate({ store })).subscribe({ error });
    expect(error).toHaveBeenCalledWith(
      expect.objectContaining({ message: expect.stringMatching(/already used/) }),
    );
    first.unsubscribe();
    const again = vi.fn();
    NEVER.pipe(replicate({ store })).subscribe({ error: again }).unsubscribe();
    expect(again).not.toHaveBeenCalled();
  });

  it('keeps state per subscription', () => {
    const source = of(add(ANN, person('ann')), refreshDelete(true, 'c1'));
    const replicated = source.pipe(replicate());
    const a: Change[] = [];
    const b: Change[] = [];
    replicated.subscribe((c) => a.push(c));
    replicated.subscribe((c) => b.push(c));
    expect(summary(a)).toEqual(['add aaa', 'ready c1']);
    expect(summary(b)).toEqual(['add aaa', 'ready c1']);
  });
});

// --- batching -------------------------------------------------------------------------------

/** A MemoryStore that records every batch. */
class RecordingStore extends MemoryStore {
  batches: { uuids: string[]; cookie: string | undefined }[] = [];
  override commit(batch: ReplicaBatch): void {
    this.batches.push({ uuids: [...batch.mutations.keys()], cookie: batch.cookie });
    super.commit(batch);
  }
}

describe('replicate: batching', () => {
  it('holds refresh cookies back until the phase is complete, and caps batches at maxBatch', () => {
    const store = new RecordingStore({ entries: [[ANN, person('ann')]], cookie: 'c0' });
    const uuids = Array.from({ length: 7 }, (_, i) => `eeeeeeee-0000-4000-8000-00000000000${i}`);
    const messages: SyncMessage[] = [
      ...uuids.slice(0, 2).map((u, i) => add(u, person(`u${i}`))),
      idSet(false, [ANN], 'c-mid'), // a mid-phase cookie: not safe to store yet
      ...uuids.slice(2).map((u, i) => add(u, person(`u${i + 2}`))),
      refreshPresent(true, 'c1'),
    ];
    from(messages)
      .pipe(replicate({ store, maxBatch: 3 }))
      .subscribe();
    expect(store.batches).toEqual([
      { uuids: uuids.slice(0, 3), cookie: 'c0' },
      { uuids: uuids.slice(3, 6), cookie: 'c0' },
      { uuids: uuids.slice(6), cookie: 'c1' },
    ]);
  });

  it('commits each persist change with its cookie, and staged refresh changes on unsubscribe', () => {
    const store = new RecordingStore();
    const messages = new Subject<SyncMessage>();
    const subscription = messages.pipe(replicate({ store })).subscribe();
    messages.next(add(ANN, person('ann')));
    messages.next(refreshDelete(true, 'c1'));
    messages.next(modify(ANN, person('ann', { sn: ['A'] }), 'c2'));
    messages.next(add(BOB, person('bob'))); // reconnect refresh starts, not yet complete
    expect(store.batches).toEqual([
      { uuids: [ANN], cookie: 'c1' },
      { uuids: [ANN], cookie: 'c2' },
    ]);
    subscription.unsubscribe();
    expect(store.batches.at(-1)).toEqual({ uuids: [BOB], cookie: 'c2' });
  });

  it('commits no cookie for a reload until it completes', () => {
    const store = new RecordingStore({ entries: [[ANN, person('ann')]], cookie: 'c1' });
    from([
      { type: 'reset', reason: 'refreshRequired' } as const,
      add(BOB, person('bob')),
      add(CAT, person('cat')),
    ])
      .pipe(replicate({ store, maxBatch: 1 }))
      .subscribe();
    expect(store.batches.map((b) => b.cookie)).toEqual([undefined, undefined]);
    expect(store.cookie).toBeUndefined();
  });

  it('waits for the last commit of an asynchronous store before completing', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = new MemoryStore();
    const slow = withCommit(inner, (batch) => {
      inner.commit(batch);
      return gate;
    });
    const complete = vi.fn();
    of(add(ANN, person('ann')), refreshDelete(true, 'c1'))
      .pipe(replicate({ store: slow }))
      .subscribe({ complete });
    expect(complete).not.toHaveBeenCalled();
    release();
    await gate;
    await Promise.resolve();
    expect(complete).toHaveBeenCalled();
  });

  it('errors when an asynchronous commit fails', async () => {
    class FailingStore extends MemoryStore {
      override commit(): Promise<void> {
        return Promise.reject(new Error('disk full'));
      }
    }
    const failing = new FailingStore();
    const error = vi.fn();
    const messages = new Subject<SyncMessage>();
    messages.pipe(replicate({ store: failing })).subscribe({ error });
    messages.next(refreshDelete(true, 'c1'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(error).toHaveBeenCalledWith(new Error('disk full'));
  });
});

// --- the RxJS checklist ---------------------------------------------------------------------

describe('replicate: operator contract', () => {
  const testScheduler = (): TestScheduler =>
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const m = {
    a: add(ANN, person('ann')),
    r: refreshDelete(true, 'c1'),
    m: modify(ANN, person('ann', { sn: ['A'] }), 'c2'),
  };
  const c = {
    a: { type: 'add', entryUUID: ANN, dn: person('ann').dn, entry: person('ann') },
    r: { type: 'ready', cookie: 'c1' },
    m: {
      type: 'modify',
      entryUUID: ANN,
      dn: person('ann').dn,
      old: person('ann'),
      new: person('ann', { sn: ['A'] }),
      diff: { sn: { added: ['A'], removed: [], appeared: true } },
    },
  } satisfies Record<string, Change>;

  it('maps messages to changes in time', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-r--m-|', m);
      const subs = '       ^------!';
      const expected = '   a-r--m-|';
      expectObservable(source.pipe(replicate())).toBe(expected, c);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('passes errors through after what was applied', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-r-#', m, new Error('connection lost'));
      const subs = '       ^---!';
      expectObservable(source.pipe(replicate())).toBe('a-r-#', c, new Error('connection lost'));
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('completes empty for an empty source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<SyncMessage>('|');
      expectObservable(source.pipe(replicate())).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('unsubscribes from the source on early unsubscribe', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-r--m-|', m);
      const subs = '       ^--!';
      expectObservable(source.pipe(replicate()), subs).toBe('a-r', c);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('stops a synchronous source under take(n), and applies nothing after it', () => {
    const pulled: SyncMessage[] = [];
    const source = new Observable<SyncMessage>((subscriber) => {
      for (const message of [m.a, m.r, m.m, del(ANN, 'c3')]) {
        if (subscriber.closed) break;
        pulled.push(message);
        subscriber.next(message);
      }
      subscriber.complete();
    });
    const store = new MemoryStore();
    const out: Change[] = [];
    source.pipe(replicate({ store }), take(2)).subscribe((change) => out.push(change));
    expect(out).toEqual([c.a, c.r]);
    expect(pulled).toEqual([m.a, m.r]);
    expect(store.get(ANN)).toEqual(person('ann'));
    expect(store.cookie).toBe('c1');
  });

  it('is re-entrant: a consumer that pushes a message while handling a change sees a consistent replica', () => {
    const store = new MemoryStore();
    const messages = new Subject<SyncMessage>();
    const out: Change[] = [];
    messages.pipe(replicate({ store })).subscribe((change) => {
      out.push(change);
      // On ready, a consumer synchronously feeds the next (persist) message.
      if (change.type === 'ready') messages.next(m.m);
    });
    messages.next(m.a);
    messages.next(m.r);
    expect(out).toEqual([c.a, c.r, c.m]);
    expect(store.get(ANN)).toEqual(person('ann', { sn: ['A'] }));
    expect(store.cookie).toBe('c2');
  });

  it('is re-entrant during a sweep: every delete is emitted once', () => {
    const messages = new Subject<SyncMessage>();
    const out: Change[] = [];
    messages.pipe(replicate({ store: resumedStore() })).subscribe((change) => {
      out.push(change);
      if (change.type === 'delete' && change.entryUUID === BOB) messages.next(del(CAT, 'c3'));
    });
    messages.next(present(ANN, 'x'));
    messages.next(refreshPresent(true, 'c2'));
    expect(summary(out)).toEqual(['delete bbb', 'delete ccc', 'ready c2']);
  });
});

describe('cookieMoved', () => {
  const at = (time: string, sid = '000'): string => `${time}.000000Z#000000#${sid}#000000`;
  it('is false for no new cookie or the same one', () => {
    expect(cookieMoved('a', undefined)).toBe(false);
    expect(cookieMoved('a', 'a')).toBe(false);
    expect(cookieMoved(undefined, undefined)).toBe(false);
  });
  it('is true from no cookie, and for different opaque cookies', () => {
    expect(cookieMoved(undefined, 'a')).toBe(true);
    expect(cookieMoved('a', 'b')).toBe(true);
  });
  it('compares OpenLDAP cookies by CSN per serverID, and delcsn', () => {
    const start = `rid=001,csn=${at('20260101000000')};${at('20260101000000', '002')}`;
    expect(
      cookieMoved(start, `rid=001,sid=003,csn=${at('20260101000000')};${at('20260101000000', '002')}`),
    ).toBe(false);
    expect(cookieMoved(start, `rid=001,csn=${at('20260101000000')};${at('20260102000000', '002')}`)).toBe(
      true,
    );
    expect(cookieMoved(start, `rid=001,csn=${at('20260101000000')};${at('20260101000000', '004')}`)).toBe(
      true,
    );
    expect(cookieMoved(start, `${start},delcsn=${at('20260101000000')}`)).toBe(true);
  });
});

describe('replicateFrom', () => {
  it('connects with the store cookie on every subscription', () => {
    const store = new MemoryStore();
    const cookies: (string | undefined)[] = [];
    const changes$ = replicateFrom(store, (cookie) => {
      cookies.push(cookie);
      return of(add(ANN, person('ann')), refreshDelete(true, cookie === undefined ? 'c1' : `${cookie}+`));
    });
    changes$.subscribe();
    changes$.subscribe();
    expect(cookies).toEqual([undefined, 'c1']);
    expect(store.cookie).toBe('c1+');
  });
});
