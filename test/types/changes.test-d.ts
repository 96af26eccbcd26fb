import { of } from 'rxjs';
import type { Observable, OperatorFunction, MonoTypeOperatorFunction } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { AttributeValue, SyncMessage } from '../../packages/core/src/sync/messages.js';
import type {
  AddChange,
  AttributeDiff,
  Change,
  DeleteChange,
  Entry,
  EntryChange,
  ModifyChange,
  ReadyChange,
  RenameChange,
  ResetChange,
} from '../../packages/core/src/replica/changes.js';
import { replicate, replicateFrom } from '../../packages/core/src/replica/replicate.js';
import { diffAttributes } from '../../packages/core/src/replica/diff.js';
import { foldRenames } from '../../packages/core/src/operators/foldRenames.js';
import { unfoldRenames } from '../../packages/core/src/operators/unfoldRenames.js';
import { keepEntries } from '../../packages/core/src/operators/keepEntries.js';
import { keepObjectClasses } from '../../packages/core/src/operators/keepObjectClasses.js';
import { pickAttributes } from '../../packages/core/src/operators/pickAttributes.js';
import { MemoryStore } from '../../packages/core/src/stores/memory.js';
import type { LmdbStore } from '../../packages/core/src/stores/lmdb.js';
import type { ReplicaStore } from '../../packages/core/src/stores/store.js';

const change = { type: 'ready' } as Change;

describe('Change narrows on type', () => {
  it('rename: oldDn, newDn, old, new, diff; no dn, no entry', () => {
    if (change.type === 'rename') {
      expectTypeOf(change).toEqualTypeOf<RenameChange>();
      expectTypeOf(change.oldDn).toBeString();
      expectTypeOf(change.newDn).toBeString();
      expectTypeOf(change.old).toEqualTypeOf<Entry>();
      expectTypeOf(change.new).toEqualTypeOf<Entry>();
      expectTypeOf(change.diff).toEqualTypeOf<AttributeDiff>();
      expectTypeOf(change).not.toHaveProperty('entry');
      expectTypeOf(change).not.toHaveProperty('dn');
    }
  });

  it('add: dn and entry; no old', () => {
    if (change.type === 'add') {
      expectTypeOf(change).toEqualTypeOf<AddChange>();
      expectTypeOf(change.dn).toBeString();
      expectTypeOf(change.entry).toEqualTypeOf<Entry>();
      expectTypeOf(change).not.toHaveProperty('old');
      expectTypeOf(change).not.toHaveProperty('diff');
    }
  });

  it('modify: dn, old, new, diff', () => {
    if (change.type === 'modify') {
      expectTypeOf(change).toEqualTypeOf<ModifyChange>();
      expectTypeOf(change.old.attributes).toEqualTypeOf<Record<string, AttributeValue[]>>();
      expectTypeOf(change).not.toHaveProperty('oldDn');
      expectTypeOf(change).not.toHaveProperty('entry');
    }
  });

  it('delete: dn and old; no new', () => {
    if (change.type === 'delete') {
      expectTypeOf(change).toEqualTypeOf<DeleteChange>();
      expectTypeOf(change.old).toEqualTypeOf<Entry>();
      expectTypeOf(change).not.toHaveProperty('new');
      expectTypeOf(change).not.toHaveProperty('entry');
    }
  });

  it('ready and reset carry no entry', () => {
    if (change.type === 'ready') {
      expectTypeOf(change).toEqualTypeOf<ReadyChange>();
      expectTypeOf(change.cookie).toEqualTypeOf<string | undefined>();
      expectTypeOf(change).not.toHaveProperty('entryUUID');
    }
    if (change.type === 'reset') {
      expectTypeOf(change).toEqualTypeOf<ResetChange>();
      expectTypeOf(change.reason).toEqualTypeOf<'refreshRequired' | 'storeDiscarded'>();
    }
  });

  it('every entry change has an entryUUID; the boundaries do not', () => {
    expectTypeOf<EntryChange['entryUUID']>().toBeString();
    expectTypeOf<Exclude<Change, EntryChange>>().toEqualTypeOf<ReadyChange | ResetChange>();
    if (change.type !== 'ready' && change.type !== 'reset') {
      expectTypeOf(change).toEqualTypeOf<EntryChange>();
      expectTypeOf(change.entryUUID).toBeString();
    }
  });

  it('a switch is exhaustive over the six types', () => {
    const label = (c: Change): string => {
      switch (c.type) {
        case 'add':
        case 'modify':
        case 'rename':
        case 'delete':
          return c.entryUUID;
        case 'ready':
          return c.cookie ?? '';
        case 'reset':
          return c.reason;
        default:
          return c satisfies never;
      }
    };
    expectTypeOf(label).returns.toBeString();
  });
});

describe('operator and function types', () => {
  it('replicate maps SyncMessages to Changes', () => {
    expectTypeOf(replicate()).toEqualTypeOf<OperatorFunction<SyncMessage, Change>>();
    expectTypeOf(of<SyncMessage>().pipe(replicate({ store: new MemoryStore() }))).toEqualTypeOf<
      Observable<Change>
    >();
    expectTypeOf(replicateFrom)
      .parameter(1)
      .toEqualTypeOf<(cookie: string | undefined) => Observable<SyncMessage>>();
    // @ts-expect-error replicate takes SyncMessages, not Changes
    of<Change>().pipe(replicate());
  });

  it('the change operators keep the Change type', () => {
    expectTypeOf(foldRenames()).toEqualTypeOf<MonoTypeOperatorFunction<Change>>();
    expectTypeOf(unfoldRenames()).toEqualTypeOf<MonoTypeOperatorFunction<Change>>();
    expectTypeOf(keepEntries((e) => e.dn !== '')).toEqualTypeOf<MonoTypeOperatorFunction<Change>>();
    expectTypeOf(keepObjectClasses('person')).toEqualTypeOf<MonoTypeOperatorFunction<Change>>();
    expectTypeOf(pickAttributes('cn')).toEqualTypeOf<MonoTypeOperatorFunction<Change>>();
    expectTypeOf(keepEntries).parameter(0).parameter(0).toEqualTypeOf<Entry>();
  });

  it('diffAttributes returns a diff keyed by name', () => {
    const diff = diffAttributes({ cn: ['a'] }, { cn: ['b'] });
    expectTypeOf(diff).toEqualTypeOf<AttributeDiff>();
    expectTypeOf(diff['cn']).toEqualTypeOf<
      { added: AttributeValue[]; removed: AttributeValue[]; appeared?: true; vanished?: true } | undefined
    >();
  });

  it('both stores are ReplicaStores', () => {
    expectTypeOf<MemoryStore>().toMatchTypeOf<ReplicaStore>();
    expectTypeOf<LmdbStore>().toMatchTypeOf<ReplicaStore>();
    expectTypeOf<ReplicaStore['cookie']>().toEqualTypeOf<string | undefined>();
  });
});
