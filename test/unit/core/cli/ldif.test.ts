/**
 * The CLI's LDIF writer (packages/core/src/cli/ldif.ts): ldapsearch's base64 and folding rules,
 * and change records derived from typed changes. test/integration/cli-ldapsearch.test.ts
 * compares its output with ldapsearch's byte for byte and replays it with ldapmodify.
 */
import { describe, expect, test } from 'vitest';
import {
  LDIF_WRAP,
  ldifChange,
  ldifHeader,
  ldifLine,
  ldifMessage,
  mustBase64,
  splitDn,
} from '../../../../packages/core/src/cli/ldif.js';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { diffAttributes } from '../../../../packages/core/src/replica/diff.js';

const reason = (r: string) => r;
const opts = { wrap: LDIF_WRAP, level: 0 };

describe('values', () => {
  test.each([
    ['plain', false],
    ['two words', false],
    ['#hash first', false],
    ['', false],
    [' leading space', true],
    ['trailing space ', true],
    [':colon first', true],
    ['<less-than first', true],
    ['has:colon inside', false],
    ['new\nline', true],
    ['carriage\rreturn', true],
    ['nul\0byte', true],
    ['esc \x1b[31m', true],
    ['tab\there', true],
    ['del\x7f', true],
    ['Bjørn', true],
    ['line\u2028sep', true],
  ])('%j goes base64: %s', (value, base64) => {
    expect(mustBase64('description', value)).toBe(base64);
    expect(ldifLine('description', value).startsWith('description:: ')).toBe(base64);
  });

  test('binary values, ;binary attributes and userPassword are always base64; an empty value is `name:`', () => {
    expect(ldifLine('jpegPhoto', new Uint8Array([0xff, 0xd8, 0x00]))).toBe('jpegPhoto:: /9gA\n');
    expect(ldifLine('userCertificate;binary', 'abc')).toBe('userCertificate;binary:: YWJj\n');
    expect(ldifLine('userPassword', 'secret')).toBe('userPassword:: c2VjcmV0\n');
    expect(ldifLine('description', '')).toBe('description:\n');
    expect(ldifLine('dn', 'cn=Bjørn,dc=x')).toBe(`dn:: ${Buffer.from('cn=Bjørn,dc=x').toString('base64')}\n`);
  });

  test('lines fold at 78 columns as ldapsearch folds them, continuation lines starting with one space', () => {
    const value = 'x'.repeat(200);
    const lines = ldifLine('description', value).split('\n').slice(0, -1);
    expect(lines.map((l) => l.length)).toEqual([78, 78, 59]);
    expect(lines.slice(1).every((l) => l.startsWith(' ') && !l.startsWith('  '))).toBe(true);
    expect(lines.map((l, i) => (i === 0 ? l : l.slice(1))).join('')).toBe(`description: ${value}`);
    // exactly 78 columns: not folded
    expect(ldifLine('cn', 'y'.repeat(74))).toBe(`cn: ${'y'.repeat(74)}\n`);
    expect(ldifLine('cn', 'y'.repeat(75))).toBe(`cn: ${'y'.repeat(74)}\n y\n`);
    // base64 folds the same way; -o ldif_wrap=no does not fold
    const b64 = ldifLine('jpegPhoto', new Uint8Array(100).fill(0xff));
    expect(b64.split('\n').map((l) => l.length)).toEqual([78, 71, 0]);
    expect(ldifLine('description', value, Infinity)).toBe(`description: ${value}\n`);
    // a name wider than the wrap: the value starts on a continuation line
    expect(ldifLine('description', 'abcdef', 10)).toBe('description: \n abcdef\n');
  });

  test('an attribute name that could break the LDIF is escaped', () => {
    expect(ldifLine('evil\nname', 'v')).toBe('evil\\x0aname: v\n');
  });
});

const entry = (dn: string, attributes: Entry['attributes']): Entry => ({ dn, attributes });
const modify = (old: Entry, next: Entry): Change => ({
  type: 'modify',
  entryUUID: 'u1',
  dn: next.dn,
  old,
  new: next,
  diff: diffAttributes(old.attributes, next.attributes),
});
const rename = (old: Entry, next: Entry): Change => ({
  type: 'rename',
  entryUUID: 'u2',
  oldDn: old.dn,
  newDn: next.dn,
  old,
  new: next,
  diff: diffAttributes(old.attributes, next.attributes),
});

