/**
 * 389 Directory Server quirks syncrepl() handles, against a scripted peer that answers as ns-slapd
 * 2.3 does (the real server: integration/ds389.test.ts).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { RefreshRequiredError, syncrepl, type SyncMessage } from '@syncrepl-rx/core';
import { attributeSelection } from '../../../../packages/core/src/sync/ds389.js';
import { encodeSyncRequestValue } from '../../../../packages/core/src/protocol/controls.js';
import { replicate } from '../../../../packages/core/src/replica/replicate.js';
import { MemoryStore } from '../../../../packages/core/src/stores/memory.js';
import {
  bindResponse,
  fakeServer,
  ldapResult,
  message,
  searchDone,
  searchEntry,
  str,
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

describe('a refreshAndPersist resumed from a 389-ds cookie', () => {
  const SYNC_INFO_OID = '1.3.6.1.4.1.4203.1.9.1.4';
  const uuid = (c: string) => Buffer.from(c.repeat(32), 'hex');
  const key = (c: string) => `${c.repeat(8)}-${c.repeat(4)}-${c.repeat(4)}-${c.repeat(4)}-${c.repeat(12)}`;
  const cookie = (n: number) => COOKIE.replace(/#7$/, `#${n}`);
  const info = (id: number, value: Buffer) =>
    message(id, tlv(0x79, str(SYNC_INFO_OID, 0x80), str(value, 0x81)));
  const person = (uid: string, description: string) => ({
    objectClass: ['inetOrgPerson'],
    uid: [uid],
    description: [description],
  });
  const requestValue = (mode: 'refreshOnly' | 'refreshAndPersist', c: string) =>
    Buffer.from(encodeSyncRequestValue({ mode, cookie: c }));

  /**
   * ns-slapd reads the refresh's change number (#9) before it registers the persist search, so
   * change #10 (entry a) is in neither; change #11 (entry b) is in the persist stage and, newer
   * there than in the catch-up, must not be overwritten by it; c was deleted (#10 too).
   */
  test('catches up from the refresh cookie before the persist stage, which wins for its own entries', async () => {
    const searches: Buffer[] = [];
    const server = await fakeServer((req) => {
      if (req.tag === 0x60) return bindResponse(req.id);
      if (req.tag !== 0x63) return undefined;
      if (isRootDseSearch(req.bytes)) return rootDse(req.id, 1);
      searches.push(req.bytes);
      if (req.bytes.includes(requestValue('refreshAndPersist', COOKIE)))
        return Buffer.concat([
          info(req.id, tlv(0xa1, str(cookie(9)))), // refreshDelete, refreshDone (default TRUE)
          searchEntry(
            req.id,
            'uid=b,dc=x',
            person('b', 'persist #11'),
            syncStateControl(2, uuid('b'), cookie(11)),
          ),
        ]);
      if (req.bytes.includes(requestValue('refreshOnly', cookie(9))))
        return Buffer.concat([
          info(req.id, tlv(0xa3, tlv(0x01, Buffer.from([0xff])), tlv(0x31, str(uuid('c')), str(uuid('b'))))),
          searchEntry(req.id, 'uid=a,dc=x', person('a', 'catch-up #10'), syncStateControl(1, uuid('a'))),
          searchEntry(req.id, 'uid=b,dc=x', person('b', 'catch-up, older'), syncStateControl(1, uuid('b'))),
          searchDone(req.id, 0, cookie(11)),
        ]);
      return undefined;
    });
    close = server.close;
    const messages = await firstValueFrom(
      syncrepl({ url: server.url, base: 'dc=x', cookie: COOKIE }).pipe(take(4), toArray()),
    );
    expect(searches).toHaveLength(2);
    expect(messages).toEqual([
      { type: 'syncIdSet', refreshDeletes: true, entryUUIDs: [key('c')] },
      { type: 'add', dn: 'uid=a,dc=x', entryUUID: key('a'), attributes: person('a', 'catch-up #10') },
      { type: 'refreshDelete', refreshDone: true, cookie: cookie(9) },
      {
        type: 'modify',
        dn: 'uid=b,dc=x',
        entryUUID: key('b'),
        cookie: cookie(11),
        attributes: person('b', 'persist #11'),
      },
    ]);
  });

  test('a refreshOnly, and a refreshAndPersist from no cookie, search once', async () => {
    for (const extra of [{ mode: 'refreshOnly' as const, cookie: COOKIE }, {}]) {
      const searches: Buffer[] = [];
      const server = await fakeServer((req) => {
        if (req.tag === 0x60) return bindResponse(req.id);
        if (req.tag !== 0x63) return undefined;
        if (isRootDseSearch(req.bytes)) return rootDse(req.id, 1);
        searches.push(req.bytes);
        return 'mode' in extra
          ? searchDone(req.id, 0, cookie(9))
          : Buffer.concat([
              info(req.id, tlv(0xa1, str(cookie(9)))),
              searchEntry(
                req.id,
                'uid=b,dc=x',
                person('b', 'live'),
                syncStateControl(2, uuid('b'), cookie(10)),
              ),
            ]);
      });
      close = server.close;
      const messages = await firstValueFrom(
        syncrepl({ url: server.url, base: 'dc=x', ...extra }).pipe(take(2), toArray()),
      );
      expect(
        messages.map((m) => m.type),
        JSON.stringify(extra),
      ).toEqual('mode' in extra ? ['done'] : ['refreshDelete', 'modify']);
      expect(searches, JSON.stringify(extra)).toHaveLength(1);
      await server.close();
      close = undefined;
    }
  });
});
