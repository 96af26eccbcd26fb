/**
 * 389 Directory Server quirks syncrepl() handles, against a scripted peer that answers as ns-slapd
 * 2.3 does (the real server: integration/ds389.test.ts).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import { syncrepl, type SyncMessage } from '@syncrepl-rx/core';
import { attributeSelection } from '../../packages/core/src/sync/syncrepl.js';
import { replicate } from '../../packages/core/src/replica/replicate.js';
import { MemoryStore } from '../../packages/core/src/stores/memory.js';
import {
  bindResponse,
  fakeServer,
  searchDone,
  searchEntry,
  syncStateControl,
} from '../fixtures/fake-ldap.js';

const UUID = Buffer.from('5b196d02f11b11f186b48102fa7d4c7b', 'hex');
const COOKIE = 'localhost:389#cn=reader,dc=x:dc=x:(objectClass=*)#7';
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A peer that answers the search with one entry carrying every user attribute, then done. */
async function peer(): Promise<string> {
  const server = await fakeServer((req) => {
    if (req.tag === 0x60) return bindResponse(req.id);
    if (req.tag === 0x63) {
      return Buffer.concat([
        searchEntry(
          req.id,
          'uid=a,dc=x',
          { objectClass: ['top', 'inetOrgPerson'], uid: ['a'], 'cn;lang-en': ['A'], mail: ['a@x'] },
          syncStateControl(1, UUID),
        ),
        searchDone(req.id, 0, COOKIE.replace(/#7$/, '#9')),
      ]);
    }
    return undefined;
  });
  close = server.close;
  return server.url;
}

describe('attributeSelection', () => {
  test('names the attributes a search returns; undefined when it cannot (*, +, none)', () => {
    const keep = attributeSelection(['uid', 'CN', 'mail'])!;
    expect(['uid', 'cn', 'cn;lang-en', 'Mail', 'objectClass', 'sn'].filter(keep)).toEqual([
      'uid',
      'cn',
      'cn;lang-en',
      'Mail',
    ]);
    expect(attributeSelection([])).toBeUndefined();
    expect(attributeSelection(['uid', '*'])).toBeUndefined();
    expect(attributeSelection(['+'])).toBeUndefined();
    expect(['uid', 'cn'].filter(attributeSelection(['1.1'])!)).toEqual([]);
  });
});

describe('a refresh resumed from a 389-ds cookie', () => {
  test('keeps only the attributes asked for, though ns-slapd sends them all', async () => {
    const url = await peer();
    const messages = await firstValueFrom(
      syncrepl({ url, base: 'dc=x', mode: 'refreshOnly', cookie: COOKIE, attributes: ['uid', 'cn'] }).pipe(
        toArray(),
      ),
    );
    const entry = messages.find((m): m is Extract<SyncMessage, { type: 'add' }> => m.type === 'add');
    expect(entry?.attributes).toEqual({ uid: ['a'], 'cn;lang-en': ['A'] });
  });

  test('and so does the replica, which keeps the records', async () => {
    const url = await peer();
    const store = new MemoryStore({ cookie: COOKIE });
    await firstValueFrom(
      syncrepl({ url, base: 'dc=x', mode: 'refreshOnly', cookie: COOKIE, attributes: ['uid', 'mail'] }).pipe(
        replicate({ store }),
        toArray(),
      ),
    );
    expect(store.get('5b196d02-f11b-11f1-86b4-8102fa7d4c7b')?.attributes).toEqual({
      uid: ['a'],
      mail: ['a@x'],
    });
  });

  test('without an attribute list, or from no cookie or an OpenLDAP one, entries are left as sent', async () => {
    const url = await peer();
    const all = { objectClass: ['top', 'inetOrgPerson'], uid: ['a'], 'cn;lang-en': ['A'], mail: ['a@x'] };
    for (const extra of [
      { cookie: COOKIE },
      { attributes: ['uid'] },
      { attributes: ['uid'], cookie: 'rid=000,csn=20240101120000.000000Z#000000#001#000000' },
    ]) {
      const messages = await firstValueFrom(
        syncrepl({ url, base: 'dc=x', mode: 'refreshOnly', ...extra }).pipe(toArray()),
      );
      const entry = messages.find((m): m is Extract<SyncMessage, { type: 'add' }> => m.type === 'add');
      expect(entry?.attributes, JSON.stringify(extra)).toEqual(all);
    }
  });
});
