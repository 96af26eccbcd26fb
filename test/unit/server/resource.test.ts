/**
 * Resource declarations compiled (packages/server/src/resource.ts): which entries a resource holds,
 * their id, params, `_url`, body and tombstone, computed once per entry; bad declarations and
 * throwing callbacks (docs/stream-contract.md §R, docs/design.md invariant 7).
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '@syncrepl-rx/core';
import { CompiledResource, type ResourceDefinition } from '../../../packages/server/src/resource.js';

const sub = (uid: string, realm: string, extra: Entry['attributes'] = {}): Entry => ({
  dn: `uid=${uid},ou=${realm},dc=example`,
  attributes: { objectClass: ['subscriber'], uid: [uid], ou: [realm], ...extra },
});

const def: ResourceDefinition = {
  name: 'subscribers',
  source: 'dir',
  path: '/realm/:realmId/subscriber',
  match: (e) => e.attributes.objectClass?.includes('subscriber') ?? false,
  id: (e) => e.attributes.uid?.[0] as string | undefined,
  params: (e) => ({ realmId: e.attributes.ou?.[0] as string }),
  body: (e) => ({ uid: e.attributes.uid?.[0] }),
};

describe('CompiledResource: the declaration', () => {
  it('derives the item path and the param names from the path', () => {
    const r = new CompiledResource(def);
    expect(r.name).toBe('subscribers');
    expect(r.itemPath).toBe('/realm/:realmId/subscriber/:id');
    expect(r.paramNames).toEqual(['realmId']);
    const flat = new CompiledResource({ ...def, path: '/people/', params: undefined as never });
    expect(flat.itemPath).toBe('/people/:id');
    expect(flat.paramNames).toEqual([]);
  });

  it('refuses a path without a leading slash, and an :id param, with a TypeError naming the resource', () => {
    expect(() => new CompiledResource({ ...def, path: 'realm/:realmId' })).toThrow(
      new TypeError('resource subscribers: path must start with /'),
    );
    expect(() => new CompiledResource({ ...def, path: '/group/:id/member' })).toThrow(
      new TypeError("resource subscribers: ':id' is reserved for items"),
    );
  });

  it('builds collection URLs with each param encoded, and an empty segment for a missing one', () => {
    const r = new CompiledResource(def);
    expect(r.collectionUrl({ realmId: 'r1' })).toBe('/realm/r1/subscriber');
    expect(r.collectionUrl({ realmId: 'a/b ?#%' })).toBe('/realm/a%2Fb%20%3F%23%25/subscriber');
    expect(r.collectionUrl({})).toBe('/realm//subscriber');
  });
});

describe('CompiledResource.map', () => {
  it('maps an entry to id, params, _url, body JSON with _url, and the tombstone', () => {
    const mapped = new CompiledResource(def).map(sub('ann', 'r1'));
    expect(mapped).toMatchObject({
      id: 'ann',
      params: { realmId: 'r1' },
      url: '/realm/r1/subscriber/ann',
      json: JSON.stringify({ uid: 'ann', _url: '/realm/r1/subscriber/ann' }),
    });
    // Built when a delete asks for it (a getter), the same every time.
    expect(mapped!.tombstone).toBe(JSON.stringify({ id: 'ann', _url: '/realm/r1/subscriber/ann' }));
    expect(mapped!.tombstone).toBe(mapped!.tombstone);
  });

  it('encodes the id and params in _url, and puts basePath before it', () => {
    const r = new CompiledResource(def, undefined, '/api');
    const mapped = r.map(sub('a b/c', 'r 1'))!;
    expect(mapped.id).toBe('a b/c');
    expect(mapped.url).toBe('/api/realm/r%201/subscriber/a%20b%2Fc');
    expect(JSON.parse(mapped.tombstone)).toEqual({ id: 'a b/c', _url: mapped.url });
  });

  it("uses the declaration's url() when there is one, under basePath too", () => {
    const r = new CompiledResource(
      { ...def, url: (_e, id, params) => `/owner/${params.realmId}/${id}` },
      undefined,
      '/api',
    );
    expect(r.map(sub('ann', 'r1'))?.url).toBe('/api/owner/r1/ann');
  });

  it('leaves out entries that do not match, have no id (or an empty one), or lack a param', () => {
    const r = new CompiledResource(def);
    expect(
      r.map({ dn: 'cn=x', attributes: { objectClass: ['group'], uid: ['x'], ou: ['r1'] } }),
    ).toBeUndefined();
    expect(r.map({ dn: 'cn=x', attributes: { objectClass: ['subscriber'], ou: ['r1'] } })).toBeUndefined();
    expect(r.map(sub('', 'r1'))).toBeUndefined();
    expect(r.map({ dn: 'cn=x', attributes: { objectClass: ['subscriber'], uid: ['x'] } })).toBeUndefined();
    const noParams = new CompiledResource({ ...def, params: () => undefined });
    expect(noParams.map(sub('ann', 'r1'))).toBeUndefined();
  });

  it('a body a client must not trust cannot forge _url: the computed one wins', () => {
    const r = new CompiledResource({ ...def, body: () => ({ _url: 'https://evil.example/', id: 'x' }) });
    expect(JSON.parse(r.map(sub('ann', 'r1'))!.json)).toEqual({ _url: '/realm/r1/subscriber/ann', id: 'x' });
  });

  it('writes the same JSON as the body spread with _url, for every shape of body', () => {
    class WithToJSON {
      toJSON() {
        return { shown: true };
      }
    }
    const bodies: unknown[] = [
      {},
      { uid: 'ann', n: 1, nested: { a: [1, 'x'] }, gone: undefined },
      { 'quo"te': 'a\u2028b', '': '' },
      Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }),
      new WithToJSON(),
    ];
    for (const body of bodies) {
      const r = new CompiledResource({ ...def, body: () => body as Record<string, unknown> });
      const url = '/realm/r1/subscriber/ann';
      expect(r.map(sub('ann', 'r1'))!.json).toBe(JSON.stringify({ ...(body as object), _url: url }));
    }
  });

  it('maps an entry object once, whoever asks, and a new object again', () => {
    let bodies = 0;
    const r = new CompiledResource({ ...def, body: (e) => (bodies++, { uid: e.attributes.uid?.[0] }) });
    const ann = sub('ann', 'r1');
    const first = r.map(ann);
    expect(r.map(ann)).toBe(first);
    expect(bodies).toBe(1);
    // A left-out entry is remembered too.
    let matches = 0;
    const none = new CompiledResource({ ...def, match: () => (matches++, false) });
    expect([none.map(ann), none.map(ann)]).toEqual([undefined, undefined]);
    expect(matches).toBe(1);
    expect(r.map({ ...ann })).toEqual(first);
    expect(bodies).toBe(2);
  });

  it('a callback that throws costs that entry only, and is told to onError once', () => {
    const errors: [string, unknown][] = [];
    const boom = new Error('bad body');
    const r = new CompiledResource(
      {
        ...def,
        body: (e) => {
          if (e.attributes.uid?.[0] === 'bad') throw boom;
          return { uid: e.attributes.uid?.[0] };
        },
      },
      (entry, error) => errors.push([entry.dn, error]),
    );
    const bad = sub('bad', 'r1');
    expect(r.map(bad)).toBeUndefined();
    expect(r.map(bad)).toBeUndefined();
    expect(r.map(sub('ann', 'r1'))?.id).toBe('ann');
    expect(errors).toEqual([[bad.dn, boom]]);
    for (const key of ['match', 'id', 'params', 'url'] as const) {
      const thrower = new CompiledResource(
        {
          ...def,
          [key]: () => {
            throw new Error(key);
          },
        },
        (_e, error) => errors.push([key, error]),
      );
      expect(thrower.map(sub('ann', 'r1')), key).toBeUndefined();
    }
    expect(errors.slice(1).map(([key, e]) => [key, (e as Error).message])).toEqual([
      ['match', 'match'],
      ['id', 'id'],
      ['params', 'params'],
      ['url', 'url'],
    ]);
  });

  it('without onError, a throwing callback still only leaves the entry out', () => {
    const r = new CompiledResource({
      ...def,
      id: () => {
        throw new Error('no id');
      },
    });
    expect(r.map(sub('ann', 'r1'))).toBeUndefined();
  });
});
