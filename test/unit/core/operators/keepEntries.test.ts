import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { operatorChecklist, testScheduler } from '../../../fixtures/operator-checklist.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { keepEntries } from '../../../../packages/core/src/operators/keepEntries.js';
import { keepObjectClasses } from '../../../../packages/core/src/operators/keepObjectClasses.js';

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const person: Entry = {
  dn: 'uid=ann,ou=people,dc=x',
  attributes: { objectClass: ['top', 'inetOrgPerson'], uid: ['ann'] },
};
const personMailed: Entry = { dn: person.dn, attributes: { ...person.attributes, mail: ['ann@x'] } };
const notPerson: Entry = { dn: person.dn, attributes: { objectClass: ['top', 'account'], uid: ['ann'] } };
const moved: Entry = { dn: 'uid=ann,ou=gone,dc=x', attributes: person.attributes };
const group: Entry = {
  dn: 'cn=admins,ou=groups,dc=x',
  attributes: { objectClass: ['groupOfNames'], cn: ['admins'] },
};
const groupRenamed: Entry = {
  dn: 'cn=root,ou=groups,dc=x',
  attributes: { objectClass: ['groupOfNames'], cn: ['root'] },
};

const v = {
  p: { type: 'add', entryUUID: U1, dn: person.dn, entry: person },
  g: { type: 'add', entryUUID: U2, dn: group.dn, entry: group },
  m: { type: 'modify', entryUUID: U1, dn: person.dn, old: person, new: personMailed, diff: {} },
  l: { type: 'modify', entryUUID: U1, dn: person.dn, old: person, new: notPerson, diff: {} }, // leaves
  j: { type: 'modify', entryUUID: U1, dn: person.dn, old: notPerson, new: person, diff: {} }, // joins
  G: {
    type: 'rename',
    entryUUID: U2,
    oldDn: group.dn,
    newDn: groupRenamed.dn,
    old: group,
    new: groupRenamed,
    diff: {},
  },
  M: { type: 'rename', entryUUID: U1, oldDn: person.dn, newDn: moved.dn, old: person, new: moved, diff: {} },
  x: { type: 'delete', entryUUID: U1, dn: person.dn, old: person },
  y: { type: 'delete', entryUUID: U2, dn: group.dn, old: group },
  r: { type: 'ready', cookie: 'c1' },
  z: { type: 'reset', reason: 'refreshRequired' },
  // what the consumer sees
  L: { type: 'delete', entryUUID: U1, dn: person.dn, old: person },
  J: { type: 'add', entryUUID: U1, dn: person.dn, entry: person },
} satisfies Record<string, Change>;

describe('keepObjectClasses', () => {
  it('keeps the changes of matching entries, case-insensitively, and passes ready and reset', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('p-g-m-G-y-x-r-z-|', v);
      const subs = '       ^---------------!';
      expectObservable(source.pipe(keepObjectClasses('INETORGPERSON'))).toBe('p---m-----x-r-z-|', v);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('turns an entry that stops matching into a delete, and one that starts matching into an add', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('l-j-|', v).pipe(keepObjectClasses('inetOrgPerson'))).toBe('L-J-|', v);
    });
  });

  it('matches any of several classes, and bytes values', () => {
    const bytesClass: Entry = {
      dn: 'cn=b',
      attributes: { objectclass: [new TextEncoder().encode('Device')] },
    };
    const out: Change[] = [];
    new Observable<Change>((s) => {
      s.next(v.p);
      s.next(v.g);
      s.next({ type: 'add', entryUUID: U2, dn: 'cn=b', entry: bytesClass });
      s.complete();
    })
      .pipe(keepObjectClasses('groupOfNames', 'device'))
      .subscribe((c) => out.push(c));
    expect(out.map((c) => (c.type === 'add' ? c.dn : c.type))).toEqual([group.dn, 'cn=b']);
  });

  operatorChecklist({
    operator: () => keepObjectClasses('inetOrgPerson'),
    values: v,
    error: { source: 'p-g-#', expected: 'p---#', subscription: '^---!' },
    unsubscribe: { source: 'p-g-m-|', at: '^--!', expected: 'p--' },
    take: { changes: [v.g, v.p, v.m, v.x], n: 2, out: [v.p, v.m], pulled: [v.g, v.p, v.m] },
    reentrant: {
      push: [v.p, v.x],
      onEmit: (change) => (change === v.p ? [v.g, v.m] : []),
      out: [v.p, v.m, v.x],
    },
  });
});

describe('keepEntries', () => {
  const inPeople = (entry: Entry): boolean => entry.dn.endsWith(',ou=people,dc=x');

  it('turns a move out of the kept entries into a delete', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('p-M-|', v).pipe(keepEntries(inPeople))).toBe('p-L-|', v);
    });
  });

  operatorChecklist({
    operator: () => keepEntries(inPeople),
    values: v,
    error: { source: 'p-g-#', expected: 'p---#', subscription: '^---!' },
    unsubscribe: { source: 'p-g-m-|', at: '^--!', expected: 'p--' },
    take: { changes: [v.g, v.p, v.m, v.x], n: 2, out: [v.p, v.m], pulled: [v.g, v.p, v.m] },
    reentrant: {
      push: [v.p, v.x],
      onEmit: (change) => (change === v.p ? [v.g, v.m] : []),
      out: [v.p, v.m, v.x],
    },
  });

  it('errors when the predicate throws, and unsubscribes', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('p-g-p-|', v);
      const boom = (entry: Entry): boolean => {
        if (entry === group) throw new Error('bad predicate');
        return true;
      };
      expectObservable(source.pipe(keepEntries(boom))).toBe('p-#', v, new Error('bad predicate'));
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });
});
