/** foldRenames(): a delete and an add of one entryUUID become one `rename` (SPEC.md S2). */
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  foldRenames,
  type CollectionChange,
  type CollectionEdit,
} from '../../../packages/client/src/index.js';

interface Sub {
  id: string;
  realmId: string;
}

const del = (u: string, b: Sub): CollectionChange<Sub> => ({
  type: 'delete',
  cause: 'delete',
  entryUUID: u,
  previous: b,
});
const add = (u: string, b: Sub): CollectionChange<Sub> => ({
  type: 'upsert',
  syncOp: 'add',
  entryUUID: u,
  body: b,
  previous: undefined,
});
const mod = (u: string, b: Sub, previous: Sub): CollectionChange<Sub> => ({
  type: 'upsert',
  syncOp: 'modify',
  entryUUID: u,
  body: b,
  previous,
});

function run() {
  const scheduler = new VirtualTimeScheduler();
  const changes = new Subject<CollectionChange<Sub>>();
  const out: CollectionEdit<Sub>[] = [];
  changes.pipe(foldRenames<Sub>({ holdMs: 100, scheduler })).subscribe((e) => out.push(e));
  const short = (e: CollectionEdit<Sub>) =>
    e.type === 'rename'
      ? `rename ${e.previous.realmId}/${e.previous.id} → ${e.body.realmId}/${e.body.id}`
      : `${e.type === 'upsert' ? e.syncOp : `delete(${e.cause})`} ${e.entryUUID}`;
  return { scheduler, changes, out, seen: () => out.map(short) };
}

describe('foldRenames', () => {
  it('folds a delete and the add of the same entryUUID into one rename (a new id, or a new parent)', () => {
    const { changes, seen } = run();
    changes.next(del('u1', { id: 'sub1', realmId: 'a' }));
    changes.next(add('u1', { id: 'sub1-r1', realmId: 'a' }));
    changes.next(del('u2', { id: 'sub2', realmId: 'a' }));
    changes.next(add('u2', { id: 'sub2', realmId: 'b' }));
    expect(seen()).toEqual(['rename a/sub1 → a/sub1-r1', 'rename a/sub2 → b/sub2']);
  });

  it('passes everything else through in order; a lone delete waits for the next change or holdMs', () => {
    const { scheduler, changes, seen } = run();
    changes.next(del('u1', { id: 'sub1', realmId: 'a' }));
    changes.next(mod('u2', { id: 'sub2', realmId: 'a' }, { id: 'sub2', realmId: 'a' }));
    changes.next(add('u3', { id: 'sub3', realmId: 'a' })); // an add of another entry: not a rename
    expect(seen()).toEqual(['delete(delete) u1', 'modify u2', 'add u3']);
    changes.next(del('u4', { id: 'sub4', realmId: 'a' }));
    expect(seen()).toHaveLength(3); // held
    scheduler.flush(); // holdMs passes without an add
    expect(seen()).toEqual(['delete(delete) u1', 'modify u2', 'add u3', 'delete(delete) u4']);
    changes.next(add('u4', { id: 'sub4', realmId: 'a' })); // too late: an add of its own
    expect(seen().at(-1)).toBe('add u4');
  });

  it('a delete that a reset caused is never part of a rename, and completion releases a held delete', () => {
    const { changes, seen, out } = run();
    changes.next({ type: 'delete', cause: 'reset', entryUUID: 'u1', previous: { id: 'sub1', realmId: 'a' } });
    changes.next(del('u2', { id: 'sub2', realmId: 'a' }));
    changes.complete();
    expect(seen()).toEqual(['delete(reset) u1', 'delete(delete) u2']);
    expect(out).toHaveLength(2);
  });
});
