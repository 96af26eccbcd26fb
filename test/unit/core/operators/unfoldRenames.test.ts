import { describe, it } from 'vitest';
import { operatorChecklist, testScheduler } from '../../../fixtures/operator-checklist.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { foldRenames } from '../../../../packages/core/src/operators/foldRenames.js';
import { unfoldRenames } from '../../../../packages/core/src/operators/unfoldRenames.js';

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const ann: Entry = { dn: 'uid=ann,ou=people,dc=x', attributes: { uid: ['ann'], ou: ['people'] } };
const annMoved: Entry = { dn: 'uid=ann,ou=staff,dc=x', attributes: { uid: ['ann'], ou: ['staff'] } };
const bob: Entry = { dn: 'uid=bob,ou=people,dc=x', attributes: { uid: ['bob'] } };

const v = {
  R: {
    type: 'rename',
    entryUUID: U1,
    oldDn: ann.dn,
    newDn: annMoved.dn,
    old: ann,
    new: annMoved,
    diff: { ou: { added: ['staff'], removed: ['people'] } },
  },
  d: { type: 'delete', entryUUID: U1, dn: ann.dn, old: ann },
  a: { type: 'add', entryUUID: U1, dn: annMoved.dn, entry: annMoved },
  b: { type: 'add', entryUUID: U2, dn: bob.dn, entry: bob },
  r: { type: 'ready' },
} satisfies Record<string, Change>;

describe('unfoldRenames', () => {
  it('turns a rename into delete then add, same entryUUID, and passes the rest', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('b-R----r|', v);
      const subs = '       ^-------!';
      expectObservable(source.pipe(unfoldRenames())).toBe('b-(da)-r|', v);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('is undone by foldRenames', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('b-R---r|', v).pipe(unfoldRenames(), foldRenames())).toBe('b-R---r|', v);
    });
  });

  operatorChecklist({
    operator: () => unfoldRenames(),
    values: v,
    error: { source: 'R---#', expected: '(da)#', subscription: '^---!' },
    unsubscribe: { source: 'b-R-b-|', at: '^--!', expected: 'b-(da)' },
    take: {
      title: 'stops a synchronous source under take(n), even between the halves of a rename',
      changes: [v.R, v.b, v.r],
      n: 1,
      out: [v.d],
      pulled: [v.R],
    },
    reentrant: {
      title: 'is re-entrant: a change pushed while the delete half is emitted comes after it',
      push: [v.R],
      onEmit: (change) => (change.type === 'delete' ? [v.b] : []),
      out: [v.d, v.b, v.a],
    },
  });
});
