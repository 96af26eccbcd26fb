/**
 * A view (packages/server/src/view.ts): what one request sees of a resource, route params,
 * `filter_*` values and the authorization hook narrowing it, and the events a logged change makes
 * for it (the table in view.ts's header, docs/stream-contract.md §V2, §E5).
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '@syncrepl-rx/core';
import type { LogRecord } from '../../../packages/server/src/change-log.js';
import { CompiledResource } from '../../../packages/server/src/resource.js';
import { View, entryData, type ViewOptions } from '../../../packages/server/src/view.js';

const sub = (uid: string, realm: string, status = 'active'): Entry => ({
  dn: `uid=${uid},ou=${realm},dc=example`,
  attributes: { objectClass: ['subscriber'], uid: [uid], ou: [realm], status: [status] },
});
const group: Entry = { dn: 'cn=admins,dc=example', attributes: { objectClass: ['group'], cn: ['admins'] } };

const resource = new CompiledResource({
  name: 'subscribers',
  source: 'dir',
  path: '/realm/:realmId/subscriber',
  match: (e) => e.attributes.objectClass?.includes('subscriber') ?? false,
  id: (e) => e.attributes.uid?.[0] as string | undefined,
  params: (e) => ({ realmId: e.attributes.ou?.[0] as string }),
  body: (e) => ({ status: e.attributes.status?.[0] }),
  filters: { status: (e, value) => e.attributes.status?.[0] === value },
});

const view = (options: Partial<ViewOptions> = {}) =>
  new View(resource, { params: { realmId: 'r1' }, filters: [], ...options });
const record = (old: Entry | undefined, next: Entry | undefined, entryUUID = 'u1'): LogRecord => ({
  seq: 1,
  entryUUID,
  ...(old ? { old } : {}),
  ...(next ? { new: next } : {}),
});

describe('View.admit', () => {
  it('admits an entry of the resource under its params, as the resource maps it', () => {
    const ann = sub('ann', 'r1');
    const mapped = view().admit(ann);
    expect(mapped).toBe(resource.map(ann));
    expect(mapped?.url).toBe('/realm/r1/subscriber/ann');
  });

  it('leaves out nothing-entries, other resources and other parents', () => {
    expect(view().admit(undefined)).toBeUndefined();
    expect(view().admit(group)).toBeUndefined();
    expect(view().admit(sub('bob', 'r2'))).toBeUndefined();
    expect(view({ params: { realmId: 'r2' } }).admit(sub('bob', 'r2'))?.id).toBe('bob');
  });

  it('applies every filter_* value, all of them', () => {
    const suspended = view({ filters: [['status', 'suspended']] });
    expect(suspended.admit(sub('ann', 'r1'))).toBeUndefined();
    expect(suspended.admit(sub('ann', 'r1', 'suspended'))?.id).toBe('ann');
    const both = view({
      filters: [
        ['status', 'active'],
        ['status', 'suspended'],
      ],
    });
    expect(both.admit(sub('ann', 'r1'))).toBeUndefined();
    expect(both.admit(sub('ann', 'r1', 'suspended'))).toBeUndefined();
  });

  it('admits nothing, and does not throw, for a filter name the resource does not declare', () => {
    // Names an object literal inherits: none of them is a filter of the resource.
    for (const name of ['nope', 'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', '']) {
      const hostile = view({ filters: [[name, 'x']] });
      expect(() => hostile.admit(sub('ann', 'r1')), name).not.toThrow();
      expect(hostile.admit(sub('ann', 'r1')), name).toBeUndefined();
    }
  });

  it('lets the authorization hook narrow the view, never widen it', () => {
    const onlyAnn = view({ authorization: { scope: 'ann', allows: (e) => e.attributes.uid?.[0] === 'ann' } });
    expect(onlyAnn.admit(sub('ann', 'r1'))?.id).toBe('ann');
    expect(onlyAnn.admit(sub('bob', 'r1'))).toBeUndefined();
    // It cannot bring back what the params or filters leave out.
    const everything = view({
      filters: [['status', 'suspended']],
      authorization: { scope: 'all', allows: () => true },
    });
    expect(everything.admit(sub('ann', 'r1'))).toBeUndefined();
    expect(everything.admit(sub('ann', 'r2', 'suspended'))).toBeUndefined();
    expect(everything.admit(group)).toBeUndefined();
  });
});

describe('View.admitIndexed', () => {
  const ann = sub('ann', 'r1');
  const store = { get: (u: string) => (u === 'u1' ? ann : undefined) };

  it("takes the index's mapping as is when only the params select (no entry read)", () => {
    const mapped = resource.map(ann)!;
    const unreadable = {
      get: (): Entry => {
        throw new Error('read the store');
      },
    };
    expect(view().admitIndexed('u1', mapped, unreadable)).toBe(mapped);
  });

  it('reads the entry to apply filters and authorization', () => {
    const mapped = resource.map(ann)!;
    expect(view({ filters: [['status', 'active']] }).admitIndexed('u1', mapped, store)).toBe(mapped);
    expect(view({ filters: [['status', 'gone']] }).admitIndexed('u1', mapped, store)).toBeUndefined();
    const denyAll = view({ authorization: { scope: 'none', allows: () => false } });
    expect(denyAll.admitIndexed('u1', mapped, store)).toBeUndefined();
    // An entry the store no longer holds is not in the view.
    expect(view({ filters: [['status', 'active']] }).admitIndexed('u2', mapped, store)).toBeUndefined();
  });

  it('a scope without a predicate reads nothing', () => {
    const mapped = resource.map(ann)!;
    expect(
      view({ authorization: { scope: 'all' } }).admitIndexed('u1', mapped, { get: () => undefined }),
    ).toBe(mapped);
  });
});

describe('View.eventsFor', () => {
  const ann = sub('ann', 'r1');
  const annSuspended = sub('ann', 'r1', 'suspended');
  const annMoved = sub('ann', 'r2');
  const v = view();
  const m = (e: Entry) => resource.map(e)!;

  it('follows the table: add, delete, modify, nothing', () => {
    expect(v.eventsFor(record(undefined, ann))).toEqual([
      { syncOp: 'add', entryUUID: 'u1', json: m(ann).json },
    ]);
    expect(v.eventsFor(record(ann, undefined))).toEqual([
      { syncOp: 'delete', entryUUID: 'u1', json: m(ann).tombstone },
    ]);
    expect(v.eventsFor(record(ann, annSuspended))).toEqual([
      { syncOp: 'modify', entryUUID: 'u1', json: m(annSuspended).json },
    ]);
    expect(v.eventsFor(record(undefined, undefined))).toEqual([]);
    expect(v.eventsFor(record(group, group))).toEqual([]);
  });

  it('says nothing for a change the body does not show', () => {
    const annMailed: Entry = { dn: ann.dn, attributes: { ...ann.attributes, mail: ['ann@example'] } };
    expect(v.eventsFor(record(ann, annMailed))).toEqual([]);
  });

  it('turns a move out of the view into a delete and a move in into an add', () => {
    expect(v.eventsFor(record(ann, annMoved))).toEqual([
      { syncOp: 'delete', entryUUID: 'u1', json: m(ann).tombstone },
    ]);
    expect(v.eventsFor(record(annMoved, ann))).toEqual([
      { syncOp: 'add', entryUUID: 'u1', json: m(ann).json },
    ]);
    // A change that leaves the filter is a delete for the filtered view.
    const active = view({ filters: [['status', 'active']] });
    expect(active.eventsFor(record(ann, annSuspended))).toEqual([
      { syncOp: 'delete', entryUUID: 'u1', json: m(ann).tombstone },
    ]);
  });

  it('turns a change of _url inside the view into delete of the old id, then add', () => {
    // A view over all realms: the rename keeps the entry in the view but moves its URL.
    const all = new CompiledResource({
      ...resource.def,
      name: 'all',
      path: '/subscriber',
      params: () => ({}),
    });
    const allView = new View(all, { params: {}, filters: [] });
    const annRenamed: Entry = {
      dn: 'uid=anne,ou=r1,dc=example',
      attributes: { ...ann.attributes, uid: ['anne'] },
    };
    const events = allView.eventsFor(record(ann, annRenamed));
    expect(events).toEqual([
      { syncOp: 'delete', entryUUID: 'u1', json: JSON.stringify({ id: 'ann', _url: '/subscriber/ann' }) },
      {
        syncOp: 'add',
        entryUUID: 'u1',
        json: JSON.stringify({ status: 'active', _url: '/subscriber/anne' }),
      },
    ]);
  });

  it('gives what the authorization allows only', () => {
    const onlyBob = view({ authorization: { scope: 'bob', allows: (e) => e.attributes.uid?.[0] === 'bob' } });
    expect(onlyBob.eventsFor(record(undefined, ann))).toEqual([]);
    expect(onlyBob.eventsFor(record(ann, annSuspended))).toEqual([]);
    expect(onlyBob.eventsFor(record(ann, undefined))).toEqual([]);
  });
});

describe('View.fingerprint', () => {
  it('names the resource, params, filters (in any order) and authorization scope', () => {
    const base = view().fingerprint;
    expect(view().fingerprint).toBe(base);
    expect(view({ params: { realmId: 'r2' } }).fingerprint).not.toBe(base);
    expect(view({ filters: [['status', 'active']] }).fingerprint).not.toBe(base);
    expect(view({ authorization: { scope: 'a' } }).fingerprint).not.toBe(base);
    const other = new CompiledResource({ ...resource.def, name: 'other' });
    expect(new View(other, { params: { realmId: 'r1' }, filters: [] }).fingerprint).not.toBe(base);
    const ab = view({
      filters: [
        ['a', '1'],
        ['b', '2'],
      ],
    });
    const ba = view({
      filters: [
        ['b', '2'],
        ['a', '1'],
      ],
    });
    expect(ab.fingerprint).toBe(ba.fingerprint);
    // The predicate is not part of it: the scope names it.
    expect(view({ authorization: { scope: 's', allows: () => true } }).fingerprint).toBe(
      view({ authorization: { scope: 's', allows: () => false } }).fingerprint,
    );
  });
});

describe('entryData', () => {
  it('writes { entryUUID, syncOp, body } with the body JSON as is', () => {
    const json = JSON.stringify({ id: 'a"b', _url: '/x/a%22b', n: [1, 2] });
    const text = entryData({ syncOp: 'add', entryUUID: 'u"1\n', json });
    expect(JSON.parse(text)).toEqual({ entryUUID: 'u"1\n', syncOp: 'add', body: JSON.parse(json) });
    expect(text).toContain(json);
  });
});
