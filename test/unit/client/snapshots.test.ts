/**
 * The view part of a collection alone (packages/client/src/snapshots.ts): snapshots keep their
 * identity until the entries change, listeners hear once per coalesced batch (C2), and the stored
 * copy goes out synchronously (C1). Coalescing runs on a VirtualTimeScheduler: no real time.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { externalStore, snapshotView } from '../../../packages/client/src/snapshots.js';

function setup() {
  const entries = new Map<string, number>();
  const scheduler = new VirtualTimeScheduler();
  const view = snapshotView(() => entries, scheduler);
  const seen: ReadonlyMap<string, number>[] = [];
  view.snapshots$.subscribe((s) => seen.push(s));
  return { entries, scheduler, view, seen };
}

describe('snapshotView', () => {
  it('getSnapshot() is the same object until the entries change, and a snapshot is never mutated', () => {
    const { entries, view } = setup();
    const empty = view.getSnapshot();
    expect(view.getSnapshot()).toBe(empty);
    entries.set('a', 1);
    expect(view.getSnapshot()).toBe(empty); // not told yet: still the old snapshot
    view.changed();
    const one = view.getSnapshot();
    expect(one).not.toBe(empty);
    expect([...one]).toEqual([['a', 1]]);
    expect(view.getSnapshot()).toBe(one);
    entries.set('b', 2);
    view.changed();
    expect([...one]).toEqual([['a', 1]]);
    expect(empty.size).toBe(0);
  });

  it('snapshots$ gives the current snapshot at once, then one per batch of changes on the scheduler', () => {
    const { entries, scheduler, view, seen } = setup();
    expect(seen.map((s) => s.size)).toEqual([0]);
    for (let i = 0; i < 5; i++) {
      entries.set(`k${i}`, i);
      view.changed();
    }
    expect(seen).toHaveLength(1); // not before the scheduler runs
    scheduler.flush();
    expect(seen.map((s) => s.size)).toEqual([0, 5]);
    entries.set('k9', 9);
    view.changed();
    scheduler.flush();
    expect(seen.map((s) => s.size)).toEqual([0, 5, 6]);
  });

  it('invalidate() + emitNow() tell listeners synchronously (C1); emitNow() with nothing new tells nobody', () => {
    const { entries, scheduler, view, seen } = setup();
    view.emitNow();
    expect(seen).toHaveLength(1);
    entries.set('restored', 1);
    view.invalidate();
    view.emitNow();
    expect(seen.map((s) => s.size)).toEqual([0, 1]);
    scheduler.flush();
    expect(seen).toHaveLength(2);
  });

  it('after stop(), changes schedule nothing but getSnapshot() still follows; complete() completes', () => {
    const { entries, scheduler, view, seen } = setup();
    view.stop();
    entries.set('a', 1);
    view.changed();
    scheduler.flush();
    expect(seen).toHaveLength(1);
    expect(view.getSnapshot().size).toBe(1);
    let completed = false;
    view.snapshots$.subscribe({ complete: () => (completed = true) });
    view.complete();
    expect(completed).toBe(true);
  });
});

describe('externalStore', () => {
  it('subscribe calls at once and on changes, returns unsubscribe; both functions work detached', () => {
    const { entries, scheduler, view } = setup();
    const { subscribe, getSnapshot } = externalStore(view.snapshots$, view.getSnapshot);
    const sizes: number[] = [];
    const unsubscribe = subscribe((s) => sizes.push(s.size));
    expect(sizes).toEqual([0]);
    entries.set('a', 1);
    view.changed();
    scheduler.flush();
    expect(sizes).toEqual([0, 1]);
    expect(getSnapshot().size).toBe(1);
    unsubscribe();
    entries.set('b', 2);
    view.changed();
    scheduler.flush();
    expect(sizes).toEqual([0, 1]);
  });
});