describe('change records', () => {
  test('add, delete, ready and reset; the entryUUID as a comment before each record', () => {
    const add: Change = {
      type: 'add',
      entryUUID: 'u1',
      dn: 'cn=a,dc=x',
      entry: entry('cn=a,dc=x', { cn: ['a'] }),
    };
    expect(ldifChange(add, opts, reason)).toBe('# entryUUID: u1\ndn: cn=a,dc=x\nchangetype: add\ncn: a\n\n');
    const del: Change = { type: 'delete', entryUUID: 'u1', dn: 'cn=a,dc=x', old: add.entry };
    expect(ldifChange(del, opts, reason)).toBe('# entryUUID: u1\ndn: cn=a,dc=x\nchangetype: delete\n\n');
    expect(ldifChange({ type: 'ready' }, opts, reason)).toBe('# ready\n\n');
    expect(ldifChange({ type: 'reset', reason: 'refreshRequired' }, opts, reason)).toBe(
      '# reset: refreshRequired\n\n',
    );
    expect(ldifChange({ type: 'unknownDelete', entryUUID: 'u9' }, opts, reason)).toBe(
      '# delete: entryUUID u9 (DN unknown without --store)\n\n',
    );
    expect(ldifChange({ type: 'unknownDelete', entryUUID: 'u9', dn: 'cn=z' }, opts, reason)).toBe(
      '# entryUUID: u9\ndn: cn=z\nchangetype: delete\n\n',
    );
  });

  test('-LL drops the annotations, keeps what LDIF cannot say otherwise; -LLL also drops the version', () => {
    const add: Change = { type: 'add', entryUUID: 'u1', dn: 'cn=a', entry: entry('cn=a', { cn: ['a'] }) };
    const ll = { wrap: LDIF_WRAP, level: 2 };
    expect(ldifChange(add, ll, reason)).toBe('dn: cn=a\nchangetype: add\ncn: a\n\n');
    expect(ldifChange({ type: 'ready' }, ll, reason)).toBe('');
    expect(ldifChange({ type: 'reset', reason: 'storeDiscarded' }, ll, reason)).toBe(
      '# reset: storeDiscarded\n\n',
    );
    expect(ldifChange({ type: 'unknownDelete', entryUUID: 'u9' }, ll, reason)).toMatch(
      /^# delete: entryUUID u9/,
    );
    expect(ldifHeader(opts)).toBe('version: 1\n\n');
    expect(ldifHeader(ll)).toBe('version: 1\n\n');
    expect(ldifHeader({ wrap: LDIF_WRAP, level: 3 })).toBe('');
  });

  test('a modify becomes add, delete and replace operations, each ended by -', () => {
    const old = entry('cn=a,dc=x', {
      cn: ['a'],
      title: ['Old'],
      mail: ['a@x'],
      telephoneNumber: ['1', '2'],
      description: ['gone'],
    });
    const next = entry('cn=a,dc=x', {
      cn: ['a'],
      title: ['New'],
      mail: ['a@x', 'b@x'],
      telephoneNumber: ['1'],
      seeAlso: ['cn=b'],
    });
    expect(ldifChange(modify(old, next), opts, reason)).toBe(
      [
        '# entryUUID: u1',
        'dn: cn=a,dc=x',
        'changetype: modify',
        'replace: title',
        'title: New',
        '-',
        'add: mail',
        'mail: b@x',
        '-',
        'delete: telephoneNumber',
        'telephoneNumber: 2',
        '-',
        'add: seeAlso',
        'seeAlso: cn=b',
        '-',
        'delete: description',
        '-',
        '',
        '',
      ].join('\n'),
    );
  });

  test('a replace carries the whole new value set', () => {
    const old = entry('cn=a', { mail: ['a@x', 'b@x'] });
    const next = entry('cn=a', { mail: ['b@x', 'c@x'] });
    expect(ldifChange(modify(old, next), { wrap: LDIF_WRAP, level: 3 }, reason)).toBe(
      'dn: cn=a\nchangetype: modify\nreplace: mail\nmail: b@x\nmail: c@x\n-\n\n',
    );
  });

  test('a rename is a modrdn: deleteoldrdn when the old RDN value is gone, newsuperior when the parent changed', () => {
    const L3 = { wrap: LDIF_WRAP, level: 3 };
    const t2 = entry('uid=t2,ou=a,dc=x', { uid: ['t2'], cn: ['T'] });
    expect(ldifChange(rename(t2, entry('uid=t2b,ou=a,dc=x', { uid: ['t2b'], cn: ['T'] })), L3, reason)).toBe(
      'dn: uid=t2,ou=a,dc=x\nchangetype: modrdn\nnewrdn: uid=t2b\ndeleteoldrdn: 1\n\n',
    );
    // the old value kept, and a move: deleteoldrdn 0, newsuperior (the parent compares case-insensitively)
    expect(ldifChange(rename(t2, entry('cn=T,OU=B,dc=x', { uid: ['t2'], cn: ['T'] })), L3, reason)).toBe(
      'dn: uid=t2,ou=a,dc=x\nchangetype: modrdn\nnewrdn: cn=T\ndeleteoldrdn: 0\nnewsuperior: OU=B,dc=x\n\n',
    );
    expect(
      ldifChange(rename(t2, entry('uid=t2,OU=A,dc=x', { uid: ['t2'], cn: ['T'] })), L3, reason),
    ).not.toContain('newsuperior');
  });

  test('a rename that changed more than its RDN is followed by a modify of the new DN', () => {
    const L3 = { wrap: LDIF_WRAP, level: 3 };
    const old = entry('uid=t2,dc=x', { uid: ['t2'], cn: ['T'], title: ['Old'] });
    const next = entry('uid=t2b,dc=x', { uid: ['t2b'], cn: ['T'], title: ['New'] });
    expect(ldifChange(rename(old, next), L3, reason)).toBe(
      'dn: uid=t2,dc=x\nchangetype: modrdn\nnewrdn: uid=t2b\ndeleteoldrdn: 1\n\n' +
        'dn: uid=t2b,dc=x\nchangetype: modify\nreplace: title\ntitle: New\n-\n\n',
    );
  });

  test('escaped separators stay in the RDN; non-ASCII RDNs and DNs go base64', () => {
    expect(splitDn('cn=a\\,b,ou=x,dc=y')).toEqual(['cn=a\\,b', 'ou=x,dc=y']);
    expect(splitDn('dc=y')).toEqual(['dc=y', '']);
    const old = entry('cn=a\\,b,dc=y', { cn: ['a,b'] });
    const next = entry('cn=é,dc=y', { cn: ['é'] });
    const out = ldifChange(rename(old, next), { wrap: LDIF_WRAP, level: 3 }, reason);
    expect(out).toBe(
      `dn: cn=a\\,b,dc=y\nchangetype: modrdn\nnewrdn:: ${Buffer.from('cn=é').toString('base64')}\ndeleteoldrdn: 1\n\n`,
    );
  });
});

