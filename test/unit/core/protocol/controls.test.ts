import { describe, expect, it } from 'vitest';

import { MalformedBerError, ProtocolError, SyncreplError } from '../../../../packages/core/src/errors.js';
import {
  CANCEL_REQUEST_OID,
  SYNC_DONE_OID,
  SYNC_INFO_OID,
  SYNC_REQUEST_OID,
  SYNC_STATE_OID,
  decodeSyncDoneValue,
  decodeSyncInfoValue,
  decodeSyncStateValue,
  encodeCancelRequestValue,
  encodeSyncRequestValue,
} from '../../../../packages/core/src/protocol/controls.js';
import type { SyncInfoValue, SyncStateValue } from '../../../../packages/core/src/protocol/controls.js';
import {
  decodeSyncInfoValueAsn1,
  decodeSyncStateValueAsn1,
  encodeSyncDoneValue,
  encodeSyncInfoValue,
  encodeSyncStateValue,
} from '../../../fixtures/controls-asn1.js';

/** Bytes from a hex string with spaces, or from mixed hex strings and latin1 text parts. */
function hex(...parts: (string | { text: string })[]): Uint8Array {
  const buffers = parts.map((p) =>
    typeof p === 'string' ? Buffer.from(p.replace(/\s+/g, ''), 'hex') : Buffer.from(p.text, 'latin1'),
  );
  return new Uint8Array(Buffer.concat(buffers));
}
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const UUID_A = '00112233445566778899aabbccddeeff';
const UUID_B = 'ffeeddccbbaa99887766554433221100';
const UUID_C = '0123456789abcdef0123456789abcdef';
const uuidText = (h: string): string =>
  `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('OIDs', () => {
  it('are the RFC 4533 §2 and RFC 3909 ones', () => {
    expect(SYNC_REQUEST_OID).toBe('1.3.6.1.4.1.4203.1.9.1.1');
    expect(SYNC_STATE_OID).toBe('1.3.6.1.4.1.4203.1.9.1.2');
    expect(SYNC_DONE_OID).toBe('1.3.6.1.4.1.4203.1.9.1.3');
    expect(SYNC_INFO_OID).toBe('1.3.6.1.4.1.4203.1.9.1.4');
    expect(CANCEL_REQUEST_OID).toBe('1.3.6.1.1.8');
  });
});

describe('encodeSyncRequestValue (RFC 4533 §2.2)', () => {
  it('encodes refreshOnly without cookie, leaving reloadHint FALSE out', () => {
    expect(toHex(encodeSyncRequestValue({ mode: 'refreshOnly' }))).toBe('30030a0101');
    expect(toHex(encodeSyncRequestValue({ mode: 'refreshOnly', reloadHint: false }))).toBe('30030a0101');
  });

  it('encodes refreshAndPersist with a cookie and reloadHint TRUE', () => {
    const bytes = encodeSyncRequestValue({ mode: 'refreshAndPersist', cookie: 'rid=001', reloadHint: true });
    expect(toHex(bytes)).toBe(toHex(hex('30 0f 0a 01 03 04 07', { text: 'rid=001' }, '01 01 ff')));
  });

  it('carries an empty cookie as an empty OCTET STRING', () => {
    expect(toHex(encodeSyncRequestValue({ mode: 'refreshOnly', cookie: '' }))).toBe('30050a01010400');
  });

  it('writes every byte value of a binary cookie as is (one char per byte)', () => {
    const cookie = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const bytes = encodeSyncRequestValue({ mode: 'refreshOnly', cookie });
    // 30 82 01 07 | 0a 01 01 | 04 82 01 00 <256 bytes>
    expect(toHex(bytes.subarray(0, 11))).toBe('308201070a010104820100');
    expect(Buffer.from(bytes.subarray(11)).toString('latin1')).toBe(cookie);
  });

  it('refuses a cookie string that cannot be bytes', () => {
    expect(() => encodeSyncRequestValue({ mode: 'refreshOnly', cookie: 'caf\u00e9\u20ac' })).toThrow(
      RangeError,
    );
  });
});

describe('encodeCancelRequestValue (RFC 3909 §2.1)', () => {
  it('encodes SEQUENCE { cancelID MessageID }', () => {
    expect(toHex(encodeCancelRequestValue(5))).toBe('3003020105');
    expect(toHex(encodeCancelRequestValue(0))).toBe('3003020100');
    expect(toHex(encodeCancelRequestValue(128))).toBe('300402020080');
    expect(toHex(encodeCancelRequestValue(2147483647))).toBe('300602047fffffff');
  });

  it('refuses what is not a MessageID', () => {
    for (const id of [-1, 1.5, 2147483648, Number.NaN]) {
      expect(() => encodeCancelRequestValue(id)).toThrow(RangeError);
    }
  });
});

const stateDecoders = [
  ['hand-rolled decodeSyncStateValue', decodeSyncStateValue],
  ['asn1js decodeSyncStateValueAsn1', decodeSyncStateValueAsn1],
] as const;

describe.each(stateDecoders)('%s (RFC 4533 §2.3)', (_name, decode) => {
  it('decodes each state with a lower-case 8-4-4-4-12 entryUUID', () => {
    const states = ['present', 'add', 'modify', 'delete'] as const;
    states.forEach((state, i) => {
      expect(decode(hex(`30 15 0a 01 0${i} 04 10 ${UUID_A}`))).toEqual({
        state,
        entryUUID: uuidText(UUID_A),
      });
    });
    expect(decode(hex(`30 15 0a 01 01 04 10 ${UUID_B}`)).entryUUID).toBe(
      'ffeeddcc-bbaa-9988-7766-554433221100',
    );
  });

  it('decodes the optional cookie as one char per byte', () => {
    expect(decode(hex(`30 1e 0a 01 02 04 10 ${UUID_C} 04 07`, { text: 'rid=001' }))).toEqual({
      state: 'modify',
      entryUUID: uuidText(UUID_C),
      cookie: 'rid=001',
    });
    expect(decode(hex(`30 17 0a 01 01 04 10 ${UUID_C} 04 00`)).cookie).toBe('');
    const binary = decode(hex(`30 19 0a 01 01 04 10 ${UUID_C} 04 02 ff 80`));
    expect(binary.cookie).toBe('\u00ff\u0080');
  });

  it('accepts long-form lengths (BER)', () => {
    expect(decode(hex(`30 81 16 0a 01 01 04 81 10 ${UUID_A}`)).state).toBe('add');
    expect(decode(hex(`30 84 00 00 00 15 0a 01 01 04 10 ${UUID_A}`)).state).toBe('add');
  });

  it('round-trips every byte of a long binary cookie', () => {
    const cookie = String.fromCharCode(...Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff));
    const encoded = encodeSyncStateValue({ state: 'delete', entryUUID: uuidText(UUID_B), cookie });
    expect(decode(encoded)).toEqual({ state: 'delete', entryUUID: uuidText(UUID_B), cookie });
  });

  it.each([
    ['a 15-octet entryUUID', `30 14 0a 01 01 04 0f ${UUID_A.slice(2)}`],
    ['a 17-octet entryUUID', `30 16 0a 01 01 04 11 ${UUID_A}00`],
    ['an empty entryUUID', '30 05 0a 01 01 04 00'],
    ['state 4', `30 15 0a 01 04 04 10 ${UUID_A}`],
    ['state -1', `30 15 0a 01 ff 04 10 ${UUID_A}`],
    ['state 256 (two octets)', `30 16 0a 02 01 00 04 10 ${UUID_A}`],
  ])('throws ProtocolError for %s', (_what, bytes) => {
    expect(() => decode(hex(bytes))).toThrow(ProtocolError);
  });

  it.each([
    ['empty input', ''],
    ['a lone tag', '30'],
    ['truncated content', `30 15 0a 01 01 04 10 ${UUID_A.slice(0, 30)}`],
    ['trailing bytes', `30 15 0a 01 01 04 10 ${UUID_A} 00`],
    ['a SET instead of a SEQUENCE', `31 15 0a 01 01 04 10 ${UUID_A}`],
    ['the indefinite length form', `30 80 0a 01 01 04 10 ${UUID_A} 00 00`],
    [
      'a constructed OCTET STRING',
      `30 19 0a 01 01 24 14 04 08 ${UUID_A.slice(0, 16)} 04 08 ${UUID_A.slice(16)}`,
    ],
    ['an INTEGER state', `30 15 02 01 01 04 10 ${UUID_A}`],
    ['a non-minimal ENUMERATED', `30 16 0a 02 00 01 04 10 ${UUID_A}`],
    ['an empty ENUMERATED', `30 14 0a 00 04 10 ${UUID_A}`],
    ['a missing entryUUID', '30 03 0a 01 01'],
    ['elements in the wrong order', `30 15 04 10 ${UUID_A} 0a 01 01`],
    ['a fourth element', `30 18 0a 01 01 04 10 ${UUID_A} 04 00 04 00`],
    ['a BOOLEAN where the cookie goes', `30 18 0a 01 01 04 10 ${UUID_A} 01 01 ff`],
    ['a length field of 5 octets', `30 85 00 00 00 00 15 0a 01 01 04 10 ${UUID_A}`],
    ['the reserved length 0xff', `30 ff 0a 01 01 04 10 ${UUID_A}`],
    ['an element longer than its SEQUENCE', `30 05 0a 01 01 04 10 ${UUID_A}`],
    ['garbage', 'de ad be ef'],
  ])('throws MalformedBerError for %s', (_what, bytes) => {
    expect(() => decode(hex(bytes))).toThrow(MalformedBerError);
  });

  it('reports a bad UUID only after checking the whole value is well formed', () => {
    // 15-octet UUID, then a truncated cookie: the structure is the first fault.
    expect(() => decode(hex(`30 16 0a 01 01 04 0f ${UUID_A.slice(2)} 04 05 41`))).toThrow(MalformedBerError);
  });
});

describe('decodeSyncDoneValue (RFC 4533 §2.4)', () => {
  it('takes an absent or empty value as all defaults', () => {
    expect(decodeSyncDoneValue(undefined)).toEqual({ refreshDeletes: false });
    expect(decodeSyncDoneValue(new Uint8Array(0))).toEqual({ refreshDeletes: false });
    expect(decodeSyncDoneValue(hex('30 00'))).toEqual({ refreshDeletes: false });
  });

  it('decodes cookie and refreshDeletes (DEFAULT FALSE)', () => {
    expect(decodeSyncDoneValue(hex('30 09 04 07', { text: 'rid=001' }))).toEqual({
      cookie: 'rid=001',
      refreshDeletes: false,
    });
    expect(decodeSyncDoneValue(hex('30 03 01 01 ff'))).toEqual({ refreshDeletes: true });
    expect(decodeSyncDoneValue(hex('30 03 01 01 00'))).toEqual({ refreshDeletes: false });
    expect(decodeSyncDoneValue(hex('30 0c 04 07', { text: 'rid=001' }, '01 01 ff'))).toEqual({
      cookie: 'rid=001',
      refreshDeletes: true,
    });
  });

  it.each([
    ['garbage', 'ff'],
    ['a context tag instead of a SEQUENCE', 'a0 00'],
    ['BOOLEAN before cookie', '30 05 01 01 ff 04 00'],
    ['two cookies', '30 04 04 00 04 00'],
    ['a two-octet BOOLEAN', '30 04 01 02 00 ff'],
    ['truncation', '30 09 04 07 41'],
    ['trailing bytes', '30 00 00'],
  ])('throws MalformedBerError for %s', (_what, bytes) => {
    expect(() => decodeSyncDoneValue(hex(bytes))).toThrow(MalformedBerError);
  });
});

const infoDecoders = [
  ['hand-rolled decodeSyncInfoValue', decodeSyncInfoValue],
  ['asn1js decodeSyncInfoValueAsn1', decodeSyncInfoValueAsn1],
] as const;

describe.each(infoDecoders)(
  '%s (RFC 4533 §2.5): CHOICE dispatched on the exact implicit tag',
  (_n, decodeInfo) => {
    it('newcookie [0]: primitive 0x80 holding the cookie octets', () => {
      const cookie = 'rid=001,csn=20240101120000.123456Z#000000#001#000000';
      expect(decodeInfo(hex(`80 ${cookie.length.toString(16)}`, { text: cookie }))).toEqual({
        kind: 'newcookie',
        cookie,
      });
      expect(decodeInfo(hex('80 00'))).toEqual({ kind: 'newcookie', cookie: '' });
    });

    it('refreshDelete [1] with refreshDone absent defaults to TRUE', () => {
      expect(decodeInfo(hex('a1 00'))).toEqual({ kind: 'refreshDelete', refreshDone: true });
      expect(decodeInfo(hex('a1 09 04 07', { text: 'rid=001' }))).toEqual({
        kind: 'refreshDelete',
        cookie: 'rid=001',
        refreshDone: true,
      });
    });

    it('refreshDelete [1] with refreshDone explicitly FALSE (and explicitly TRUE)', () => {
      expect(decodeInfo(hex('a1 03 01 01 00'))).toEqual({ kind: 'refreshDelete', refreshDone: false });
      expect(decodeInfo(hex('a1 0c 04 07', { text: 'rid=001' }, '01 01 00'))).toEqual({
        kind: 'refreshDelete',
        cookie: 'rid=001',
        refreshDone: false,
      });
      expect(decodeInfo(hex('a1 03 01 01 ff'))).toEqual({ kind: 'refreshDelete', refreshDone: true });
    });

    it('refreshPresent [2], refreshDone absent (TRUE) and FALSE', () => {
      expect(decodeInfo(hex('a2 00'))).toEqual({ kind: 'refreshPresent', refreshDone: true });
      expect(decodeInfo(hex('a2 03 01 01 00'))).toEqual({
        kind: 'refreshPresent',
        refreshDone: false,
      });
      expect(decodeInfo(hex('a2 05 04 03', { text: 'abc' }))).toEqual({
        kind: 'refreshPresent',
        cookie: 'abc',
        refreshDone: true,
      });
    });

    it('syncIdSet [3] with refreshDeletes TRUE and several UUIDs is NOT a refreshDelete (python-ldap regression)', () => {
      // a3 | 04 07 "rid=001" | 01 01 ff | 31 36 (04 10 uuid) x3
      const bytes = hex(
        'a3 44 04 07',
        { text: 'rid=001' },
        `01 01 ff 31 36 04 10 ${UUID_A} 04 10 ${UUID_B} 04 10 ${UUID_C}`,
      );
      const info = decodeInfo(bytes);
      expect(info).toEqual({
        kind: 'syncIdSet',
        cookie: 'rid=001',
        refreshDeletes: true,
        entryUUIDs: [uuidText(UUID_A), uuidText(UUID_B), uuidText(UUID_C)],
      });
      expect(info.kind).not.toBe('refreshDelete');
    });

    it('syncIdSet [3] with refreshDeletes absent defaults to FALSE (present UUIDs)', () => {
      expect(decodeInfo(hex(`a3 26 31 24 04 10 ${UUID_A} 04 10 ${UUID_B}`))).toEqual({
        kind: 'syncIdSet',
        refreshDeletes: false,
        entryUUIDs: [uuidText(UUID_A), uuidText(UUID_B)],
      });
      expect(decodeInfo(hex('a3 05 01 01 00 31 00'))).toEqual({
        kind: 'syncIdSet',
        refreshDeletes: false,
        entryUUIDs: [],
      });
    });

    it('decodes a large syncIdSet', () => {
      const entryUUIDs = Array.from({ length: 5000 }, (_, i) => uuidText(i.toString(16).padStart(32, '0')));
      const bytes = encodeSyncInfoValue({ kind: 'syncIdSet', refreshDeletes: true, entryUUIDs });
      expect(decodeInfo(bytes)).toEqual({ kind: 'syncIdSet', refreshDeletes: true, entryUUIDs });
    });

    it.each([
      ['[0] constructed (0xa0)', 'a0 02 04 00'],
      ['[1] primitive (0x81)', '81 00'],
      ['[4] (0xa4)', 'a4 00'],
      ['a universal SEQUENCE', '30 00'],
      ['an explicitly tagged SEQUENCE inside [1]', 'a1 05 30 03 01 01 00'],
      ['a syncIdSet without its SET', 'a3 03 01 01 ff'],
      ['a syncIdSet with an element after the SET', 'a3 04 31 00 04 00'],
      ['a SEQUENCE OF instead of SET OF', `a3 14 30 12 04 10 ${UUID_A}`],
      ['a refreshDelete holding a SET', 'a1 02 31 00'],
      ['a refreshDone before the cookie', 'a1 05 01 01 00 04 00'],
      ['a BOOLEAN inside the SET', `a3 17 31 15 04 10 ${UUID_A} 01 01 ff`],
      ['a truncated newcookie', '80 05 41 42'],
      ['trailing bytes', 'a1 00 00'],
      ['empty input', ''],
    ])('throws MalformedBerError for %s', (_what, bytes) => {
      expect(() => decodeInfo(hex(bytes))).toThrow(MalformedBerError);
    });

    it('throws ProtocolError for a syncUUID that is not 16 octets', () => {
      expect(() => decodeInfo(hex(`a3 25 31 23 04 10 ${UUID_A} 04 0f ${UUID_B.slice(2)}`))).toThrow(
        ProtocolError,
      );
    });
  },
);

describe('encoders round-trip through the decoders', () => {
  const infos: SyncInfoValue[] = [
    { kind: 'newcookie', cookie: 'rid=001' },
    { kind: 'refreshDelete', refreshDone: true },
    { kind: 'refreshDelete', cookie: '\u0000\u00ff', refreshDone: false },
    { kind: 'refreshPresent', cookie: 'x', refreshDone: true },
    { kind: 'refreshPresent', refreshDone: false },
    { kind: 'syncIdSet', refreshDeletes: false, entryUUIDs: [] },
    {
      kind: 'syncIdSet',
      cookie: 'c',
      refreshDeletes: true,
      entryUUIDs: [uuidText(UUID_A), uuidText(UUID_C)],
    },
  ];
  it.each(infos)('syncInfoValue %j', (info) => {
    expect(decodeSyncInfoValue(encodeSyncInfoValue(info))).toEqual(info);
  });

  it('uses the implicit tags on the wire', () => {
    expect(toHex(encodeSyncInfoValue({ kind: 'newcookie', cookie: 'A' }))).toBe('800141');
    expect(toHex(encodeSyncInfoValue({ kind: 'refreshDelete', refreshDone: true }))).toBe('a100');
    expect(toHex(encodeSyncInfoValue({ kind: 'refreshPresent', refreshDone: false }))).toBe('a203010100');
    expect(toHex(encodeSyncInfoValue({ kind: 'syncIdSet', refreshDeletes: true, entryUUIDs: [] }))).toBe(
      'a3050101ff3100',
    );
  });

  it('Sync Done and Sync State values', () => {
    expect(decodeSyncDoneValue(encodeSyncDoneValue({ refreshDeletes: false }))).toEqual({
      refreshDeletes: false,
    });
    expect(decodeSyncDoneValue(encodeSyncDoneValue({ cookie: 'k', refreshDeletes: true }))).toEqual({
      cookie: 'k',
      refreshDeletes: true,
    });
    const state: SyncStateValue = { state: 'present', entryUUID: uuidText(UUID_B) };
    expect(decodeSyncStateValue(encodeSyncStateValue(state))).toEqual(state);
    expect(() => encodeSyncStateValue({ state: 'add', entryUUID: 'not-a-uuid' })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------
// Robustness: mutated and truncated encodings

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isCookie = (c: unknown): boolean => c === undefined || typeof c === 'string';

function wellTypedState(v: unknown): boolean {
  const s = v as SyncStateValue;
  return (
    ['present', 'add', 'modify', 'delete'].includes(s.state) &&
    UUID_RE.test(s.entryUUID) &&
    isCookie(s.cookie) &&
    Object.keys(s).every((k) => ['state', 'entryUUID', 'cookie'].includes(k))
  );
}
function wellTypedDone(v: unknown): boolean {
  const d = v as { cookie?: unknown; refreshDeletes: unknown };
  return typeof d.refreshDeletes === 'boolean' && isCookie(d.cookie);
}
function wellTypedInfo(v: unknown): boolean {
  const i = v as SyncInfoValue;
  switch (i.kind) {
    case 'newcookie':
      return typeof i.cookie === 'string';
    case 'refreshDelete':
    case 'refreshPresent':
      return typeof i.refreshDone === 'boolean' && isCookie(i.cookie);
    case 'syncIdSet':
      return (
        typeof i.refreshDeletes === 'boolean' &&
        isCookie(i.cookie) &&
        i.entryUUIDs.every((u) => UUID_RE.test(u))
      );
    default:
      return false;
  }
}

function mutate(input: Uint8Array, rand: () => number): Uint8Array {
  const bytes = Array.from(input);
  const pick = (n: number): number => Math.floor(rand() * n);
  const edits = 1 + pick(3);
  for (let e = 0; e < edits; e++) {
    const at = pick(bytes.length + 1);
    switch (pick(7)) {
      case 0: // flip one bit
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << pick(8);
        break;
      case 1: // random byte
        if (bytes.length > 0) bytes[at % bytes.length] = pick(256);
        break;
      case 2: // truncate
        bytes.length = at;
        break;
      case 3: // insert
        bytes.splice(at, 0, pick(256));
        break;
      case 4: // delete
        bytes.splice(at, 1);
        break;
      case 5: // interesting values at a length or tag position
        if (bytes.length > 0)
          bytes[at % bytes.length] = [0x00, 0x7f, 0x80, 0x81, 0x84, 0x85, 0xff, 0x30][pick(8)]!;
        break;
      default: // duplicate a slice
        bytes.splice(at, 0, ...bytes.slice(pick(bytes.length + 1), pick(bytes.length + 1)));
    }
  }
  return new Uint8Array(bytes);
}

function outcome(
  decode: (b: Uint8Array) => unknown,
  bytes: Uint8Array,
): { value?: unknown; error?: unknown } {
  try {
    return { value: decode(bytes) };
  } catch (error) {
    return { error };
  }
}

const stateSeeds = [
  encodeSyncStateValue({ state: 'add', entryUUID: uuidText(UUID_A) }),
  encodeSyncStateValue({ state: 'delete', entryUUID: uuidText(UUID_B), cookie: 'rid=001,csn=x' }),
  hex(`30 81 17 0a 01 03 04 10 ${UUID_C} 04 00`),
];
const doneSeeds = [hex('30 00'), encodeSyncDoneValue({ cookie: 'rid=002', refreshDeletes: true })];
const infoSeeds = [
  encodeSyncInfoValue({ kind: 'newcookie', cookie: 'rid=003' }),
  hex('a1 03 01 01 00'),
  encodeSyncInfoValue({ kind: 'refreshPresent', cookie: 'abc', refreshDone: false }),
  encodeSyncInfoValue({
    kind: 'syncIdSet',
    cookie: 'z',
    refreshDeletes: true,
    entryUUIDs: [uuidText(UUID_A), uuidText(UUID_B)],
  }),
];

describe('malformed input never escapes as anything but a SyncreplError', () => {
  const targets = [
    ['decodeSyncStateValue', decodeSyncStateValue, stateSeeds, wellTypedState],
    ['decodeSyncStateValueAsn1', decodeSyncStateValueAsn1, stateSeeds, wellTypedState],
    ['decodeSyncDoneValue', decodeSyncDoneValue, doneSeeds, wellTypedDone],
    ['decodeSyncInfoValue', decodeSyncInfoValue, infoSeeds, wellTypedInfo],
    ['decodeSyncInfoValueAsn1', decodeSyncInfoValueAsn1, infoSeeds, wellTypedInfo],
  ] as const;

  it.each(targets)(
    '%s: 2,000 mutations each decode well typed or throw MalformedBer/Protocol',
    (_n, decode, seeds, ok) => {
      const rand = rng(0x4533);
      let decoded = 0;
      let thrown = 0;
      for (let i = 0; i < 2000; i++) {
        const input = mutate(seeds[i % seeds.length]!, rand);
        const result = outcome(decode as (b: Uint8Array) => unknown, input);
        if ('value' in result) {
          expect(ok(result.value), `bad value for ${toHex(input)}`).toBe(true);
          decoded++;
        } else {
          const error = result.error;
          expect(error, `unexpected ${String(error)} for ${toHex(input)}`).toBeInstanceOf(SyncreplError);
          expect(error instanceof MalformedBerError || error instanceof ProtocolError).toBe(true);
          thrown++;
        }
      }
      expect(decoded + thrown).toBe(2000);
      expect(thrown).toBeGreaterThan(100);
    },
  );

  it('also survives purely random bytes', () => {
    const rand = rng(7);
    for (let i = 0; i < 2000; i++) {
      const input = new Uint8Array(
        Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)),
      );
      for (const decode of [
        decodeSyncStateValue,
        decodeSyncStateValueAsn1,
        decodeSyncDoneValue,
        decodeSyncInfoValue,
      ]) {
        const result = outcome(decode, input);
        if ('error' in result) expect(result.error).toBeInstanceOf(SyncreplError);
      }
    }
  });
});

describe('the hand-rolled Sync State decoder agrees with the asn1js one', () => {
  it('on 30,000 generated valid and mutated values', () => {
    const rand = rng(2006);
    const states = ['present', 'add', 'modify', 'delete'] as const;
    let valid = 0;
    let malformed = 0;
    let protocol = 0;
    for (let i = 0; i < 30_000; i++) {
      const uuid = Array.from({ length: 16 }, () => Math.floor(rand() * 256));
      const cookie =
        rand() < 0.5
          ? undefined
          : String.fromCharCode(
              ...Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)),
            );
      const seed = encodeSyncStateValue({
        state: states[i % 4]!,
        entryUUID: uuidText(Buffer.from(uuid).toString('hex')),
        ...(cookie === undefined ? {} : { cookie }),
      });
      const input = i % 5 === 0 ? seed : mutate(seed, rand);
      const fast = outcome(decodeSyncStateValue, input);
      const reference = outcome(decodeSyncStateValueAsn1, input);
      if ('value' in reference) {
        expect(fast, `for ${toHex(input)}`).toEqual(reference);
        valid++;
      } else {
        expect(fast.error?.constructor, `for ${toHex(input)}`).toBe(reference.error?.constructor);
        if (reference.error instanceof ProtocolError) protocol++;
        else malformed++;
      }
    }
    // The generator must exercise all three outcomes.
    expect(valid).toBeGreaterThan(6000);
    expect(malformed).toBeGreaterThan(1000);
    expect(protocol).toBeGreaterThan(50);
  });
});

describe('the hand-rolled Sync Info decoder agrees with the asn1js one', () => {
  it('on 20,000 generated valid and mutated values of all four alternatives', () => {
    const rand = rng(4533);
    const randomUuid = (): string =>
      uuidText(Buffer.from(Array.from({ length: 16 }, () => Math.floor(rand() * 256))).toString('hex'));
    const randomCookie = (): string | undefined =>
      rand() < 0.4
        ? undefined
        : String.fromCharCode(
            ...Array.from({ length: Math.floor(rand() * 60) }, () => Math.floor(rand() * 256)),
          );
    const withCookie = <T extends object>(v: T, cookie: string | undefined): T =>
      cookie === undefined ? v : { ...v, cookie };
    const generate = (i: number): SyncInfoValue => {
      switch (i % 4) {
        case 0:
          return { kind: 'newcookie', cookie: randomCookie() ?? '' };
        case 1:
          return withCookie({ kind: 'refreshDelete', refreshDone: rand() < 0.5 }, randomCookie());
        case 2:
          return withCookie({ kind: 'refreshPresent', refreshDone: rand() < 0.5 }, randomCookie());
        default:
          return withCookie(
            {
              kind: 'syncIdSet',
              refreshDeletes: rand() < 0.5,
              entryUUIDs: Array.from({ length: Math.floor(rand() * 6) }, randomUuid),
            },
            randomCookie(),
          );
      }
    };
    // A syncIdSet whose syncUUIDs have random sizes, some of them not 16 (RFC 4533 §2.1.1).
    const tlv = (tag: number, content: number[]): number[] => {
      const n = content.length;
      const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
      return [tag, ...len, ...content];
    };
    const oddSizedIdSet = (): Uint8Array => {
      const members = Array.from({ length: 1 + Math.floor(rand() * 4) }, () =>
        tlv(
          0x04,
          Array.from({ length: rand() < 0.5 ? 16 : Math.floor(rand() * 20) }, () => Math.floor(rand() * 256)),
        ),
      );
      return new Uint8Array(
        tlv(0xa3, [...(rand() < 0.5 ? [0x01, 0x01, 0xff] : []), ...tlv(0x31, members.flat())]),
      );
    };
    const counts = { valid: 0, malformed: 0, protocol: 0 };
    for (let i = 0; i < 20_000; i++) {
      const seed = i % 10 === 9 ? oddSizedIdSet() : encodeSyncInfoValue(generate(i));
      const input = i % 5 === 0 ? seed : mutate(seed, rand);
      const fast = outcome(decodeSyncInfoValue, input);
      const reference = outcome(decodeSyncInfoValueAsn1, input);
      if ('value' in reference) {
        expect(fast, `for ${toHex(input)}`).toEqual(reference);
        counts.valid++;
      } else {
        expect(fast.error?.constructor, `for ${toHex(input)}`).toBe(reference.error?.constructor);
        if (reference.error instanceof ProtocolError) counts.protocol++;
        else counts.malformed++;
      }
    }
    expect(counts.valid).toBeGreaterThan(4000);
    expect(counts.malformed).toBeGreaterThan(1000);
    expect(counts.protocol).toBeGreaterThan(20);
  });
});
