import { describe, expect, it } from 'vitest';

import {
  CookieGuard,
  compareCsn,
  cookieAdvances,
  is389DsCookie,
  isCsn,
  parseCookie,
} from '../../../../packages/core/src/protocol/cookie.js';

const csn = (time: string, sid: string, count = '000000'): string => `${time}Z#${count}#${sid}#000000`;
const T1 = '20240101120000.000000';
const T2 = '20240101120000.123456';
const T3 = '20240101120001.000000';
const T4 = '20250101000000.000000';

describe('is389DsCookie', () => {
  it('matches the native 389-ds cookie, not OpenLDAP or compat cookies', () => {
    expect(
      is389DsCookie(
        'localhost:389#cn=reader,dc=example,dc=com:ou=people,dc=example,dc=com:(objectClass=*)#5',
      ),
    ).toBe(true);
    expect(is389DsCookie('ldap.example.com:636#:dc=example:(uid=*)#0')).toBe(true);
    expect(is389DsCookie('rid=000,csn=21000101010115.000000Z#000000#000#000000')).toBe(false);
    expect(is389DsCookie('rid=000,csn=20240101120000.000000Z#000000#001#000000')).toBe(false);
    expect(is389DsCookie('a#b#c')).toBe(false);
    expect(is389DsCookie('opaque')).toBe(false);
    expect(is389DsCookie(undefined)).toBe(false);
  });
});

describe('parseCookie', () => {
  it.each([
    ['one CSN', `rid=001,csn=${csn(T1, '000')}`, { rid: '001', csns: new Map([['000', csn(T1, '000')]]) }],
    [
      'rid, sid and several CSNs',
      `rid=001,sid=002,csn=${csn(T2, '001')};${csn(T3, '002')}`,
      {
        rid: '001',
        sid: '002',
        csns: new Map([
          ['001', csn(T2, '001')],
          ['002', csn(T3, '002')],
        ]),
      },
    ],
    [
      'OpenLDAP 2.5+ delcsn',
      `rid=123,csn=${csn(T1, '001')},delcsn=${csn(T1, '001')}`,
      { rid: '123', csns: new Map([['001', csn(T1, '001')]]), delcsn: csn(T1, '001') },
    ],
    ['a bare rid (empty database)', 'rid=000', { rid: '000', csns: new Map() }],
    ['csn without rid', `csn=${csn(T1, '00a')}`, { csns: new Map([['00a', csn(T1, '00a')]]) }],
    [
      'upper-case hex, keyed lower-case',
      `rid=001,csn=${csn(T1, '00A', '00000F')}`,
      { rid: '001', csns: new Map([['00a', csn(T1, '00A', '00000F')]]) },
    ],
    [
      'the same SID twice: the newer wins',
      `rid=001,csn=${csn(T3, '001')};${csn(T1, '001')}`,
      { rid: '001', csns: new Map([['001', csn(T3, '001')]]) },
    ],
  ])('parses %s', (_what, cookie, expected) => {
    expect(parseCookie(cookie)).toEqual(expected);
  });

  it.each([
    ['an empty string', ''],
    ['an opaque binary cookie', '\u0000\u00ff\u0012'],
    ['a cookie of another server', 'changenumber=42'],
    ['an unknown field', `rid=001,csn=${csn(T1, '001')},foo=bar`],
    ['a repeated field', `rid=001,rid=002,csn=${csn(T1, '001')}`],
    ['a bad rid', `rid=abc,csn=${csn(T1, '001')}`],
    ['a 4-digit rid', `rid=1000,csn=${csn(T1, '001')}`],
    ['a bad sid', `rid=001,sid=xyz,csn=${csn(T1, '001')}`],
    ['an empty csn', 'rid=001,csn='],
    ['a malformed CSN', 'rid=001,csn=20240101120000Z#000000#001#000000'],
    ['an OpenLDAP 2.3 CSN', 'rid=001,csn=20040101120000Z#000000#00#000000'],
    ['one bad CSN among good ones', `rid=001,csn=${csn(T1, '001')};garbage`],
    ['a field without =', `rid=001,csn=${csn(T1, '001')},x`],
  ])('treats %s as opaque (undefined)', (_what, cookie) => {
    expect(parseCookie(cookie)).toBeUndefined();
  });
});

describe('compareCsn', () => {
  it.each([
    [csn(T1, '001'), csn(T2, '001'), -1],
    [csn(T2, '001'), csn(T1, '001'), 1],
    [csn(T1, '001'), csn(T1, '001'), 0],
    [csn(T3, '001'), csn(T4, '001'), -1],
    // same time: the change count orders them
    [csn(T1, '001', '000001'), csn(T1, '001', '000000'), 1],
    // hex fields compare case-insensitively
    [csn(T1, '00A'), csn(T1, '00a'), 0],
    [csn(T1, '001', '00000a'), csn(T1, '001', '00000B'), -1],
    // microseconds matter
    ['20240101120000.000009Z#000000#001#000000', '20240101120000.000010Z#000000#001#000000', -1],
  ])('compareCsn(%s, %s) = %i', (a, b, sign) => {
    expect(Math.sign(compareCsn(a, b))).toBe(sign);
  });

  it('refuses to compare strings of other formats', () => {
    expect(() => compareCsn('20040101120000Z#000000#00#000000', csn(T1, '001'))).toThrow(RangeError);
    expect(() => compareCsn(csn(T1, '001'), 'abc')).toThrow(RangeError);
    expect(isCsn(csn(T1, '001'))).toBe(true);
    expect(isCsn('20040101120000Z#000000#00#000000')).toBe(false);
  });
});