describe('--messages', () => {
  test('entries are content records, deletes delete records, Sync Info comments', () => {
    expect(
      ldifMessage({ type: 'add', entryUUID: 'u1', dn: 'cn=a', attributes: { cn: ['a'] } }, opts, reason),
    ).toBe('# add, entryUUID: u1\ndn: cn=a\ncn: a\n\n');
    expect(ldifMessage({ type: 'delete', entryUUID: 'u1', dn: 'cn=a' }, opts, reason)).toBe(
      '# delete, entryUUID: u1\ndn: cn=a\nchangetype: delete\n\n',
    );
    expect(
      ldifMessage(
        { type: 'syncIdSet', refreshDeletes: true, entryUUIDs: ['u1', 'u2'] },
        { ...opts, level: 3 },
        reason,
      ),
    ).toBe('# syncIdSet deleted: entryUUID u1\n# syncIdSet deleted: entryUUID u2\n\n');
    expect(
      ldifMessage(
        { type: 'syncIdSet', refreshDeletes: false, entryUUIDs: ['u1'] },
        { ...opts, level: 3 },
        reason,
      ),
    ).toBe('');
    expect(ldifMessage({ type: 'cookie', cookie: 'rid=000,csn=x\n' }, opts, reason)).toBe(
      '# cookie: rid=000,csn=x\\x0a\n\n',
    );
    expect(ldifMessage({ type: 'done', refreshDeletes: false }, { ...opts, level: 2 }, reason)).toBe('');
  });
});
