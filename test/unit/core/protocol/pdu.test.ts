/**
 * The lean LDAP response decoder (packages/core/src/protocol/pdu.ts) on hand-built bytes.
 */
import { describe, expect, test } from 'vitest';
import { decodeMessage, encodeSearch } from '../../../../packages/core/src/protocol/pdu.js';
import { BerReader } from '../../../../packages/core/src/protocol/ber.js';
import { decodeRecord, recordToBer } from '../../../../packages/core/src/protocol/record.js';
import { MalformedBerError } from '../../../../packages/core/src/errors.js';
import type { Attributes } from '../../../../packages/core/src/sync/messages.js';
import { searchEntry, syncStateControl } from '../../../fixtures/fake-ldap.js';

const UUID = Buffer.alloc(16, 7);
const decode = (bytes: Buffer, binary: string[] = []) =>
  decodeMessage(bytes, 0, bytes.length, { binaryAttributes: new Set(binary) });
type Decoded = ReturnType<typeof decode>;
/** An entry decoded in full (without `records`, the decoder always gives attributes). */
const isDecodedEntry = (
  msg: Decoded,
): msg is Extract<Decoded, { kind: 'searchEntry' }> & { attributes: Attributes } =>
  msg.kind === 'searchEntry' && msg.attributes !== undefined;

describe('SearchResultEntry', () => {
  test('names are merged case-insensitively into the first spelling; values keep their order', () => {
    const msg = decode(
      searchEntry(
        3,
        'cn=a,dc=x',
        { cn: ['a'], mail: ['m1'], CN: ['b', 'c'], Mail: ['m2'] },
        syncStateControl(1, UUID),
      ),
    );
    expect(msg).toMatchObject({ kind: 'searchEntry', messageId: 3, dn: 'cn=a,dc=x' });
    if (msg.kind !== 'searchEntry') throw new Error('not an entry');
    expect(msg.attributes).toEqual({ cn: ['a', 'b', 'c'], mail: ['m1', 'm2'] });
  });

  test('the same names decode the same across entries, and binary declarations follow each call', () => {
    const bytes = searchEntry(
      1,
      'cn=a',
      { photo: [Buffer.from('abc')], cn: ['x'] },
      syncStateControl(1, UUID),
    );
    const asText = decode(bytes);
    const asBytes = decode(bytes, ['photo']);
    const again = decode(bytes);
    if (!isDecodedEntry(asText) || !isDecodedEntry(asBytes) || !isDecodedEntry(again)) {
      throw new Error('not entries');
    }
    expect(asText.attributes.photo).toEqual(['abc']);
    expect(asBytes.attributes.photo).toEqual([new Uint8Array([0x61, 0x62, 0x63])]);
    expect(again.attributes.photo).toEqual(['abc']);
  });

  test('invalid UTF-8 comes as exact bytes, valid UTF-8 as text, empty value sets stay', () => {
    const bad = Buffer.from([0xc3, 0x28, 0xff]);
    const msg = decode(
      searchEntry(1, 'cn=é', { cn: ['Zoë'], blob: [bad], empty: [] }, syncStateControl(1, UUID)),
    );
    if (!isDecodedEntry(msg)) throw new Error('not an entry');
    expect(msg.dn).toBe('cn=é');
    expect(msg.attributes.cn).toEqual(['Zoë']);
    expect(msg.attributes.blob).toEqual([new Uint8Array(bad)]);
    expect(msg.attributes.empty).toEqual([]);
  });

  test('a truncated entry is a MalformedBerError', () => {
    const bytes = searchEntry(1, 'cn=a', { cn: ['x'] }, syncStateControl(1, UUID));
    expect(() => decode(bytes.subarray(0, bytes.length - 5))).toThrow(MalformedBerError);
  });
});

