import { describe, it } from 'vitest';
import { operatorChecklist, testScheduler } from '../../../fixtures/operator-checklist.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { foldRenames } from '../../../../packages/core/src/operators/foldRenames.js';

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const U3 = 'cccccccc-0000-4000-8000-000000000003';

const ann: Entry = { dn: 'uid=ann,ou=people,dc=x', attributes: { uid: ['ann'], ou: ['people'] } };
const annMoved: Entry = { dn: 'uid=ann,ou=staff,dc=x', attributes: { uid: ['ann'], ou: ['staff'] } };
const annMailed: Entry = { dn: ann.dn, attributes: { ...ann.attributes, mail: ['ann@x'] } };
const bob: Entry = { dn: 'uid=bob,ou=people,dc=x', attributes: { uid: ['bob'] } };
const cat: Entry = { dn: 'uid=cat,ou=people,dc=x', attributes: { uid: ['cat'] } };

const v = {
  d: { type: 'delete', entryUUID: U1, dn: ann.dn, old: ann },
  a: { type: 'add', entryUUID: U1, dn: annMoved.dn, entry: annMoved },
  s: { type: 'add', entryUUID: U1, dn: ann.dn, entry: ann }, // same DN, same content
  m: { type: 'add', entryUUID: U1, dn: ann.dn, entry: annMailed }, // same DN, new mail
  b: { type: 'add', entryUUID: U2, dn: bob.dn, entry: bob },
  e: { type: 'delete', entryUUID: U2, dn: bob.dn, old: bob },
  c: { type: 'delete', entryUUID: U3, dn: cat.dn, old: cat },
  r: { type: 'ready', cookie: 'c1' },
  R: {
    type: 'rename',
    entryUUID: U1,
    oldDn: ann.dn,
    newDn: annMoved.dn,
    old: ann,
    new: annMoved,
    diff: { ou: { added: ['staff'], removed: ['people'] } },
  },
  M: {
    type: 'modify',
    entryUUID: U1,
    dn: ann.dn,
    old: ann,
    new: annMailed,
    diff: { mail: { added: ['ann@x'], removed: [], appeared: true } },
  },
} satisfies Record<string, Change>;

describe('foldRenames', () => {
  it('folds a delete followed by an add of the same entryUUID into a rename', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('d-a-|', v);
      const subs = '       ^---!';
      const expected = '   --R-|';
      expectObservable(source.pipe(foldRenames())).toBe(expected, v);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('folds into a modify when the DN did not change, and into nothing when nothing changed', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('d-m-|', v).pipe(foldRenames())).toBe('--M-|', v);
      expectObservable(cold('d-s-|', v).pipe(foldRenames())).toBe('----|', v);
    });
  });

  it('releases a delete when a different change follows', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('d-b---|', v).pipe(foldRenames())).toBe('--(db)|', v);
      expectObservable(cold('d-e-a---|', v).pipe(foldRenames())).toBe('--d-(ea)|', v);
    });
  });

  it('releases a delete on ready', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('d-r---a-|', v).pipe(foldRenames())).toBe('--(dr)a-|', v);
    });
  });

  it('releases a delete after `within` ms on an idle stream', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('d 99ms |', v).pipe(foldRenames())).toBe('50ms d 49ms |', v);
      expectObservable(cold('d 99ms |', v).pipe(foldRenames({ within: 10 }))).toBe('10ms d 89ms |', v);
      // An add within the window still folds; the timer does not fire afterwards.
      expectObservable(cold('d 7ms a 91ms |', v).pipe(foldRenames({ within: 10 }))).toBe('8ms R 91ms |', v);
    });
  });

  it('holds a delete until the next change when within is Infinity', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('d 999ms a|', v).pipe(foldRenames({ within: Infinity }))).toBe('1s R|', v);
    });
  });

  it('releases a held delete on complete', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('d-|', v).pipe(foldRenames())).toBe('--(d|)', v);
    });
  });

  operatorChecklist({
    operator: () => foldRenames(),
    values: v,
    error: {
      title: 'releases a held delete before an error, and passes the error through',
      source: 'b-d-#',
      expected: 'b---(d#)',
      subscription: '^---!',
    },
    unsubscribe: {
      title: 'drops a held delete and its timer on early unsubscribe',
      operator: () => foldRenames({ within: 3 }),
      source: 'b-d----a-|',
      at: '^----!',
      expected: 'b----',
    },
    take: { changes: [v.d, v.a, v.b, v.e, v.r], n: 2, out: [v.R, v.b], pulled: [v.d, v.a, v.b] },
    reentrant: {
      title: 'is re-entrant: changes pushed while a change is emitted are folded once, in order',
      operator: () => foldRenames({ within: Infinity }),
      // Seeing bob's add, a consumer synchronously pushes ann's rename as delete + add; c is
      // held, and released by b.
      push: [v.c, v.b],
      onEmit: (change) => (change === v.b ? [v.d, v.a] : []),
      out: [v.c, v.b, v.R],
    },
  });
});