describe('cookieAdvances', () => {
  const one = (t: string): string => `rid=001,csn=${csn(t, '001')}`;
  const two = (t1: string, t2: string): string => `rid=001,csn=${csn(t1, '001')};${csn(t2, '002')}`;

  it.each([
    ['no previous cookie', undefined, one(T1), true],
    ['a newer CSN', one(T1), one(T2), true],
    ['an equal CSN', one(T2), one(T2), true],
    ['an older CSN', one(T2), one(T1), false],
    ['multi-SID, both newer', two(T1, T1), two(T2, T3), true],
    ['multi-SID, one newer, one equal', two(T1, T1), two(T2, T1), true],
    ['multi-SID, one older even though the other advanced', two(T2, T2), two(T4, T1), false],
    ['a next that adds a serverID', one(T1), two(T1, T1), true],
    ['a next that drops a serverID we hold', two(T1, T1), one(T2), false],
    ['a bare rid after CSNs (drops all)', one(T1), 'rid=001', false],
    ['CSNs after a bare rid', 'rid=001', one(T1), true],
    ['an opaque next', one(T2), '\u0001opaque', true],
    ['an opaque previous', 'opaque', one(T1), true],
    ['two opaque cookies', 'a', 'b', true],
    ['a legacy-format next (opaque)', one(T4), 'rid=001,csn=20040101120000Z#000000#00#000000', true],
    [
      'rid and sid may differ; only CSNs count',
      `rid=001,sid=001,csn=${csn(T2, '001')}`,
      `rid=002,csn=${csn(T1, '001')}`,
      false,
    ],
    [
      'case differences in the SID field are the same SID',
      `rid=001,csn=${csn(T2, '00a')}`,
      `rid=001,csn=${csn(T1, '00A')}`,
      false,
    ],
  ])('%s → %s', (_what, previous, next, expected) => {
    expect(cookieAdvances(previous, next)).toBe(expected);
  });
});

describe('CookieGuard', () => {
  it('starts from the initial cookie, or none', () => {
    expect(new CookieGuard().current).toBeUndefined();
    expect(new CookieGuard('rid=001').current).toBe('rid=001');
  });

  it('stores cookies that advance and refuses ones that move backwards', () => {
    const guard = new CookieGuard();
    expect(guard.offer(`rid=001,csn=${csn(T1, '001')}`)).toBe(true);
    expect(guard.offer(`rid=001,csn=${csn(T3, '001')}`)).toBe(true);
    expect(guard.offer(`rid=001,csn=${csn(T2, '001')}`)).toBe(false);
    expect(guard.current).toBe(`rid=001,csn=${csn(T3, '001')}`);
    expect(guard.offer(`rid=001,csn=${csn(T3, '001')}`)).toBe(true);
    expect(guard.current).toBe(`rid=001,csn=${csn(T3, '001')}`);
  });

  it('refuses a multi-SID cookie with one SID older even if another advanced', () => {
    const start = `rid=001,csn=${csn(T2, '001')};${csn(T2, '002')}`;
    const guard = new CookieGuard(start);
    expect(guard.offer(`rid=001,csn=${csn(T4, '001')};${csn(T1, '002')}`)).toBe(false);
    expect(guard.current).toBe(start);
  });

  it('always stores opaque cookies', () => {
    const guard = new CookieGuard(`rid=001,csn=${csn(T4, '001')}`);
    expect(guard.offer('\u0000binary')).toBe(true);
    expect(guard.current).toBe('\u0000binary');
    expect(guard.offer('other')).toBe(true);
    expect(guard.current).toBe('other');
  });

  it('merges a partial persist-stage cookie SID by SID, as OpenLDAP consumers do', () => {
    const guard = new CookieGuard(`rid=001,csn=${csn(T1, '001')};${csn(T1, '002')};${csn(T1, '003')}`);
    // syncprov sends a cookie with only the changed SID's CSN (syncprov_sendresp)
    expect(guard.offer(`rid=001,csn=${csn(T3, '002')}`)).toBe(true);
    expect(guard.current).toBe(`rid=001,csn=${csn(T1, '001')};${csn(T3, '002')};${csn(T1, '003')}`);
    // a partial cookie that moves its SID backwards is still refused
    expect(guard.offer(`rid=001,csn=${csn(T2, '002')}`)).toBe(false);
    expect(guard.current).toBe(`rid=001,csn=${csn(T1, '001')};${csn(T3, '002')};${csn(T1, '003')}`);
    // a partial cookie may add a new SID too; rid and sid come from the new cookie
    expect(guard.offer(`rid=001,sid=005,csn=${csn(T4, '004')}`)).toBe(true);
    expect(guard.current).toBe(
      `rid=001,sid=005,csn=${csn(T1, '001')};${csn(T3, '002')};${csn(T1, '003')};${csn(T4, '004')}`,
    );
    expect(parseCookie(guard.current!)?.csns.size).toBe(4);
  });

  it('refuses a partial cookie when a delcsn is involved (merge semantics unknown)', () => {
    const start = `rid=001,csn=${csn(T1, '001')};${csn(T1, '002')}`;
    const guard = new CookieGuard(start);
    expect(guard.offer(`rid=001,csn=${csn(T3, '002')},delcsn=${csn(T3, '002')}`)).toBe(false);
    expect(guard.current).toBe(start);
    // a complete cookie with delcsn is stored as is
    const full = `rid=001,csn=${csn(T2, '001')};${csn(T3, '002')},delcsn=${csn(T3, '002')}`;
    expect(guard.offer(full)).toBe(true);
    expect(guard.current).toBe(full);
  });

  it('keeps our CSNs when offered a bare rid, which stored alone would restart from nothing', () => {
    const start = `rid=001,csn=${csn(T1, '001')}`;
    const guard = new CookieGuard(start);
    expect(guard.offer('rid=001')).toBe(true); // merged: it replaces none of our CSNs
    expect(guard.current).toBe(start);
  });
});