describe('SearchResultEntry as a record (DecodeOptions.records)', () => {
  const asRecord = (bytes: Buffer, binary: string[] = []) =>
    decodeMessage(bytes, 0, bytes.length, { binaryAttributes: new Set(binary), records: true });

  test('the record decodes to exactly the entry the full decoder gives, without knowing the options', () => {
    const bad = Buffer.from([0xc3, 0x28, 0xff]);
    const attrs = {
      cn: ['Zoë', 'x'.repeat(300)],
      CN: ['merged'],
      blob: [bad],
      photo: [Buffer.from('abc')],
      empty: [],
    };
    for (const binary of [[], ['photo'], ['photo', 'cn']]) {
      const bytes = searchEntry(1, 'cn=é', attrs, syncStateControl(1, UUID));
      const full = decode(bytes, binary);
      const recorded = asRecord(bytes, binary);
      if (full.kind !== 'searchEntry' || recorded.kind !== 'searchEntry') throw new Error('not entries');
      expect(recorded.attributes).toBeUndefined();
      expect(recorded.dn).toBe('cn=é');
      const back = decodeRecord(recorded.record!);
      expect(back).toEqual({ dn: full.dn, attributes: full.attributes });
    }
  });

  test('a record is smaller than the entry, and its BER form is the entry as the wire sent it', () => {
    const attrs = { objectClass: ['top', 'person'], cn: ['Ada Lovelace'], description: ['x'.repeat(300)] };
    const bytes = searchEntry(1, 'cn=Ada Lovelace,dc=example', attrs, syncStateControl(1, UUID));
    const recorded = asRecord(bytes);
    if (recorded.kind !== 'searchEntry') throw new Error('not an entry');
    const ber = Buffer.from(recordToBer(recorded.record!));
    expect(bytes.includes(ber)).toBe(true);
    expect(ber.length).toBeGreaterThan(330);
    expect(recorded.record!.length).toBeLessThan(ber.length - 20);
  });

  test('records name attributes past the name table inline, and count hundreds of values', () => {
    // More distinct names than the process's name table holds (256): the later ones go inline.
    const attrs: Record<string, string[]> = { member: Array.from({ length: 300 }, (_, i) => `uid=u${i}`) };
    for (let i = 0; i < 300; i++) attrs[`x-record-test-${i}`] = [`v${i}`];
    const bytes = searchEntry(1, 'cn=many', attrs, syncStateControl(1, UUID));
    const full = decode(bytes);
    const recorded = asRecord(bytes);
    if (full.kind !== 'searchEntry' || recorded.kind !== 'searchEntry') throw new Error('not entries');
    expect(decodeRecord(recorded.record!)).toEqual({
      dn: full.dn,
      attributes: full.attributes,
    });
    expect(bytes.includes(Buffer.from(recordToBer(recorded.record!)))).toBe(true);
    expect(recorded.record!).toContain('x-record-test-299'); // inline
  });

  test('an entry without attributes has no record, and decoded (empty) attributes', () => {
    const recorded = asRecord(searchEntry(1, 'cn=a', {}, syncStateControl(1, UUID)));
    if (recorded.kind !== 'searchEntry') throw new Error('not an entry');
    expect(recorded.record).toBeUndefined();
    expect(recorded.attributes).toEqual({});
  });

  test('malformed entries are refused as the full decoder refuses them', () => {
    const bytes = searchEntry(1, 'cn=a', { cn: ['x'], sn: ['y'] }, syncStateControl(1, UUID));
    expect(() => asRecord(bytes.subarray(0, bytes.length - 5))).toThrow(MalformedBerError);
    // A value that is not an OCTET STRING.
    const forged = Buffer.from(bytes);
    forged[forged.indexOf(Buffer.from([0x04, 0x01, 0x79]))] = 0x02;
    expect(() => asRecord(forged)).toThrow(MalformedBerError);
    expect(() => decode(forged)).toThrow(MalformedBerError);
  });
});

test('an attribute named __proto__ is an own attribute, not a prototype change', () => {
  const attrs = Object.fromEntries([
    ['__proto__', ['x']],
    ['cn', ['a']],
  ]) as Record<string, string[]>;
  const msg = decode(searchEntry(1, 'cn=a', attrs, syncStateControl(1, UUID)));
  if (!isDecodedEntry(msg)) throw new Error('not an entry');
  expect(Object.getPrototypeOf(msg.attributes)).toBe(Object.prototype);
  expect(Object.keys(msg.attributes)).toEqual(['__proto__', 'cn']);
});

describe('SearchRequest', () => {
  /** sizeLimit and timeLimit of an encoded SearchRequest (RFC 4511 §4.5.1). */
  const limits = (bytes: Buffer): [number, number] => {
    const r = new BerReader(bytes);
    r.enter(0x30, 'LDAPMessage');
    r.readInteger(0x02, 'messageID');
    r.enter(0x63, 'SearchRequest');
    r.readString(0x04, 'baseObject');
    r.readInteger(0x0a, 'scope');
    r.readInteger(0x0a, 'derefAliases');
    return [r.readInteger(0x02, 'sizeLimit'), r.readInteger(0x02, 'timeLimit')];
  };
  const request = { base: 'dc=x', scope: 'sub', filter: '(cn=a)', attributes: [] } as const;

  test('carries the size and time limits asked for, and 0 (no limit) by default', () => {
    expect(limits(encodeSearch(1, request, []))).toEqual([0, 0]);
    expect(limits(encodeSearch(2, { ...request, sizeLimit: 25, timeLimit: 7 }, []))).toEqual([25, 7]);
  });
});
