/**
 * The state part of a collection alone (packages/client/src/stream-state.ts): wire events in,
 * entries, cookie and steps out, with no stream, store or tab (SPEC.md S1–S5, P5, M5, M6).
 */
import { describe, expect, it } from 'vitest';
import { MalformedEventError, type SseEvent } from '../../../packages/client/src/index.js';
import { StreamState, type Step } from '../../../packages/client/src/stream-state.js';

interface Sub {
  id: string;
  status?: string;
}

const URL_ = 'https://s.test/realm/r1/subscriber?subscribe=1';
const U = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const entry = (syncOp: string, n: number, body: Sub, id?: string): SseEvent => ({
  event: 'entry',
  data: JSON.stringify({ entryUUID: U(n), syncOp, body }),
  id,
});
const ready = (id?: string): SseEvent => ({ event: 'ready', data: '{}', id });
const reset = (id?: string): SseEvent => ({ event: 'reset', data: '{}', id });

const ids = (state: StreamState<Sub>) => [...state.entries.values()].map((b) => b.id).sort();
const kinds = (step: Step<Sub> | undefined) =>
  step?.changes.map((c) =>
    c.type === 'upsert' ? `${c.syncOp} ${c.body.id}` : `${c.cause} ${c.previous.id}`,
  );

describe('StreamState: each wire event, its step', () => {
  it('entries upsert and delete, keyed on entryUUID; each step names the event and its changes (S1, S2)', () => {
    const state = new StreamState<Sub>(URL_);
    const add = state.apply(entry('add', 1, { id: 'a' }, 'c1'));
    expect(add?.event).toEqual({
      type: 'entry',
      syncOp: 'add',
      entryUUID: U(1),
      body: { id: 'a' },
      id: 'c1',
    });
    expect(kinds(add)).toEqual(['add a']);
    expect(add?.status).toBeUndefined();
    expect(add?.dropped).toBeUndefined();

    expect(kinds(state.apply(entry('modify', 1, { id: 'a', status: 'x' }, 'c2')))).toEqual(['modify a']);
    // A rename: delete then add of one entryUUID; the entry ends under its new id, same key.
    expect(kinds(state.apply(entry('delete', 1, { id: 'a' }, 'c3')))).toEqual(['delete a']);
    expect(kinds(state.apply(entry('add', 1, { id: 'a2' }, 'c4')))).toEqual(['add a2']);
    expect([...state.entries.keys()]).toEqual([U(1)]);
    expect(ids(state)).toEqual(['a2']);
    expect(state.cookie).toBe('c4');
  });

  it('an upsert equal to the current body and a delete of nothing change nothing (S4)', () => {
    const state = new StreamState<Sub>(URL_);
    state.apply(entry('add', 1, { id: 'a', status: 's' }));
    const same = state.apply(entry('modify', 1, { status: 's', id: 'a' }, 'c9'));
    expect(same?.changes).toEqual([]);
    expect(same?.event.type).toBe('entry');
    expect(state.cookie).toBe('c9'); // the cookie moves on all the same
    expect(state.apply(entry('delete', 2, { id: 'gone' }))?.changes).toEqual([]);
  });

  it('an event without id: keeps the cookie; events of other names are not ours', () => {
    const state = new StreamState<Sub>(URL_);
    state.apply(entry('add', 1, { id: 'a' }, 'c1'));
    state.apply(entry('add', 2, { id: 'b' }));
    expect(state.cookie).toBe('c1');
    expect(state.apply({ event: 'message', data: 'hello', id: 'c7' })).toBeUndefined();
    expect(state.apply({ event: 'heartbeat', data: '{}', id: undefined })).toBeUndefined();
    expect(state.cookie).toBe('c1');
    expect(ids(state)).toEqual(['a', 'b']);
  });

  it('a reset starts a full replay (status full-replay); ready drops what was not re-presented (S3)', () => {
    const state = new StreamState<Sub>(URL_);
    for (const n of [1, 2, 3]) state.apply(entry('add', n, { id: `e${n}` }));
    state.apply(ready('c1'));
    expect(state.replaying).toBe(false);

    const r = state.apply(reset('c2'));
    expect(r).toEqual({ event: { type: 'reset', id: 'c2' }, changes: [], status: { type: 'full-replay' } });
    expect(state.replaying).toBe(true);
    expect(state.apply(entry('present', 1, { id: 'e1' }))?.changes).toEqual([]);
    expect(state.apply(entry('present', 3, { id: 'e3' }))?.status).toBeUndefined(); // already replaying
    expect(ids(state)).toEqual(['e1', 'e2', 'e3']); // nothing dropped before ready

    const done = state.apply(ready('c3'));
    expect(done?.event).toEqual({ type: 'ready', id: 'c3' });
    expect(done?.status).toEqual({ type: 'ready' });
    expect(done?.dropped).toEqual([U(2)]);
    expect(kinds(done)).toEqual(['reset e2']);
    expect(ids(state)).toEqual(['e1', 'e3']);
    expect(state.replaying).toBe(false);
    expect(state.cookie).toBe('c3');
  });

  it('present events arriving unannounced start a full replay (S3); a ready after a resume drops nothing', () => {
    const state = new StreamState<Sub>(URL_);
    state.apply(entry('add', 1, { id: 'a' }));
    state.apply(entry('add', 2, { id: 'b' }));
    expect(state.apply(ready('c1'))).toMatchObject({ changes: [], dropped: [], status: { type: 'ready' } });
    const p = state.apply(entry('present', 2, { id: 'b' }));
    expect(p?.status).toEqual({ type: 'full-replay' });
    expect(state.apply(ready('c2'))?.dropped).toEqual([U(1)]);
    expect(ids(state)).toEqual(['b']);
  });

  it('beginFullReplay (a request without a cookie) makes the next ready drop what was not presented', () => {
    const state = new StreamState<Sub>(URL_);
    state.restore({
      entries: [
        [U(1), { id: 'a' }],
        [U(2), { id: 'b' }],
      ],
      cookie: 'c0',
      replaying: false,
    });
    state.beginFullReplay();
    expect(state.apply(entry('present', 1, { id: 'a' }))?.status).toBeUndefined();
    expect(state.apply(ready('c1'))?.dropped).toEqual([U(2)]);
  });

  it('a malformed entry throws MalformedEventError before anything of it is applied (S5)', () => {
    const state = new StreamState<Sub>(URL_);
    state.apply(entry('add', 1, { id: 'a' }, 'c1'));
    const bad: SseEvent[] = [
      { event: 'entry', data: 'not json', id: 'x1' },
      { event: 'entry', data: '[1]', id: 'x2' },
      { event: 'entry', data: JSON.stringify({ syncOp: 'add', body: {} }), id: 'x3' },
      { event: 'entry', data: JSON.stringify({ entryUUID: U(2), syncOp: 'add' }), id: 'x4' },
      { event: 'entry', data: JSON.stringify({ entryUUID: U(2), syncOp: 'upsert', body: {} }), id: 'x5' },
    ];
    for (const e of bad) {
      expect(() => state.apply(e)).toThrow(MalformedEventError);
      expect(() => state.apply(e)).toThrow(URL_);
    }
    expect(state.cookie).toBe('c1');
    expect(ids(state)).toEqual(['a']);
  });
});

