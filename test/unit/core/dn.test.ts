/**
 * DN strings (packages/core/src/dn.ts, RFC 4514): parsing with escapes undone, and escaping that
 * parsing undoes exactly, whatever the value holds.
 */
import { describe, expect, it } from 'vitest';
import { escapeDNValue, parseDN } from '../../../packages/core/src/dn.js';

describe('parseDN', () => {
  it('splits RDNs leaf first and undoes escapes, so an escaped comma never splits', () => {
    expect(parseDN('uid=a\\,b,ou=people,dc=example')).toEqual([
      [{ type: 'uid', value: 'a,b' }],
      [{ type: 'ou', value: 'people' }],
      [{ type: 'dc', value: 'example' }],
    ]);
  });

  it('reads multi-valued RDNs, hex escapes (UTF-8), OIDs, hexstring values and spaces around separators', () => {
    expect(parseDN('cn=a+sn=b, ou=Caf\\C3\\A9 ,2.5.4.3=#04024869')).toEqual([
      [
        { type: 'cn', value: 'a' },
        { type: 'sn', value: 'b' },
      ],
      [{ type: 'ou', value: 'Café' }],
      [{ type: '2.5.4.3', value: '#04024869' }],
    ]);
  });

  it('gives no RDN for the empty (root) DN', () => {
    expect(parseDN('')).toEqual([]);
    expect(parseDN('  ')).toEqual([]);
  });

  it('throws a TypeError naming the DN for malformed input', () => {
    for (const bad of ['uid', 'uid=a,', '=a', '1x=a', 'uid=a\\', 'uid=a,ou']) {
      expect(() => parseDN(bad), bad).toThrow(TypeError);
    }
    expect(() => parseDN('nope')).toThrow(/Malformed DN "nope"/);
  });
});

describe('escapeDNValue', () => {
  const hostile = [
    'plain',
    'a,b',
    'a+b',
    'a;b',
    'a=b',
    'quote"d',
    '<angle>',
    'back\\slash',
    ' leading space',
    'trailing space ',
    '  two leading',
    '#hash first',
    'mid # hash',
    'nul\0inside',
    'Café ✓ 𝄞',
    ' ',
    '\\',
  ];

  it.each(hostile)('parseDN undoes it exactly: %j', (value) => {
    const dn = `cn=${escapeDNValue(value)},ou=x`;
    expect(parseDN(dn)).toEqual([[{ type: 'cn', value }], [{ type: 'ou', value: 'x' }]]);
  });
});
