/**
 * 389 Directory Server quirks syncrepl() handles, against a scripted peer that answers as ns-slapd
 * 2.3 does (the real server: integration/ds389.test.ts).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import { RefreshRequiredError, syncrepl, type SyncMessage } from '@syncrepl-rx/core';
import { attributeSelection } from '../../../../packages/core/src/sync/syncrepl.js';
import { replicate } from '../../../../packages/core/src/replica/replicate.js';
import { MemoryStore } from '../../../../packages/core/src/stores/memory.js';
import {
  bindResponse,
  fakeServer,
  ldapResult,
  message,
  searchDone,
  searchEntry,
  syncStateControl,
  tlv,
} from '../../../fixtures/fake-ldap.js';

const UUID = Buffer.from('5b196d02f11b11f186b48102fa7d4c7b', 'hex');
const COOKIE = 'localhost:389#cn=reader,dc=x:dc=x:(objectClass=*)#7';
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A root DSE as 389-ds with the retro changelog shows it. */
const rootDse = (id: number, first: number) =>
  Buffer.concat([
    message(
      id,
      tlv(
        0x64,
        tlv(0x04),
        tlv(
          0x30,
          tlv(
            0x30,
            tlv(0x04, Buffer.from('firstchangenumber')),
            tlv(0x31, tlv(0x04, Buffer.from(String(first)))),
          ),
        ),
      ),
    ),
    message(id, tlv(0x65, ldapResult(0))),
  ]);
const isRootDseSearch = (bytes: Buffer) => bytes.includes(Buffer.from('firstchangenumber'));

/**
 * A peer that answers the root DSE with `firstchangenumber: first`, and the sync search with one
 * entry carrying every user attribute, then done.
 */
async function peer(first = 1, searches: string[] = []): Promise<string> {
  const server = await fakeServer((req) => {
    if (req.tag === 0x60) return bindResponse(req.id);
    if (req.tag === 0x63 && isRootDseSearch(req.bytes)) {
      searches.push('rootDSE');
      return rootDse(req.id, first);
    }
    if (req.tag === 0x63) {
      searches.push('sync');
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

describe('a 389-ds cookie older than the retro changelog', () => {
  test('is refused before the search (the server would serve it and lose the trimmed changes)', async () => {
    const searches: string[] = [];
    const url = await peer(9, searches); // the changelog starts at 9; the cookie saw up to 7
    await expect(
      firstValueFrom(syncrepl({ url, base: 'dc=x', mode: 'refreshOnly', cookie: COOKIE }).pipe(toArray())),
    ).rejects.toThrow(RefreshRequiredError);
    expect(searches).toEqual(['rootDSE']);
  });

  test('with reconnect: reset, then a full reload without a cookie', async () => {
    const searches: string[] = [];
    const url = await peer(9, searches);
    const messages = await firstValueFrom(
      syncrepl({ url, base: 'dc=x', mode: 'refreshOnly', cookie: COOKIE, reconnect: true }).pipe(toArray()),
    );
    expect(messages.map((m) => m.type)).toEqual(['reset', 'add', 'done']);
    expect(searches).toEqual(['rootDSE', 'sync']);
  });

  test('a cookie the changelog still covers (first change = cookie + 1) is used as it is', async () => {
    const searches: string[] = [];
    const url = await peer(8, searches);
    const messages = await firstValueFrom(
      syncrepl({ url, base: 'dc=x', mode: 'refreshOnly', cookie: COOKIE }).pipe(toArray()),
    );
    expect(messages.map((m) => m.type)).toEqual(['add', 'done']);
    expect(searches).toEqual(['rootDSE', 'sync']);
  });
});
