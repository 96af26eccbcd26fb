import { describe, expect, it } from 'vitest';
import type { Entry } from '../../packages/core/src/replica/changes.js';
import { MemoryStore } from '../../packages/core/src/stores/memory.js';
import { CorruptReplicaError, EntryCodec } from '../../packages/core/src/stores/codec.js';

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const photo = new Uint8Array([0xff, 0xd8, 0x00, 0x7b, 0x22]);
const ann: Entry = {
  dn: 'uid=ann,dc=x',
  attributes: { cn: ['Ann', 'Änne'], jpegPhoto: [photo], mixed: ['{"b":"AA=="}'] },
};
const bob: Entry = { dn: 'uid=bob,dc=x', attributes: { cn: ['Bob'] } };

describe('MemoryStore', () => {
  it('applies a batch of puts and deletes with its cookie', () => {
    const store = new MemoryStore();
    store.commit({
      mutations: new Map([
        [U1, ann],
        [U2, bob],
      ]),
      cookie: 'c1',
    });
    expect(store.size).toBe(2);
    expect(store.cookie).toBe('c1');
    expect(store.has(U1)).toBe(true);
    store.commit({ mutations: new Map([[U2, null]]), cookie: 'c2' });
    expect([...store.entryUUIDs()]).toEqual([U1]);
    expect([...store.entries()]).toEqual([[U1, ann]]);
    expect(store.get(U2)).toBeUndefined();
    expect(store.cookie).toBe('c2');
    store.commit({ mutations: new Map(), cookie: undefined });
    expect(store.cookie).toBeUndefined();
  });

  it('keeps bytes as bytes and text as text, exactly', () => {
    const store = new MemoryStore({ entries: [[U1, ann]] });
    const back = store.get(U1)!;
    expect(back).toEqual(ann);
    expect(back.attributes.jpegPhoto![0]).toBeInstanceOf(Uint8Array);
    expect(back.attributes.mixed).toEqual(['{"b":"AA=="}']);
  });

  it('hands out copies: mutating a returned entry does not change the replica', () => {
    const store = new MemoryStore({ entries: [[U1, bob]] });
    store.get(U1)!.attributes.cn!.push('Robert');
    expect(store.get(U1)).toEqual(bob);
  });

  it('applies nothing of a batch that holds an invalid value', () => {
    const store = new MemoryStore({ entries: [[U1, ann]], cookie: 'c1' });
    const bad = { dn: 'uid=bad,dc=x', attributes: { cn: [42] } } as unknown as Entry;
    expect(() =>
      store.commit({
        mutations: new Map([
          [U1, null],
          [U2, bad],
        ]),
        cookie: 'c2',
      }),
    ).toThrow(TypeError);
    expect(store.get(U1)).toEqual(ann);
    expect(store.cookie).toBe('c1');
  });
});

describe('EntryCodec (the in-memory form)', () => {
  it('round-trips single values, several values, bytes, and empty attributes', () => {
    const codec = new EntryCodec();
    const odd: Entry = {
      dn: 'cn=odd',
      attributes: { empty: [], one: ['x'], bytes: [photo, 'text'], ['__proto__']: ['p'] },
    };
    expect(codec.decode(codec.encode(ann), U1)).toEqual(ann);
    const back = codec.decode(codec.encode(odd), U2);
    expect(back).toEqual(odd);
    expect(Object.getOwnPropertyDescriptor(back.attributes, '__proto__')?.value).toEqual(['p']);
  });

  it('refuses what it did not write', () => {
    const codec = new EntryCodec();
    codec.encode(bob);
    expect(() => codec.decode('not json', U1)).toThrow(CorruptReplicaError);
    expect(() => codec.decode('{"dn":"x"}', U1)).toThrow(CorruptReplicaError);
    expect(() => codec.decode('[7,"x","a"]', U1)).toThrow(CorruptReplicaError); // unknown shape
    expect(() => codec.decode('[0,"x",1]', U1)).toThrow(CorruptReplicaError); // not a value
    expect(() => codec.decode('[0,"x"]', U1)).toThrow(CorruptReplicaError); // missing slot
  });

  it('stores attribute names once per shape, not once per entry', () => {
    const codec = new EntryCodec();
    const entry = (i: number): Entry => ({
      dn: `uid=user${i},ou=people,dc=example,dc=com`,
      attributes: { objectClass: ['inetOrgPerson'], uid: [`user${i}`], telephoneNumber: [`+1 555 ${i}`] },
    });
    codec.encode(entry(0));
    const text = codec.encode(entry(1));
    expect(text).not.toContain('telephoneNumber');
    const payload = entry(1).dn.length + 'inetOrgPersonuser1+1 555 1'.length;
    expect(text.length).toBeLessThan(payload + 20);
  });
});