describe('StreamState: resuming, the cookie, and tabs', () => {
  it('restore() starts from a stored copy; a stored partial replay is not resumed from its cookie (P5)', () => {
    const done = new StreamState<Sub>(URL_);
    done.restore({ entries: [[U(1), { id: 'a' }]], cookie: 'c5', replaying: false });
    expect(ids(done)).toEqual(['a']);
    expect(done.cookie).toBe('c5');
    expect(done.replaying).toBe(false);

    const partial = new StreamState<Sub>(URL_);
    partial.restore({
      entries: [
        [U(1), { id: 'a' }],
        [U(2), { id: 'b' }],
      ],
      cookie: 'c5',
      replaying: true,
    });
    expect(partial.cookie).toBeUndefined();
    expect(partial.replaying).toBe(true);
  });

  it('rejectCookie() drops the cookie once, and again only after a ready', () => {
    const state = new StreamState<Sub>(URL_);
    expect(state.rejectCookie()).toBe(false); // no cookie: the 400 is about something else
    state.apply(entry('add', 1, { id: 'a' }, 'c1'));
    expect(state.rejectCookie()).toBe(true);
    expect(state.cookie).toBeUndefined();
    state.apply(entry('add', 2, { id: 'b' }, 'c2'));
    expect(state.rejectCookie()).toBe(false); // a second 400 before ready: not the cookie
    expect(state.cookie).toBe('c2');
    state.apply(ready('c3'));
    expect(state.rejectCookie()).toBe(true);
  });

  it('a follower drops exactly what its leader’s ready dropped (M6), and mirrors its replaying', () => {
    const leader = new StreamState<Sub>(URL_);
    const follower = new StreamState<Sub>(URL_);
    for (const n of [1, 2, 3]) {
      leader.apply(entry('add', n, { id: `e${n}` }));
      follower.apply(entry('add', n, { id: `e${n}` }));
    }
    leader.apply(reset());
    // The follower joins mid-replay: it has not seen the reset, only what follows.
    const p1 = entry('present', 1, { id: 'e1' });
    leader.apply(p1);
    follower.apply(p1);
    follower.mirrorReplaying(leader.replaying);
    expect(follower.replaying).toBe(true);
    const r = ready('c9');
    const dropped = leader.apply(r)?.dropped;
    expect(dropped).toEqual([U(2), U(3)]);
    const step = follower.apply(r, dropped);
    expect(step?.dropped).toEqual([U(2), U(3)]);
    expect(ids(follower)).toEqual(ids(leader));
    follower.mirrorReplaying(leader.replaying);
    expect(follower.replaying).toBe(false);
  });

  it('snapshot() and replace(): a follower takes the leader’s state as changes, cookie and replaying (M5)', () => {
    const leader = new StreamState<Sub>(URL_);
    leader.apply(entry('add', 1, { id: 'a', status: 'new' }));
    leader.apply(entry('add', 2, { id: 'b' }));
    leader.apply(reset('c4'));
    const follower = new StreamState<Sub>(URL_);
    follower.restore({
      entries: [
        [U(1), { id: 'a' }],
        [U(3), { id: 'c' }],
      ],
      cookie: 'c1',
      replaying: false,
    });

    const snapshot = leader.snapshot();
    expect(snapshot).toEqual({
      entries: [
        [U(1), { id: 'a', status: 'new' }],
        [U(2), { id: 'b' }],
      ],
      cookie: 'c4',
      replaying: true,
    });
    const changes = follower.replace(snapshot);
    expect(changes.map((c) => `${c.type === 'upsert' ? c.syncOp : c.cause} ${c.entryUUID}`)).toEqual([
      `modify ${U(1)}`,
      `add ${U(2)}`,
      `delete ${U(3)}`,
    ]);
    expect(follower.cookie).toBe('c4');
    expect(follower.replaying).toBe(true);
    expect(follower.snapshot()).toEqual(snapshot);
  });

  it('takeOver() forgets the cookie of a replay not finished, and keeps a finished one (P5, M7)', () => {
    const mid = new StreamState<Sub>(URL_);
    mid.apply(reset('c1'));
    mid.apply(entry('present', 1, { id: 'a' }, 'c2'));
    mid.takeOver();
    expect(mid.cookie).toBeUndefined();

    const live = new StreamState<Sub>(URL_);
    live.apply(entry('add', 1, { id: 'a' }, 'c1'));
    live.apply(ready('c2'));
    live.takeOver();
    expect(live.cookie).toBe('c2');
  });
});
