import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  INITIAL_STATUS,
  nextStatus,
  statusMachine,
  type CollectionStatus,
  type LocalState,
  type StatusEvent,
} from '../../../packages/client/src/index.js';

const restored: LocalState = { kind: 'restored', entries: 3 };
const stopped: LocalState = { kind: 'stopped', reason: 'other-tab', detail: 'another tab' };
const boom = new Error('401');
const netErr = new TypeError('fetch failed');

const e = {
  L: { type: 'local-loaded', local: restored },
  o: { type: 'open', resumed: true },
  f: { type: 'open', resumed: false },
  z: { type: 'full-replay' },
  r: { type: 'ready' },
  d: { type: 'dropped', error: netErr },
  c: { type: 'connecting', attempt: 2, retryInMs: 800, error: netErr },
  n: { type: 'offline' },
  x: { type: 'failed', error: boom },
  k: { type: 'reconnect' },
  s: { type: 'local-changed', local: stopped },
} satisfies Record<string, StatusEvent>;

const s = {
  l: INITIAL_STATUS,
  c: { kind: 'connecting', local: restored, attempt: 0, retryInMs: 0, lastError: undefined },
  p: { kind: 'replaying', local: restored, full: false },
  P: { kind: 'replaying', local: restored, full: true },
  v: { kind: 'live', local: restored },
  d: { kind: 'connecting', local: restored, attempt: 0, retryInMs: 0, lastError: netErr },
  b: { kind: 'connecting', local: restored, attempt: 2, retryInMs: 800, lastError: netErr },
  n: { kind: 'offline', local: restored },
  x: { kind: 'error', local: restored, error: boom },
  S: { kind: 'live', local: stopped },
} satisfies Record<string, CollectionStatus>;

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('statusMachine', () => {
  it('loading-local → connecting → replaying (resume) → live, and back to connecting on a drop', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const events = cold(' -L-o-r-d-c-o-r-|', e);
      const subs = '        ^--------------!';
      expectObservable(events.pipe(statusMachine())).toBe('lc-p-v-d-b-p-v-|', s);
      expectSubscriptions(events.subscriptions).toBe(subs);
    });
  });

  it('a cookieless open or a reset is a full replay; a reset while catching up turns it into one', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-L-f-r-|', e).pipe(statusMachine())).toBe('lc-P-v-|', s);
      expectObservable(cold('-L-o-z-z-r-|', e).pipe(statusMachine())).toBe('lc-p-P---v-|', s);
    });
  });

  it('offline from any connected status; online comes back through connecting', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-L-o-r-n-n-c-o-|', e).pipe(statusMachine())).toBe('lc-p-v-n---b-p-|', s);
    });
  });

  it('error is terminal until reconnect(); events of a dead stream do not revive it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-L-o-x-c-n-r-k-|', e).pipe(statusMachine())).toBe('lc-p-x-------c-|', s);
    });
  });

  it('keeps `local` up to date without leaving the current status', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-L-o-r-s-|', e).pipe(statusMachine())).toBe('lc-p-v-S-|', s);
    });
  });

  it('ignores everything before the stored copy is loaded', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-o-r-d-L-|', e).pipe(statusMachine())).toBe('l------c-|', s);
    });
  });

  it('passes errors through, completes when empty, and unsubscribes early', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-L-#', e, boom);
      expectObservable(failing.pipe(statusMachine())).toBe('lc-#', s, boom);
      expectObservable(cold<StatusEvent>('|').pipe(statusMachine())).toBe('(l|)', s);
      const long = cold('-L-o-r-|', e);
      expectObservable(long.pipe(statusMachine()), '^--!').toBe('lc-', s);
      expectSubscriptions(long.subscriptions).toBe('^--!');
    });
  });

  it('works with a synchronous source and take(n)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('(Lofr|)', e).pipe(statusMachine(), take(3))).toBe('(lcp|)', s);
    });
  });

  it('returns the same object for events that change nothing (so distinctUntilChanged drops them)', () => {
    const live = nextStatus(nextStatus(nextStatus(INITIAL_STATUS, e.L), e.o), e.r);
    expect(nextStatus(live, { type: 'ready' })).toBe(live);
    expect(nextStatus(live, { type: 'open', resumed: false })).toBe(live);
    expect(nextStatus(INITIAL_STATUS, e.r)).toBe(INITIAL_STATUS);
  });
});
