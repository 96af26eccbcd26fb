/**
 * The one BER layer (packages/core/src/protocol/ber.ts): the writer on fixed vectors and length
 * boundaries, read back with the reader; the request encoders built on it.
 */
import { describe, expect, test } from 'vitest';
import {
  BerReader,
  BerWriter,
  ENUMERATED,
  OCTET_STRING,
  SEQUENCE,
  elementSize,
  readElement,
  writeHeader,
} from '../../../../packages/core/src/protocol/ber.js';
import {
  encodeAbandon,
  encodeExtended,
  encodeSaslBind,
  encodeSearch,
  encodeSimpleBind,
  encodeUnbind,
} from '../../../../packages/core/src/protocol/pdu.js';
import { MalformedBerError } from '../../../../packages/core/src/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('BerWriter', () => {
  test('integers take their shortest two’s-complement form', () => {
    const cases: [number, string][] = [
      [0, '020100'],
      [1, '020101'],
      [127, '02017f'],
      [128, '02020080'],
      [255, '020200ff'],
      [256, '02020100'],
      [-1, '0201ff'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [2147483647, '02047fffffff'],
      [2147483648, '02050080000000'],
    ];
    for (const [value, expected] of cases)
      expect(hex(new BerWriter().integer(value).toBuffer())).toBe(expected);
    expect(hex(new BerWriter().integer(2, ENUMERATED).toBuffer())).toBe('0a0102');
  });

  test('constructed lengths are the shortest form at every boundary, and read back', () => {
    for (const size of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
      const content = Buffer.alloc(size, 0x61);
      const w = new BerWriter(4)
        .start(SEQUENCE)
        .start(SEQUENCE)
        .bytes(OCTET_STRING, content)
        .end()
        .boolean(true)
        .end();
      const ber = w.toBuffer();
      const inner = elementSize(size);
      expect(ber.length).toBe(elementSize(elementSize(inner) + 3));
      const header = Buffer.alloc(6);
      expect(ber.subarray(0, writeHeader(header, 0, SEQUENCE, elementSize(inner) + 3))).toEqual(
        header.subarray(0, writeHeader(header, 0, SEQUENCE, elementSize(inner) + 3)),
      );
      const r = new BerReader(ber);
      const end = r.enter(SEQUENCE, 'outer');
      expect(end).toBe(ber.length);
      r.enter(SEQUENCE, 'inner');
      const [s, e] = r.readRaw(OCTET_STRING, 'content');
      expect(e - s).toBe(size);
      expect(ber.subarray(s, e).equals(content)).toBe(true);
      expect(r.readBoolean(0x01, 'flag')).toBe(true);
      expect(r.done).toBe(true);
    }
  });

  test('text is written as UTF-8; an unclosed element is refused', () => {
    expect(hex(new BerWriter().bytes(OCTET_STRING, 'é').toBuffer())).toBe('0402c3a9');
    expect(() => new BerWriter().start(SEQUENCE).toBuffer()).toThrow();
    expect(() => new BerWriter().end()).toThrow();
  });
});

describe('reading', () => {
  test('indefinite, over-long and overrunning lengths are MalformedBerError', () => {
    expect(() => readElement(Buffer.from('3080', 'hex'), 0, 2)).toThrow(MalformedBerError);
    expect(() => readElement(Buffer.from('30850000000001', 'hex'), 0, 7)).toThrow(MalformedBerError);
    expect(() => readElement(Buffer.from('300300', 'hex'), 0, 3)).toThrow(MalformedBerError);
    expect(() => readElement(Buffer.from('1f0100', 'hex'), 0, 3)).toThrow(MalformedBerError);
    expect(readElement(Buffer.from('048101ff', 'hex'), 0, 4)).toEqual({ tag: 4, at: 0, start: 3, end: 4 });
  });
});

describe('requests', () => {
  test('bind, SASL bind, search, abandon, extended and unbind have their RFC 4511 bytes', () => {
    expect(hex(encodeSimpleBind(1, 'cn=a', 'pw'))).toBe('30120201016' + '00d020103040463' + '6e3d6180027077');
    expect(hex(encodeSaslBind(2, 'EXTERNAL', ''))).toBe(
      '301802010260130201030400a30c0408' + Buffer.from('EXTERNAL').toString('hex') + '0400',
    );
    expect(hex(encodeAbandon(3, 2))).toBe('3006020103500102');
    expect(hex(encodeUnbind(4))).toBe('30050201044200');
    expect(hex(encodeExtended(5, '1.2', new Uint8Array([9])))).toBe('300d020105770880033' + '12e32810109');
    const search = encodeSearch(
      6,
      { base: 'dc=x', scope: 'sub', filter: '(cn=a)', attributes: ['cn'], sizeLimit: 0 },
      [{ oid: '1.2', critical: true, value: new Uint8Array([0x30, 0x00]) }],
    );
    expect(hex(search)).toBe(
      '3039020106' +
        '63240404' +
        Buffer.from('dc=x').toString('hex') +
        '0a01020a0100020100020100010100' +
        'a3070402636e0401' +
        '61' +
        '30040402636e' +
        'a00e300c0403312e320101ff04023000',
    );
  });
});
