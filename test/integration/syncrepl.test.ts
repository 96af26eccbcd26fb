/**
 * syncrepl() against a real OpenLDAP slapd (mdb + syncprov) on a loopback port.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { firstValueFrom, tap, toArray } from 'rxjs';
import {
  BindError,
  ConnectionError,
  RefreshRequiredError,
  FlowControl,
  SyncNotSupportedError,
  TlsError,
  fileCookieStore,
  memoryCookieStore,
  syncrepl,
  type EntryMessage,
  type SyncMessage,
  type SyncreplOptions,
} from '@syncrepl-rx/core';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlapd, type Slapd, type SlapdOptions } from '../fixtures/slapd.js';
import {
  binaryValue,
  ldifDelete,
  ldifEntry,
  ldifModify,
  ldifModrdn,
  peopleLdif,
  personDn,
  personLdif,
} from '../fixtures/ldif.js';
import { record } from '../fixtures/record.js';

const PEOPLE = 'ou=people,dc=example,dc=com';
const GROUPS = 'ou=groups,dc=example,dc=com';

let servers: Slapd[] = [];
async function slapd(options: SlapdOptions = {}): Promise<Slapd> {
  const s = await startSlapd({ ldif: peopleLdif(20), ...options });
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function options(s: Slapd, extra: Partial<SyncreplOptions> = {}): SyncreplOptions {
  return { url: s.url, bindDN: s.readerDN, password: s.readerPassword, base: PEOPLE, ...extra };
}

const isEntry = (m: SyncMessage): m is EntryMessage =>
  m.type === 'present' || m.type === 'add' || m.type === 'modify' || m.type === 'delete';
const refreshDone = (items: SyncMessage[]) =>
  items.some((m) => (m.type === 'refreshDelete' || m.type === 'refreshPresent') && m.refreshDone);

async function refreshOnly(s: Slapd, extra: Partial<SyncreplOptions> = {}): Promise<SyncMessage[]> {
  return firstValueFrom(syncrepl(options(s, { mode: 'refreshOnly', ...extra })).pipe(toArray()));
}

async function uuidOf(s: Slapd, dn: string): Promise<string> {
  const [e] = await s.search(dn, 'base', '(objectClass=*)', ['entryUUID']);
  const v = e?.attributes.entryUUID?.[0];
  if (typeof v !== 'string') throw new Error(`no entryUUID for ${dn}`);
  return v;
}

describe('refreshOnly', () => {
  test('the full content equals ldapsearch for the same bind, base and filter, then done with a cookie', async () => {
    const s = await slapd();
    const messages = await refreshOnly(s);
    const last = messages.at(-1);
    expect(last?.type).toBe('done');
    expect(last && 'cookie' in last && last.cookie).toMatch(/csn=\d{14}\.\d{6}Z#/);
    const entries = messages.filter(isEntry);
    expect(entries.every((m) => m.type === 'add')).toBe(true);

    const expected = await s.search(PEOPLE, 'sub', '(objectClass=*)', ['*', 'entryUUID'], {
      dn: s.readerDN,
      password: s.readerPassword,
    });
    expect(entries.map((m) => `${m.entryUUID} ${m.dn}`).sort()).toEqual(
      expected.map((e) => `${String(e.attributes.entryUUID?.[0])} ${e.dn}`).sort(),
    );
    const person = entries.find((m) => m.dn === personDn(3));
    const ldap = expected.find((e) => e.dn === personDn(3));
    if (!person || person.type === 'delete' || !ldap) throw new Error('person 3 missing');
    for (const [name, values] of Object.entries(ldap.attributes)) {
      if (name === 'entryUUID') continue;
      expect(person.attributes[name], name).toEqual(values);
    }
  });

  test('a filter and an attribute list are applied by the server', async () => {
    const s = await slapd();
    const messages = await refreshOnly(s, {
      filter: '(|(uid=user000001)(uid=user000002))',
      attributes: ['mail'],
    });
    const entries = messages.filter(isEntry);
    expect(entries.map((m) => m.dn).sort()).toEqual([personDn(1), personDn(2)]);
    for (const m of entries) if (m.type !== 'delete') expect(Object.keys(m.attributes)).toEqual(['mail']);
  });

  test('from a cookie, only the changes come back (present phase, no session log)', async () => {
    const s = await slapd({ sessionlog: false });
    const first = await refreshOnly(s);
    const cookie = (first.at(-1) as { cookie?: string }).cookie;
    expect(cookie).toBeDefined();
    const deletedUUID = await uuidOf(s, personDn(2));
    await s.modify(ldifModify(personDn(1), [{ op: 'replace', attribute: 'title', values: ['Changed'] }]));
    await s.modify(ldifDelete(personDn(2)));
    await s.add(personLdif(100));

    const second = await refreshOnly(s, { cookie });
    const done = second.at(-1);
    expect(done).toMatchObject({ type: 'done', refreshDeletes: false });
    const adds = second.filter((m) => m.type === 'add');
    expect(adds.map((m) => m.dn).sort()).toEqual([personDn(1), personDn(100)]);
    const changed = adds.find((m) => m.dn === personDn(1));
    expect(changed && 'attributes' in changed && changed.attributes.title).toEqual(['Changed']);
    // Present phase (RFC 4533 §3.4.1): unchanged entries are presented, one by one without
    // attributes or in syncIdSets with refreshDeletes=FALSE, and the deleted one is not presented.
    const presented = new Set<string>();
    for (const m of second) {
      if (m.type === 'present') {
        expect(m.attributes).toEqual({});
        presented.add(m.entryUUID);
      }
      if (m.type === 'syncIdSet') {
        expect(m.refreshDeletes).toBe(false);
        m.entryUUIDs.forEach((u) => presented.add(u));
      }
      if (m.type === 'add') presented.add(m.entryUUID);
    }
    expect(presented.has(deletedUUID)).toBe(false);
    const before = first.filter(isEntry).map((m) => m.entryUUID);
    expect(before.filter((u) => !presented.has(u))).toEqual([deletedUUID]);
    expect(second.some((m) => m.type === 'syncIdSet' && !m.refreshDeletes)).toBe(true);
  });

  test('from a cookie with a session log, deletes are sent explicitly (delete phase)', async () => {
    const s = await slapd({ sessionlog: 100 });
    const first = await refreshOnly(s);
    const cookie = (first.at(-1) as { cookie?: string }).cookie;
    const deletedUUID = await uuidOf(s, personDn(2));
    await s.modify(ldifDelete(personDn(2)));
    await s.modify(ldifModify(personDn(4), [{ op: 'replace', attribute: 'title', values: ['Changed'] }]));

    const second = await refreshOnly(s, { cookie });
    expect(second.at(-1)).toMatchObject({ type: 'done', refreshDeletes: true });
    expect(second.some((m) => m.type === 'present')).toBe(false);
    const deleted = new Set<string>();
    for (const m of second) {
      if (m.type === 'delete') deleted.add(m.entryUUID);
      if (m.type === 'syncIdSet' && m.refreshDeletes) m.entryUUIDs.forEach((u) => deleted.add(u));
    }
    expect([...deleted]).toEqual([deletedUUID]);
    // slapd 2.5 sends session-log deletes as a syncIdSet with refreshDeletes=TRUE (RFC 4533
    // §2.5): decoded as such, never mistaken for a refreshDelete phase end.
    expect(second.filter((m) => m.type === 'syncIdSet')).toEqual([
      {
        type: 'syncIdSet',
        refreshDeletes: true,
        entryUUIDs: [deletedUUID],
        cookie: expect.stringMatching(/delcsn=/),
      },
    ]);
    expect(second.some((m) => m.type === 'refreshDelete')).toBe(false);
    expect(second.filter((m) => m.type === 'add').map((m) => m.dn)).toEqual([personDn(4)]);
  });

  test('a cookie store loads the starting cookie and keeps the newest one', async () => {
    const s = await slapd();
    const dir = await mkdtemp(join(tmpdir(), 'syncrepl-cookie-'));
    try {
      const file = join(dir, 'cookie');
      const first = await refreshOnly(s, { cookieStore: fileCookieStore(file) });
      await new Promise((r) => setTimeout(r, 50)); // saves run after delivery
      const saved = (await readFile(file, 'latin1')).trim();
      expect(saved).toBe((first.at(-1) as { cookie?: string }).cookie);

      await s.modify(ldifModify(personDn(5), [{ op: 'replace', attribute: 'title', values: ['Again'] }]));
      const second = await refreshOnly(s, { cookieStore: fileCookieStore(file) });
      expect(second.filter((m) => m.type === 'add').map((m) => m.dn)).toEqual([personDn(5)]);
      await new Promise((r) => setTimeout(r, 50)); // let the second run's saves finish before removing
    } finally {
      // A save still in flight (temporary file, then rename) would race a plain removal.
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    }
  });
});

describe('refreshAndPersist', () => {
  test('live add, modify, modrdn, move and delete arrive in order, with a stable entryUUID', async () => {
    const s = await slapd();
    const rec = record(syncrepl(options(s)));
    try {
      await rec.until(refreshDone);
      const mark = rec.items.length;
      const live = () => rec.items.slice(mark).filter(isEntry);

      await s.add(personLdif(200));
      await rec.until(() => live().length === 1);
      const uuid = await uuidOf(s, personDn(200));
      expect(live()[0]).toMatchObject({ type: 'add', dn: personDn(200), entryUUID: uuid });

      await s.modify(ldifModify(personDn(200), [{ op: 'replace', attribute: 'title', values: ['Live'] }]));
      await rec.until(() => live().length === 2);
      const modified = live()[1];
      expect(modified).toMatchObject({ type: 'modify', dn: personDn(200), entryUUID: uuid });
      expect(modified && 'attributes' in modified && modified.attributes.title).toEqual(['Live']);

      await s.modify(ldifModrdn(personDn(200), 'uid=renamed200', { deleteOldRdn: false }));
      await rec.until(() => live().length === 3);
      expect(live()[2]).toMatchObject({ type: 'modify', dn: `uid=renamed200,${PEOPLE}`, entryUUID: uuid });

      await s.add(ldifEntry(`ou=sub,${PEOPLE}`, { objectClass: 'organizationalUnit', ou: 'sub' }));
      await rec.until(() => live().length === 4);
      await s.modify(
        ldifModrdn(`uid=renamed200,${PEOPLE}`, 'uid=renamed200', { newSuperior: `ou=sub,${PEOPLE}` }),
      );
      await rec.until(() => live().length === 5);
      expect(live()[4]).toMatchObject({
        type: 'modify',
        dn: `uid=renamed200,ou=sub,${PEOPLE}`,
        entryUUID: uuid,
      });

      await s.modify(ldifDelete(`uid=renamed200,ou=sub,${PEOPLE}`));
      await rec.until(() => live().length === 6);
      expect(live()[5]).toMatchObject({ type: 'delete', entryUUID: uuid });
      expect(rec.error).toBeUndefined();
    } finally {
      rec.unsubscribe();
    }
  });

  test('an entry moved out of the search base is deleted for this search', async () => {
    const s = await slapd();
    const rec = record(syncrepl(options(s)));
    try {
      await rec.until(refreshDone);
      const uuid = await uuidOf(s, personDn(7));
      await s.modify(ldifModrdn(personDn(7), 'uid=user000007', { newSuperior: GROUPS }));
      await rec.until((items) => items.some((m) => m.type === 'delete' && m.entryUUID === uuid));
    } finally {
      rec.unsubscribe();
    }
  });

  test('while the stream is idle, Sync Info newcookie advances the cookie and the store saves it', async () => {
    const s = await slapd({ sessionlog: 100 });
    const store = memoryCookieStore();
    const rec = record(syncrepl(options(s, { cookieStore: store })));
    try {
      await rec.until(refreshDone);
      const before = store.cookie;
      const mark = rec.items.length;
      // A change outside this search's base: nothing to deliver, but the position moves.
      await s.add(`dn: cn=g1,${GROUPS}\nobjectClass: organizationalRole\ncn: g1`);
      await rec.until((items) => items.slice(mark).some((m) => m.type === 'cookie'));
      const newcookie = rec.items.slice(mark).find((m) => m.type === 'cookie');
      expect(rec.items.slice(mark).filter(isEntry)).toEqual([]);
      await waitFor(async () => store.cookie === (newcookie as { cookie: string }).cookie);
      expect(store.cookie).not.toBe(before);
    } finally {
      rec.unsubscribe();
    }
  });

  test('a paused FlowControl stops reading the socket; resume reads on, and nothing is lost', async () => {
    const s = await slapd({ ldif: peopleLdif(3000) });
    const flow = new FlowControl();
    let seen = 0;
    const rec = record(
      syncrepl(options(s, { mode: 'refreshOnly', flow })).pipe(
        tap(() => {
          if (++seen === 1) flow.pause();
        }),
      ),
    );
    await rec.until((items) => items.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const whilePaused = rec.items.length;
    // At most what one socket read had already brought in; the rest waits in the kernel and slapd.
    expect(whilePaused).toBeLessThan(1000);
    expect(rec.completed).toBe(false);
    flow.resume();
    await rec.ended();
    expect(rec.items.filter(isEntry)).toHaveLength(3001);
    expect(rec.items.at(-1)?.type).toBe('done');
  });

  test('unsubscribing abandons the search and unbinds: no search and no connection remain on the server', async () => {
    const s = await slapd();
    expect(await s.connectionCount()).toBe(0);
    const rec = record(syncrepl(options(s)));
    await rec.until(refreshDone);
    // The persistent search shows as the one operation executing on our one connection.
    expect((await s.connections()).map((c) => c.opsExecuting)).toEqual([1]);
    rec.unsubscribe();
    await waitFor(async () => (await s.connectionCount()) === 0);
  });

  test('stop lets the refresh finish, then cancels persist mode (RFC 3909) and completes', async () => {
    const s = await slapd();
    const stop = new AbortController();
    const rec = record(syncrepl(options(s, { stop: stop.signal })));
    stop.abort(); // before the refresh is even under way: it must still complete
    await rec.ended();
    expect(rec.error).toBeUndefined();
    expect(rec.completed).toBe(true);
    expect(refreshDone(rec.items)).toBe(true);
    expect(rec.items.filter(isEntry).length).toBe(21); // ou=people and 20 people
    await waitFor(async () => (await s.connectionCount()) === 0);
    expect(await s.extendedOperationsCompleted?.()).toBeGreaterThanOrEqual(1);
  });

  test('slapd restarted mid-persist: reconnects, resumes from the cookie, loses nothing', async () => {
    const s = await slapd({ sessionlog: 100 });
    const statuses: string[] = [];
    const rec = record(
      syncrepl(
        options(s, {
          reconnect: { initialDelay: 20, maxDelay: 100 },
          onStatus: (st) => statuses.push(st.state),
        }),
      ),
    );
    try {
      await rec.until(refreshDone);
      const fullRefresh = rec.items.filter((m) => m.type === 'add').length;
      expect(fullRefresh).toBe(21);
      await s.stop();
      await rec.until(() => statuses.includes('backoff'));
      await s.start();
      const mark = rec.items.length;
      await s.modify(
        ldifModify(personDn(9), [{ op: 'replace', attribute: 'title', values: ['After restart'] }]),
      );
      await rec.until((items) =>
        items
          .slice(mark)
          .some(
            (m) => 'attributes' in m && m.dn === personDn(9) && m.attributes.title?.[0] === 'After restart',
          ),
      );
      // Resumed from the cookie: the initial content was not sent again.
      const afterRestart = rec.items.slice(mark).filter((m) => m.type === 'add' || m.type === 'present');
      expect(afterRestart.map((m) => m.dn)).toEqual(afterRestart.length ? [personDn(9)] : []);
      expect(rec.error).toBeUndefined();
    } finally {
      rec.unsubscribe();
    }
  });
});

describe('e-syncRefreshRequired (4096)', () => {
  // A cookie older than every entry, for the provider's serverID: with syncprov-reloadhint the
  // provider answers 4096 (docs/research-4096.md).
  const staleCookie = 'rid=000,sid=001,csn=20000101000000.000000Z#000000#001#000000';

  test('without reconnect it is a typed RefreshRequiredError', async () => {
    const s = await slapd({ reloadhint: true });
    const err = await firstValueFrom(syncrepl(options(s, { cookie: staleCookie }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefreshRequiredError);
    expect((err as RefreshRequiredError).resultCode).toBe(4096);
    expect((err as Error).message).toMatch(/without a cookie/);
  });

  test('with reconnect it emits reset, restarts without a cookie and reloads everything', async () => {
    const s = await slapd({ reloadhint: true });
    const messages = await firstValueFrom(
      syncrepl(
        options(s, { cookie: staleCookie, mode: 'refreshOnly', reconnect: { initialDelay: 10 } }),
      ).pipe(toArray()),
    );
    expect(messages[0]).toEqual({ type: 'reset', reason: 'refreshRequired' });
    expect(messages.filter((m) => m.type === 'add')).toHaveLength(21);
    expect(messages.at(-1)).toMatchObject({ type: 'done', cookie: expect.stringMatching(/csn=20[2-9]/) });
  });

  test('reloadHint asks the server for a full reload instead of 4096', async () => {
    const s = await slapd({ reloadhint: true });
    const messages = await refreshOnly(s, { cookie: staleCookie, reloadHint: true });
    expect(messages.filter((m) => m.type === 'add')).toHaveLength(21);
    expect(messages.at(-1)?.type).toBe('done');
  });
});

describe('values', () => {
  test('binary values come as exact bytes; declared binary attributes too; UTF-8 stays text', async () => {
    const s = await slapd();
    const photo = binaryValue(7, 100);
    await s.add(
      ldifEntry(`uid=pic,${PEOPLE}`, {
        objectClass: ['inetOrgPerson'],
        uid: 'pic',
        cn: 'Zoë Ünïcode',
        sn: 'Pic',
        jpegPhoto: photo,
        audio: Buffer.from('plain ascii bytes'),
      }),
    );
    const messages = await refreshOnly(s, { filter: '(uid=pic)', binaryAttributes: ['AUDIO'] });
    const entry = messages.find((m) => m.type === 'add');
    if (!entry || entry.type !== 'add') throw new Error('no entry');
    const jpeg = entry.attributes.jpegPhoto?.[0];
    expect(jpeg).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(jpeg as Uint8Array).equals(photo)).toBe(true);
    const audio = entry.attributes.audio?.[0];
    expect(audio).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(audio as Uint8Array).toString()).toBe('plain ascii bytes');
    expect(entry.attributes.cn).toEqual(['Zoë Ünïcode']);
  });
});

describe('errors', () => {
  test('a refused bind is a BindError that says what to do and never shows the password', async () => {
    const s = await slapd();
    const password = 'not-the-Secret-42';
    const err = await firstValueFrom(syncrepl(options(s, { password }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BindError);
    const e = err as BindError;
    expect(e.code).toBe('BIND_REFUSED');
    expect(e.resultCode).toBe(49);
    expect(e.message).toMatch(/invalidCredentials/);
    expect(e.message).toMatch(/Check the bind DN and password/);
    expect(JSON.stringify({ ...e, message: e.message, stack: e.stack })).not.toContain(password);
    await waitFor(async () => (await s.connectionCount()) === 0);
  });

  test('a database without syncprov gives SyncNotSupportedError', async () => {
    const s = await slapd({ withoutSyncprov: true });
    const err = await firstValueFrom(syncrepl(options(s))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncNotSupportedError);
    expect((err as Error).message).toMatch(/syncprov/);
  });

  test('a refused connection without reconnect is a ConnectionError', async () => {
    const s = await slapd();
    await s.stop();
    const err = await firstValueFrom(syncrepl(options(s))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(true);
  });

  test('reconnect backoff is abortable with stop', async () => {
    const s = await slapd();
    await s.stop();
    const stop = new AbortController();
    const statuses: string[] = [];
    const rec = record(
      syncrepl(
        options(s, {
          stop: stop.signal,
          reconnect: { initialDelay: 60_000, maxDelay: 60_000 },
          random: () => 1,
          onStatus: (st) => statuses.push(st.state),
        }),
      ),
    );
    await rec.until(() => statuses.includes('backoff'));
    const t0 = Date.now();
    stop.abort();
    await rec.ended(2000);
    expect(rec.completed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('TLS', () => {
  test('ldaps:// with the CA, StartTLS with the CA, and SASL EXTERNAL with a client certificate', async () => {
    const s = await slapd({ tls: true });
    const ca = s.caPem!;
    const over = async (extra: Partial<SyncreplOptions>) =>
      (await refreshOnly(s, { filter: '(uid=user000001)', ...extra })).filter(isEntry).map((m) => m.dn);
    expect(await over({ url: s.ldapsUrl!, tls: { ca } })).toEqual([personDn(1)]);
    expect(await over({ startTLS: true, tls: { ca } })).toEqual([personDn(1)]);
    const cert = await readFile(s.clientCertFile!);
    const key = await readFile(s.clientKeyFile!);
    expect(
      await over({
        url: s.ldapsUrl!,
        tls: { ca, cert, key },
        sasl: { mechanism: 'EXTERNAL' },
        bindDN: undefined,
        password: undefined,
      }),
    ).toEqual([personDn(1)]);
  });

  test('an untrusted server certificate is a TlsError', async () => {
    const s = await slapd({ tls: true });
    const err = await firstValueFrom(syncrepl(options(s, { url: s.ldapsUrl! }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as Error).message).toMatch(/tls\.ca/);
    const err2 = await firstValueFrom(syncrepl(options(s, { startTLS: true }))).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(TlsError);
  });
});

test('memoryCookieStore keeps the last cookie', async () => {
  const s = await slapd();
  const store = memoryCookieStore();
  const messages = await refreshOnly(s, { cookieStore: store });
  await new Promise((r) => setTimeout(r, 20));
  expect(store.cookie).toBe((messages.at(-1) as { cookie?: string }).cookie);
});

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
