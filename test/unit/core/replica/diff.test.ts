import { describe, expect, it } from 'vitest';
import { diffAttributes, isEmptyDiff, valueKey } from '../../../../packages/core/src/replica/diff.js';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('diffAttributes', () => {
  it('is empty for equal attributes', () => {
    const diff = diffAttributes({ cn: ['Ann'], mail: ['a@x', 'b@x'] }, { cn: ['Ann'], mail: ['a@x', 'b@x'] });
    expect(diff).toEqual({});
    expect(isEmptyDiff(diff)).toBe(true);
  });

  it('lists added and removed values of a multi-valued attribute, in entry order', () => {
    const diff = diffAttributes({ mail: ['a@x', 'b@x', 'c@x'] }, { mail: ['d@x', 'b@x', 'e@x'] });
    expect(diff).toEqual({ mail: { added: ['d@x', 'e@x'], removed: ['a@x', 'c@x'] } });
    expect(isEmptyDiff(diff)).toBe(false);
  });

  it('ignores the order of values (they are a set)', () => {
    expect(diffAttributes({ mail: ['a@x', 'b@x'] }, { mail: ['b@x', 'a@x'] })).toEqual({});
  });

  it('counts a value sent twice once', () => {
    expect(diffAttributes({ mail: ['a@x'] }, { mail: ['a@x', 'a@x'] })).toEqual({});
    expect(diffAttributes({ mail: [] }, { mail: ['b@x', 'b@x'] })).toEqual({
      mail: { added: ['b@x'], removed: [], appeared: true },
    });
  });

  it('marks attributes that appeared or vanished', () => {
    expect(diffAttributes({ cn: ['Ann'], sn: ['Lee'] }, { cn: ['Ann'], mail: ['a@x'] })).toEqual({
      mail: { added: ['a@x'], removed: [], appeared: true },
      sn: { added: [], removed: ['Lee'], vanished: true },
    });
  });

  it('treats an attribute without values as absent', () => {
    expect(diffAttributes({ cn: ['Ann'], mail: [] }, { cn: ['Ann'] })).toEqual({});
    expect(diffAttributes({ mail: ['a@x'] }, { mail: [] })).toEqual({
      mail: { added: [], removed: ['a@x'], vanished: true },
    });
  });

  it('compares names case-insensitively and keys the diff by the new spelling', () => {
    expect(diffAttributes({ objectclass: ['top'] }, { objectClass: ['top'] })).toEqual({});
    expect(diffAttributes({ MAIL: ['a@x'] }, { mail: ['b@x'] })).toEqual({
      mail: { added: ['b@x'], removed: ['a@x'] },
    });
    // Vanished: only the old spelling exists.
    expect(diffAttributes({ MAIL: ['a@x'] }, {})).toEqual({
      MAIL: { added: [], removed: ['a@x'], vanished: true },
    });
  });

  it('compares values byte-exactly, without a matching rule', () => {
    expect(diffAttributes({ cn: ['Ann'] }, { cn: ['ann'] })).toEqual({
      cn: { added: ['ann'], removed: ['Ann'] },
    });
    expect(diffAttributes({ cn: ['Ann '] }, { cn: ['Ann'] })).toEqual({
      cn: { added: ['Ann'], removed: ['Ann '] },
    });
  });

  it('equates a string and bytes with the same UTF-8 encoding', () => {
    expect(diffAttributes({ cn: ['José'] }, { cn: [utf8('José')] })).toEqual({});
    expect(diffAttributes({ cn: [utf8('plain')] }, { cn: ['plain'] })).toEqual({});
    expect(diffAttributes({ cn: ['é'] }, { cn: [bytes(0xe9)] })).toEqual({
      cn: { added: [bytes(0xe9)], removed: ['é'] },
    });
  });

  it('compares binary values by content', () => {
    const photo = bytes(0xff, 0xd8, 0xff, 0x00, 0x80);
    expect(
      diffAttributes({ jpegPhoto: [photo] }, { jpegPhoto: [bytes(0xff, 0xd8, 0xff, 0x00, 0x80)] }),
    ).toEqual({});
    const changed = bytes(0xff, 0xd8, 0xff, 0x00, 0x81);
    expect(diffAttributes({ jpegPhoto: [photo] }, { jpegPhoto: [changed] })).toEqual({
      jpegPhoto: { added: [changed], removed: [photo] },
    });
  });

  it('keeps an attribute named like an Object.prototype member as an own property', () => {
    const diff = diffAttributes({}, { constructor: ['x'], ['__proto__']: ['y'] });
    expect(Object.keys(diff).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(diff)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(diff, '__proto__')?.value).toEqual({
      added: ['y'],
      removed: [],
      appeared: true,
    });
  });

  it('merges two spellings of one name in the same entry', () => {
    expect(diffAttributes({ mail: ['a@x'], MAIL: ['b@x'] }, { mail: ['b@x', 'a@x'] })).toEqual({});
  });

  it('is JSON-serialisable', () => {
    const diff = diffAttributes({ cn: ['Ann'] }, { cn: ['Anne'], sn: ['Lee'] });
    expect(JSON.parse(JSON.stringify(diff))).toEqual(diff);
  });
});

describe('valueKey', () => {
  it('is one char per UTF-8 byte, so strings and bytes share one key space', () => {
    expect(valueKey('abc')).toBe('abc');
    expect(valueKey('é')).toBe(valueKey(bytes(0xc3, 0xa9)));
    expect(valueKey('é')).not.toBe(valueKey(bytes(0xe9)));
    expect(valueKey(bytes(0x00, 0x80, 0xff)).length).toBe(3);
  });
});
