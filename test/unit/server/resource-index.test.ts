/**
 * The resource index (packages/server/src/resource-index.ts): a resource's entries mapped once and
 * grouped by parent params, built from the replica on first use and kept current from the change
 * log.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '@syncrepl-rx/core';
import type { LogRecord } from '../../../packages/server/src/change-log.js';
import { CompiledResource } from '../../../packages/server/src/resource.js';
import { ResourceIndex } from '../../../packages/server/src/resource-index.js';
import type { Upstream } from '../../../packages/server/src/source.js';

const sub = (uid: string, realm: string): Entry => ({
  dn: `uid=${uid},ou=${realm},dc=example`,
  attributes: { objectClass: ['subscriber'], uid: [uid], ou: [realm] },
});
const group: Entry = { dn: 'cn=g,dc=example', attributes: { objectClass: ['group'], cn: ['g'] } };

const resource = new CompiledResource({
  name: 'subscribers',
  source: 'dir',
  path: '/realm/:realmId/subscriber',
  match: (e) => e.attributes.objectClass?.includes('subscriber') ?? false,
  id: (e) => e.attributes.uid?.[0] as string,
  params: (e) => ({ realmId: e.attributes.ou?.[0] as string }),
  body: (e) => ({ uid: e.attributes.uid?.[0] }),
});

/** An upstream as the index sees it: a store to read and a change event; reads are counted. */
function upstream(initial: [string, Entry][]) {
  const entries = new Map(initial);
  const listeners: ((record: LogRecord) => void)[] = [];
  let passes = 0;
  const up = {
    on: (event: string, listener: (record: LogRecord) => void) => {
      expect(event).toBe('change');
      listeners.push(listener);
    },
    store: {
      entries: () => {
        passes++;
        return entries.entries();
      },
    },
  } as unknown as Upstream;
  let seq = 0;
  const change = (entryUUID: string, next: Entry | undefined) => {
    const old = entries.get(entryUUID);
    if (next) entries.set(entryUUID, next);
    else entries.delete(entryUUID);
    const record: LogRecord = {
      seq: ++seq,
      entryUUID,
      ...(old ? { old } : {}),
      ...(next ? { new: next } : {}),
    };
    for (const l of listeners) l(record);
  };
  return { up, change, passes: () => passes };
}

const ids = (group: ReadonlyMap<string, { id: string }>) => [...group].map(([u, m]) => `${u}:${m.id}`);

describe('ResourceIndex', () => {
  it('groups the entries of the resource by parent params, on first use, in one pass', () => {
    const u = upstream([
      ['u1', sub('ann', 'r1')],
      ['u2', sub('bob', 'r2')],
      ['u3', group],
      ['u4', sub('cy', 'r1')],
    ]);
    const index = new ResourceIndex(resource, u.up);
    expect(u.passes()).toBe(0);
    expect(ids(index.group({ realmId: 'r1' }))).toEqual(['u1:ann', 'u4:cy']);
    expect(ids(index.group({ realmId: 'r2' }))).toEqual(['u2:bob']);
    expect(u.passes()).toBe(1);
  });

  it('gives an empty group for params it has no entries under, or none at all', () => {
    const index = new ResourceIndex(resource, upstream([['u1', sub('ann', 'r1')]]).up);
    expect(index.group({ realmId: 'nowhere' }).size).toBe(0);
    expect(index.group({}).size).toBe(0);
    expect(index.group({ realmId: '["r1"]' }).size).toBe(0); // not confused with the key's own text
  });

  it('follows changes once built: adds, moves between parents, deletes, and leaving the resource', () => {
    const u = upstream([['u1', sub('ann', 'r1')]]);
    const index = new ResourceIndex(resource, u.up);
    u.change('u0', sub('early', 'r1')); // before the index is built: the build sees it
    expect(ids(index.group({ realmId: 'r1' }))).toEqual(['u1:ann', 'u0:early']);
    u.change('u2', sub('bob', 'r1'));
    u.change('u1', sub('ann', 'r2')); // moved to another realm
    expect(ids(index.group({ realmId: 'r1' }))).toEqual(['u0:early', 'u2:bob']);
    expect(ids(index.group({ realmId: 'r2' }))).toEqual(['u1:ann']);
    u.change('u1', undefined);
    expect(index.group({ realmId: 'r2' }).size).toBe(0);
    u.change('u2', group); // no longer one of the resource's entries
    expect(ids(index.group({ realmId: 'r1' }))).toEqual(['u0:early']);
    u.change('u9', group);
    expect(ids(index.group({ realmId: 'r1' }))).toEqual(['u0:early']);
    expect(u.passes()).toBe(1);
  });

  it('buildAll builds several indexes in one pass, and leaves built ones alone', () => {
    const u = upstream([
      ['u1', sub('ann', 'r1')],
      ['u2', group],
    ]);
    const groups = new CompiledResource({
      name: 'groups',
      source: 'dir',
      path: '/group',
      match: (e) => e.attributes.objectClass?.includes('group') ?? false,
      id: (e) => e.attributes.cn?.[0] as string,
      body: () => ({}),
    });
    const a = new ResourceIndex(resource, u.up);
    const b = new ResourceIndex(groups, u.up);
    ResourceIndex.buildAll([a, b], u.up.store);
    expect(u.passes()).toBe(1);
    expect(ids(a.group({ realmId: 'r1' }))).toEqual(['u1:ann']);
    expect(ids(b.group({}))).toEqual(['u2:g']);
    ResourceIndex.buildAll([a, b], u.up.store);
    ResourceIndex.buildAll([], u.up.store);
    expect(u.passes()).toBe(1);
  });
});
