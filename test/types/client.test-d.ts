import type { Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import {
  collection,
  type Collection,
  type CollectionChange,
  type CollectionOptions,
  type CollectionStatus,
  type ExternalStore,
  type LocalState,
  type TabRole,
  type TabSharing,
  type StreamEvent,
} from '@syncrepl-rx/client';

interface Subscriber {
  id: string;
  _url: string;
  realmId: string;
  status: 'active' | 'suspended' | 'disabled';
}

/** React's signature, with a stand-in body (react is not a dependency here): subscribe, read, unsubscribe. */
function useSyncExternalStore<T>(
  subscribe: (onStoreChange: () => void) => () => void,
  getSnapshot: () => T,
): T {
  const unsubscribe = subscribe(() => {});
  const value = getSnapshot();
  unsubscribe();
  return value;
}

/** Svelte's store contract (svelte/store `Readable`). */
interface Readable<T> {
  subscribe(this: void, run: (value: T) => void, invalidate?: () => void): () => void;
}

describe('@syncrepl-rx/client types', () => {
  // Runnable as well as type-checked (the runtime include matches this file too): no network, no storage.
  const subscribers = collection<Subscriber>('http://127.0.0.1:9/realm/example.org/subscriber?subscribe=1', {
    store: null,
    signal: AbortSignal.abort(),
  });

  it('is generic over the body type', () => {
    expectTypeOf(subscribers).toEqualTypeOf<Collection<Subscriber>>();
    expectTypeOf(subscribers.getSnapshot()).toEqualTypeOf<ReadonlyMap<string, Subscriber>>();
    expectTypeOf(subscribers.snapshots$).toEqualTypeOf<Observable<ReadonlyMap<string, Subscriber>>>();
    expectTypeOf(subscribers.changes$).toEqualTypeOf<Observable<CollectionChange<Subscriber>>>();
    expectTypeOf(subscribers.events$).toEqualTypeOf<Observable<StreamEvent<Subscriber>>>();
    expectTypeOf(subscribers.status$).toEqualTypeOf<Observable<CollectionStatus>>();
    expectTypeOf(collection).returns.toEqualTypeOf<Collection<unknown>>();
  });

  it('fits React useSyncExternalStore, for entries and status', () => {
    expectTypeOf(useSyncExternalStore(subscribers.subscribe, subscribers.getSnapshot)).toEqualTypeOf<
      ReadonlyMap<string, Subscriber>
    >();
    expectTypeOf(
      useSyncExternalStore(subscribers.status.subscribe, subscribers.status.getSnapshot),
    ).toEqualTypeOf<CollectionStatus>();
  });

  it('fits the Svelte store contract, for entries and status', () => {
    expectTypeOf(subscribers).toMatchTypeOf<Readable<ReadonlyMap<string, Subscriber>>>();
    expectTypeOf(subscribers.status).toMatchTypeOf<Readable<CollectionStatus>>();
    expectTypeOf(subscribers.status).toEqualTypeOf<ExternalStore<CollectionStatus>>();
  });

  it('narrows changes and statuses by their discriminant', () => {
    subscribers.changes$.subscribe((change) => {
      if (change.type === 'upsert') {
        expectTypeOf(change.body).toEqualTypeOf<Subscriber>();
        expectTypeOf(change.syncOp).toEqualTypeOf<'present' | 'add' | 'modify'>();
      } else {
        expectTypeOf(change.previous).toEqualTypeOf<Subscriber>();
        expectTypeOf(change.cause).toEqualTypeOf<'delete' | 'reset'>();
      }
    });
    const status = subscribers.status.getSnapshot();
    if (status.kind === 'error') expectTypeOf(status.error).toEqualTypeOf<Error>();
    if (status.kind === 'replaying') expectTypeOf(status.full).toEqualTypeOf<boolean>();
    // @ts-expect-error not a status
    if (status.kind === 'ready') return;
  });

  it('says whether this tab leads or follows, where tabs share (an optional field: older code compiles)', () => {
    const status = subscribers.status.getSnapshot();
    if (status.kind !== 'loading-local') {
      expectTypeOf(status.role).toEqualTypeOf<TabRole | undefined>();
      expectTypeOf(status.local).toEqualTypeOf<LocalState>();
    }
    // a status written before `role` existed is still a status
    const old = { kind: 'live', local: { kind: 'empty' } } as const;
    expectTypeOf(old).toMatchTypeOf<CollectionStatus>();
    // sharing is on by default; `share: null` opts out; a fake lock manager and channel fit
    expectTypeOf<CollectionOptions['share']>().toEqualTypeOf<TabSharing | null | undefined>();
  });
});
