import { describe, expect, it } from 'vitest';
import { Rebuild, type CollectionChange, type EntryEvent } from '../../../packages/client/src/index.js';
import { jsonEqual } from '../../../packages/client/src/rebuild.js';

interface Sub {
  id: string;
  _url: string;
  realmId: string;
  status?: string;
}

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const U3 = 'cccccccc-0000-4000-8000-000000000003';
const sub = (id: string, realmId = 'r1', status = 'active'): Sub => ({
  id,
  realmId,
  status,
  _url: `/realm/${realmId}/subscriber/${id}`,
});
const ev = (syncOp: 'present' | 'add' | 'modify', entryUUID: string, body: Sub): EntryEvent<Sub> => ({
  type: 'entry',
  syncOp,
  entryUUID,
  body,
  id: undefined,
});
const del = (entryUUID: string, body: Sub): EntryEvent<Sub> => ({
  type: 'entry',
  syncOp: 'delete',
  entryUUID,
  body: { id: body.id, _url: body._url },
  id: undefined,
});

describe('Rebuild', () => {
  it('present, add and modify upsert; delete removes (S1)', () => {
    const r = new Rebuild<Sub>();
    const changes: (CollectionChange<Sub> | undefined)[] = [];
    changes.push(r.apply(ev('present', U1, sub('ann'))));
    changes.push(r.apply(ev('add', U2, sub('bob'))));
    changes.push(r.apply(ev('modify', U1, sub('ann', 'r1', 'suspended'))));
    changes.push(r.apply(del(U2, sub('bob'))));
    expect([...r.entries]).toEqual([[U1, sub('ann', 'r1', 'suspended')]]);
    expect(changes).toEqual([
      { type: 'upsert', syncOp: 'present', entryUUID: U1, body: sub('ann'), previous: undefined },
      { type: 'upsert', syncOp: 'add', entryUUID: U2, body: sub('bob'), previous: undefined },
      {
        type: 'upsert',
        syncOp: 'modify',
        entryUUID: U1,
        body: sub('ann', 'r1', 'suspended'),
        previous: sub('ann'),
      },
      { type: 'delete', cause: 'delete', entryUUID: U2, previous: sub('bob') },
    ]);
  });

  it('a rename (delete + add) keeps the entryUUID and ends under the new id (S2)', () => {
    const r = new Rebuild<Sub>([[U1, sub('ann')]]);
    r.apply(del(U1, sub('ann')));
    const added = r.apply(ev('add', U1, sub('anna')));
    expect([...r.entries]).toEqual([[U1, sub('anna')]]);
    expect(added).toMatchObject({ type: 'upsert', entryUUID: U1, previous: undefined });
  });

  it('a delete of an unknown entry changes nothing', () => {
    const r = new Rebuild<Sub>();
    expect(r.apply(del(U1, sub('ann')))).toBeUndefined();
    expect(r.entries.size).toBe(0);
  });

  it('after a reset, entries not re-presented before ready are dropped, and only then (S3)', () => {
    const r = new Rebuild<Sub>([
      [U1, sub('ann')],
      [U2, sub('bob')],
      [U3, sub('cid')],
    ]);
    r.beginFullReplay();
    expect(r.replaying).toBe(true);
    r.apply(ev('present', U1, sub('ann')));
    r.apply(ev('present', U3, sub('cid', 'r1', 'disabled')));
    // bob is still there until ready: a replay in progress is not a verdict
    expect(r.entries.has(U2)).toBe(true);
    expect(r.ready()).toEqual([{ type: 'delete', cause: 'reset', entryUUID: U2, previous: sub('bob') }]);
    expect([...r.entries.keys()]).toEqual([U1, U3]);
    expect(r.replaying).toBe(false);
    // a second ready (a resumed stream) drops nothing
    expect(r.ready()).toEqual([]);
  });

  it('an entry deleted during the replay is not reported twice; one added during it stays', () => {
    const r = new Rebuild<Sub>([
      [U1, sub('ann')],
      [U2, sub('bob')],
    ]);
    r.beginFullReplay();
    r.apply(del(U2, sub('bob')));
    r.apply(ev('add', U3, sub('cid')));
    r.apply(ev('present', U1, sub('ann')));
    expect(r.ready()).toEqual([]);
    expect([...r.entries.keys()]).toEqual([U1, U3]);
  });

  it('present events without an announced reset start a full replay themselves', () => {
    const r = new Rebuild<Sub>([
      [U1, sub('ann')],
      [U2, sub('ghost')],
    ]);
    r.apply(ev('present', U1, sub('ann')));
    expect(r.replaying).toBe(true);
    expect(r.ready().map((c) => c.entryUUID)).toEqual([U2]);
  });

  it('an upsert equal to the current body is no change (S4)', () => {
    const r = new Rebuild<Sub>([[U1, sub('ann')]]);
    const before = r.entries.get(U1);
    expect(r.apply(ev('present', U1, { ...sub('ann') }))).toBeUndefined();
    expect(r.entries.get(U1)).toBe(before);
  });
});

describe('jsonEqual', () => {
  it('compares JSON values deeply', () => {
    expect(jsonEqual({ a: [1, { b: 'x' }], c: null }, { c: null, a: [1, { b: 'x' }] })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual({}, [])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});
