import assert from 'node:assert/strict';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../../packages/core/src/replica/changes.js';
import { MemoryStore } from '../../../../packages/core/src/stores/memory.js';
import {
  CorruptReplicaError,
  decodeRecord,
  encodeEntryRecord,
  recordEntry,
  recordOfStored,
  storedRecord,
} from '../../../../packages/core/src/stores/codec.js';

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

describe('entry records (the stored form)', () => {
  it('round-trip single values, several values, bytes, text that is not ASCII, and empty attributes', () => {
    const odd: Entry = {
      dn: 'cn=odd,dc=x',
      attributes: {
        empty: [],
        one: ['x'],
        // Bytes stay bytes even when they are valid UTF-8; text stays text.
        bytes: [photo, new Uint8Array(Buffer.from('abc')), 'text'],
        ['__proto__']: ['p'],
        unicode: ['Grüße, 世界 🌍'],
      },
    };
    expect(decodeRecord(encodeEntryRecord(ann), U1)).toEqual(ann);
    const back = decodeRecord(encodeEntryRecord(odd), U2);
    expect(back).toEqual(odd);
    expect(back.attributes.bytes![1]).toBeInstanceOf(Uint8Array);
    expect(Object.getOwnPropertyDescriptor(back.attributes, '__proto__')?.value).toEqual(['p']);
  });

  it('use every BER length form, up to values of megabytes', () => {
    const sizes = [0, 127, 128, 255, 256, 65535, 65536, 3_000_000];
    const entry: Entry = {
      dn: `cn=${'d'.repeat(300)},dc=x`,
      attributes: Object.fromEntries(
        sizes.map((n) => [`a${n}`, ['v'.repeat(n), new Uint8Array(n).fill(0xfe)]]),
      ),
    };
    const record = encodeEntryRecord(entry);
    const decoded = decodeRecord(record, U1);
    // Compared value by value with Buffer.equals: a deep toEqual walks 3 MB element by element
    // (tens of seconds on a loaded machine).
    expect(decoded.dn).toBe(entry.dn);
    expect(Object.keys(decoded.attributes)).toEqual(Object.keys(entry.attributes));
    for (const n of sizes) {
      const [text, bytes] = decoded.attributes[`a${n}`] ?? [];
      expect(typeof text === 'string' && text.length === n && text === 'v'.repeat(n)).toBe(true);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(bytes as Uint8Array).equals(Buffer.alloc(n, 0xfe))).toBe(true);
    }
    expect(recordOfStored(Buffer.from(storedRecord(record)), U1) === record).toBe(true);
  });

  it('are one byte per character, about the size of the DN and the values', () => {
    const entry: Entry = {
      dn: 'uid=user1,ou=people,dc=example,dc=com',
      attributes: { objectClass: ['inetOrgPerson'], uid: ['user1'], telephoneNumber: ['+1 555 1'] },
    };
    const record = encodeEntryRecord(entry);
    expect(record).not.toMatch(/[\u0100-\uffff]/);
    // The DN and the values, plus a byte or two per attribute and value: names are numbers.
    const payload = entry.dn.length + 'inetOrgPersonuser1+1 555 1'.length;
    expect(record.length).toBeLessThanOrEqual(payload + 10);
  });

  it('refuse what is not a record, with CorruptReplicaError', () => {
    const good = encodeEntryRecord(bob);
    // The stored (BER) form, as a persistent store reads it back.
    const stored = Buffer.from(storedRecord(good));
    expect(recordOfStored(stored, U1)).toBe(good);
    const setToSequence = Buffer.from(stored);
    setToSequence[stored.indexOf(0x31)] = 0x30;
    for (const damaged of [
      Buffer.from('not a record'),
      stored.subarray(0, -1), // cut short
      Buffer.concat([stored, Buffer.from([0x04, 0x00])]), // trailing element
      setToSequence,
      Buffer.from([0x04, 0x80, 0x30, 0x00]), // indefinite length
    ]) {
      expect(() => recordOfStored(damaged, U1)).toThrow(CorruptReplicaError);
    }
    expect(() => recordOfStored(Buffer.alloc(0), U1)).toThrow(
      /entry aaaaaaaa-0000-4000-8000-000000000001 is not a readable record/,
    );
    // A record itself.
    for (const damaged of [
      '',
      good.slice(0, -1), // cut short inside a value
      '\u0001a\u00ff\u00ff\u0003\u0000', // a name number nobody assigned
      '\u0001a\u0000\u0009ab', // an inline name running past the end
      '\u0001a\u0001\u00ff\u00ff\u00ff\u00ff\u00ff\u0001', // a number too long
      // Not one byte per character: a record is read in place, so these must not slip through.
      '\u0001\u0100', // in the DN
      '\u0001a\u0003\u0001\u0004x\u0100', // in a value
      '\u0001a\u0000\u0001\u0100\u0000', // in an inline name
      '\u0001a\u0003\u0001\u0081\u0100', // inside a number
    ]) {
      expect(() => decodeRecord(damaged, U1)).toThrow(CorruptReplicaError);
    }
  });

  it('refuse to encode what is not an entry', () => {
    expect(() => encodeEntryRecord({ dn: 7, attributes: {} } as unknown as Entry)).toThrow(TypeError);
    expect(() => encodeEntryRecord({ dn: 'x', attributes: { cn: 'x' } } as unknown as Entry)).toThrow(
      TypeError,
    );
    expect(() => encodeEntryRecord({ dn: 'x', attributes: { cn: [null] } } as unknown as Entry)).toThrow(
      TypeError,
    );
  });

  it('give entries whose attributes decode on first read and behave as plain data', () => {
    const entry = recordEntry(encodeEntryRecord(ann), U1);
    expect(entry.dn).toBe(ann.dn);
    expect(Object.keys(entry)).toEqual(['dn', 'attributes']);
    // A plain object: no other own keys (not even symbols), Object.prototype, strictly equal.
    expect(Reflect.ownKeys(entry)).toEqual(['dn', 'attributes']);
    expect(Object.getPrototypeOf(entry)).toBe(Object.prototype);
    expect(() => assert.deepStrictEqual(entry, ann)).not.toThrow();
    expect(entry).toStrictEqual(ann);
    expect(entry).toEqual(ann);
    expect({ ...entry }).toEqual(ann);
    expect(JSON.parse(JSON.stringify(entry))).toEqual(JSON.parse(JSON.stringify(ann)));
    expect(structuredClone(entry)).toEqual(ann);
    // Decoded once, then the same object; assignable like a plain property.
    expect(entry.attributes).toBe(entry.attributes);
    entry.attributes = { cn: ['replaced'] };
    expect(entry.attributes).toEqual({ cn: ['replaced'] });
    // Each entry keeps its own state, though the accessors are shared.
    const other = recordEntry(encodeEntryRecord(bob), U2);
    expect(other).toEqual(bob);
    expect(entry.attributes).toEqual({ cn: ['replaced'] });
    expect(recordEntry(encodeEntryRecord(ann), U1)).toEqual(ann);
    // Shared accessors, not two new closures per entry: V8 keeps per-object accessor pairs alive
    // until a full collection, which raised a 100k-entry refresh's peak RSS by ~50 MB.
    const accessors = (e: Entry) => Object.getOwnPropertyDescriptor(e, 'attributes')!;
    expect(accessors(other).get).toBe(accessors(entry).get);
    expect(accessors(other).set).toBe(accessors(entry).set);
    expect(accessors(entry)).toMatchObject({ enumerable: true, configurable: true });
  });

  it('decode nothing until asked: a damaged record fails only when its attributes are read', () => {
    const record = encodeEntryRecord(bob);
    const damaged = record.slice(0, -1);
    const entry = recordEntry(damaged, U1);
    expect(entry.dn).toBe(bob.dn);
    expect(() => entry.attributes).toThrow(CorruptReplicaError);
  });
});
