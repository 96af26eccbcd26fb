import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { operatorChecklist, testScheduler } from '../../../fixtures/operator-checklist.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { diffAttributes } from '../../../../packages/core/src/replica/diff.js';
import { pickAttributes } from '../../../../packages/core/src/operators/pickAttributes.js';

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const ann: Entry = {
  dn: 'uid=ann,ou=people,dc=x',
  attributes: { uid: ['ann'], cn: ['Ann'], telephoneNumber: ['1'] },
};
const annPhone: Entry = { dn: ann.dn, attributes: { ...ann.attributes, telephoneNumber: ['2'] } };
const annCn: Entry = { dn: ann.dn, attributes: { ...ann.attributes, cn: ['Anne'] } };
const annMoved: Entry = {
  dn: 'uid=ann,ou=staff,dc=x',
  attributes: { ...ann.attributes, telephoneNumber: ['3'] },
};

const picked = (entry: Entry): Entry => ({
  dn: entry.dn,
  attributes: Object.fromEntries(
    Object.entries(entry.attributes).filter(([name]) => name !== 'telephoneNumber'),
  ),
});
const modifyOf = (old: Entry, next: Entry): Change => ({
  type: 'modify',
  entryUUID: U1,
  dn: next.dn,
  old,
  new: next,
  diff: diffAttributes(old.attributes, next.attributes),
});

const v = {
  a: { type: 'add', entryUUID: U1, dn: ann.dn, entry: ann },
  A: { type: 'add', entryUUID: U1, dn: ann.dn, entry: picked(ann) },
  p: modifyOf(ann, annPhone), // touches a dropped attribute only
  c: modifyOf(ann, annCn),
  C: modifyOf(picked(ann), picked(annCn)),
  m: {
    type: 'rename',
    entryUUID: U1,
    oldDn: ann.dn,
    newDn: annMoved.dn,
    old: ann,
    new: annMoved,
    diff: diffAttributes(ann.attributes, annMoved.attributes),
  },
  M: {
    type: 'rename',
    entryUUID: U1,
    oldDn: ann.dn,
    newDn: annMoved.dn,
    old: picked(ann),
    new: picked(annMoved),
    diff: {},
  },
  d: { type: 'delete', entryUUID: U1, dn: ann.dn, old: ann },
  D: { type: 'delete', entryUUID: U1, dn: ann.dn, old: picked(ann) },
  r: { type: 'ready' },
} satisfies Record<string, Change>;

describe('pickAttributes', () => {
  it('projects entries, drops modifies of dropped attributes only, keeps renames', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-p-c-m-d-r-|', v);
      const subs = '       ^-----------!';
      expectObservable(source.pipe(pickAttributes('UID', 'cn'))).toBe('A---C-M-D-r-|', v);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('does not mutate the changes it receives', () => {
    const before = structuredClone(v.c);
    const out: Change[] = [];
    new Observable<Change>((s) => {
      s.next(v.c);
      s.complete();
    })
      .pipe(pickAttributes('cn'))
      .subscribe((c) => out.push(c));
    expect(v.c).toEqual(before);
    expect(out).toEqual([
      {
        ...v.c,
        old: { dn: ann.dn, attributes: { cn: ['Ann'] } },
        new: { dn: ann.dn, attributes: { cn: ['Anne'] } },
      },
    ]);
  });

  operatorChecklist({
    operator: () => pickAttributes('uid', 'cn'),
    values: v,
    error: { source: 'a-#', expected: 'A-#', subscription: '^-!' },
    unsubscribe: { source: 'a-c-d-|', at: '^--!', expected: 'A-C' },
    take: { changes: [v.a, v.p, v.c, v.d], n: 2, out: [v.A, v.C], pulled: [v.a, v.p, v.c] },
    reentrant: {
      push: [v.a, v.d],
      onEmit: (change) => (change.type === 'add' ? [v.c] : []),
      out: [v.A, v.C, v.D],
    },
  });
});
