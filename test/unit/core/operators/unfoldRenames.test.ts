import { Observable, Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
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

const testScheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

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

  it('passes errors through', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('R---#', v, new Error('lost'));
      expectObservable(source.pipe(unfoldRenames())).toBe('(da)#', v, new Error('lost'));
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('completes empty for an empty source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<Change>('|');
      expectObservable(source.pipe(unfoldRenames())).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('unsubscribes from the source on early unsubscribe', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('b-R-b-|', v);
      const subs = '       ^--!';
      expectObservable(source.pipe(unfoldRenames()), subs).toBe('b-(da)', v);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('stops a synchronous source under take(n), even between the halves of a rename', () => {
    const pulled: Change[] = [];
    const source = new Observable<Change>((subscriber) => {
      for (const change of [v.R, v.b, v.r]) {
        if (subscriber.closed) break;
        pulled.push(change);
        subscriber.next(change);
      }
      subscriber.complete();
    });
    const out: Change[] = [];
    source.pipe(unfoldRenames(), take(1)).subscribe((change) => out.push(change));
    expect(out).toEqual([v.d]);
    expect(pulled).toEqual([v.R]);
  });

  it('is re-entrant: a change pushed while the delete half is emitted comes after it', () => {
    const changes = new Subject<Change>();
    const out: Change[] = [];
    changes.pipe(unfoldRenames()).subscribe((change) => {
      out.push(change);
      if (change.type === 'delete') changes.next(v.b);
    });
    changes.next(v.R);
    expect(out).toEqual([v.d, v.b, v.a]);
  });
});
