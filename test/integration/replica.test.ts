/**
 * The change model against a real slapd (issue 3): `replicateFrom(store, cookie => syncrepl(...))`
 * with an LmdbStore across restarts, crashes (SIGKILL of a consumer process mid-refresh), identity
 * changes, present and delete phases, and a reset after e-syncRefreshRequired. Every test ends by
 * comparing the replica with `ldapsearch` for the same bind, base, scope, filter and attributes
 * (docs/design.md invariant 1). The randomized equivalence test is in replica-random.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { filter, lastValueFrom, map, take, tap, toArray, type Observable } from 'rxjs';
import { afterEach, describe, expect, test } from 'vitest';
import type { Change, Entry } from '../../packages/core/src/replica/changes.js';
import { replicate, replicateFrom } from '../../packages/core/src/replica/replicate.js';
import { LmdbStore } from '../../packages/core/src/stores/lmdb.js';
import { MemoryStore } from '../../packages/core/src/stores/memory.js';
import type { ReplicaBatch } from '../../packages/core/src/stores/store.js';
import type { Logger } from '../../packages/core/src/logger.js';
import type { SyncMessage } from '../../packages/core/src/sync/messages.js';
import { syncrepl } from '../../packages/core/src/sync/syncrepl.js';
import type { SyncreplOptions } from '../../packages/core/src/sync/syncrepl.js';
import { compareCsn, parseCookie } from '../../packages/core/src/protocol/cookie.js';
import {
  joinLdif,
  ldifDelete,
  ldifModify,
  ldifEntry,
  ldifModrdn,
  binaryValue,
  peopleLdif,
  personAttributes,
  personDn,
  personLdif,
} from '../fixtures/ldif.js';
import {
  ChangeFolder,
  canonical,
  consume,
  entryChangeSummaries,
  expectedChanges,
  identityOf,
  ldapSnapshot,
  memoryLogger,
  lineDifferences,
  snapshotDifferences,
  snapshotOf,
  spawnConsumer,
  tempDir,
  viewOf,
  type CanonicalEntry,
  type Consumer,
  type ConsumerProcess,
} from '../fixtures/replica-helpers.js';
import { startSlapd, type Slapd, type SlapdOptions } from '../fixtures/slapd.js';

const SUFFIX = 'dc=example,dc=com';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
/** A cookie older than every entry, for the provider's serverID 1 (docs/research-4096.md). */
const STALE_COOKIE = 'rid=000,sid=001,csn=20000101000000.000000Z#000000#001#000000';
const NONE = { unexpected: [], missing: [] };
const quiet: Logger = { info: () => {}, warn: () => {} };

// --- bookkeeping: every slapd, store, consumer and directory is closed after each test -------

const servers: Slapd[] = [];
let stores: LmdbStore[] = [];
const consumers: Consumer[] = [];
const processes: ConsumerProcess[] = [];
const dirs: { remove(): void }[] = [];

afterEach(async () => {
  for (const p of processes.splice(0)) await p.kill();
  for (const c of consumers.splice(0)) c.stop();
  for (const store of stores.splice(0)) await store.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) d.remove();
});

async function slapd(options: SlapdOptions = {}): Promise<Slapd> {
  const s = await startSlapd({ ldif: peopleLdif(20), ...options });
  servers.push(s);
  return s;
}

function directory(): string {
  const d = tempDir('syncrepl-rx-replica-');
  dirs.push(d);
  return d.path;
}

async function openStore(dir: string, options: SyncreplOptions, logger = quiet): Promise<LmdbStore> {
  const store = await LmdbStore.open(dir, { identity: identityOf(options), logger });
  stores.push(store);
  return store;
}

async function closeStore(store: LmdbStore): Promise<void> {
  await store.close();
  stores = stores.filter((s) => s !== store);
}

function start(...args: Parameters<typeof consume>): Consumer {
  const c = consume(...args);
  consumers.push(c);
  return c;
}

function reader(s: Slapd, extra: Partial<SyncreplOptions> = {}): SyncreplOptions {
  return { url: s.url, bindDN: s.readerDN, password: s.readerPassword, base: PEOPLE, ...extra };
}

async function uuidOf(s: Slapd, dn: string): Promise<string> {
  const [e] = await s.search(dn, 'base', '(objectClass=*)', ['entryUUID']);
  const v = e?.attributes.entryUUID?.[0];
  if (typeof v !== 'string') throw new Error(`no entryUUID for ${dn}`);
  return v;
}

const readies = (changes: readonly Change[]): number => changes.filter((c) => c.type === 'ready').length;
const entriesOf = (changes: readonly Change[]): Map<string, Entry> =>
  new Map(changes.flatMap((c): [string, Entry][] => (c.type === 'add' ? [[c.entryUUID, c.entry]] : [])));
const lastCookie = (changes: readonly Change[]): string | undefined => {
  const ready = changes.findLast((c) => c.type === 'ready');
  return ready?.type === 'ready' ? ready.cookie : undefined;
};
const phaseOf = (wire: readonly SyncMessage[]): string[] =>
  wire.flatMap((m) =>
    m.type === 'refreshPresent' || m.type === 'refreshDelete'
      ? [m.type]
      : m.type === 'syncIdSet'
        ? [`syncIdSet(refreshDeletes=${String(m.refreshDeletes)})`]
        : m.type === 'delete'
          ? ['delete']
          : [],
  );

/** The replica equals what ldapsearch returns for the consumer's view, entry by entry. */
async function expectEqualsLdap(s: Slapd, options: SyncreplOptions, replica: Iterable<[string, Entry]>) {
  const ldap = await ldapSnapshot(s, viewOf(options));
  expect(ldap.length).toBeGreaterThan(0);
  expect(snapshotDifferences(snapshotOf(replica), ldap), 'replica vs ldapsearch').toEqual([]);
  return ldap;
}

// --- 1. restart -------------------------------------------------------------------------------

describe('restart from an LmdbStore (issue 3 §3)', () => {
  test.each([
    { phase: 'delete phase', sessionlog: 100 as const, how: 'unsubscribe' },
    { phase: 'present phase', sessionlog: false as const, how: 'unsubscribe' },
    { phase: 'delete phase', sessionlog: 100 as const, how: 'the stop signal' },
  ])(
    '$phase, stopped by $how: only the four changes made while down, with the correct old, new and diff, then ready',
    async ({ phase, sessionlog, how }) => {
      const s = await slapd({ sessionlog });
      const options = reader(s);
      const dir = directory();

      let store = await openStore(dir, options);
      const stop = new AbortController();
      const first = start(store, how === 'unsubscribe' ? options : { ...options, stop: stop.signal });
      const initial = await first.ready();
      expect(initial.map((c) => c.type)).toEqual([...Array<string>(21).fill('add'), 'ready']);
      const cookie = lastCookie(initial);
      expect(cookie).toMatch(/csn=/);
      if (how === 'unsubscribe') {
        first.stop();
      } else {
        // Graceful: Cancel (RFC 3909), then the stream completes once the replica is saved.
        stop.abort();
        await first.changes.ended();
        expect(first.changes.completed).toBe(true);
        expect(first.changes.error).toBeUndefined();
      }
      await closeStore(store);
      const before = entriesOf(initial);

      // While the consumer is down: modify one, rename one, delete one, add one.
      const modified = await uuidOf(s, personDn(1));
      const renamed = await uuidOf(s, personDn(2));
      const deleted = await uuidOf(s, personDn(3));
      await s.modify(
        joinLdif([
          ldifModify(personDn(1), [
            { op: 'replace', attribute: 'title', values: ['Changed while down'] },
            { op: 'add', attribute: 'description', values: ['second value'] },
          ]),
          ldifModrdn(personDn(2), 'uid=renamed2'),
          ldifDelete(personDn(3)),
        ]),
      );
      await s.add(personLdif(100));
      const added = await uuidOf(s, personDn(100));
      const ldap = await ldapSnapshot(s, viewOf(options));
      const inLdap = (entryUUID: string): CanonicalEntry | undefined =>
        ldap.find((e) => e.entryUUID === entryUUID);

      store = await openStore(dir, options);
      expect(store.cookie).toBe(cookie);
      expect(store.size).toBe(21);
      const second = start(store, options);
      const changes = await second.ready();
      // Resumed from the stored cookie: no full reload on the wire.
      expect(second.connectedWith).toEqual([cookie]);
      expect(second.wire.filter((m) => m.type === 'add').map((m) => m.dn)).toEqual(
        expect.arrayContaining([personDn(1), `uid=renamed2,${PEOPLE}`, personDn(100)]),
      );
      expect(second.wire.filter((m) => m.type === 'add' || m.type === 'present')).toHaveLength(3);
      if (phase === 'delete phase') {
        expect(phaseOf(second.wire)).toEqual(['syncIdSet(refreshDeletes=true)', 'refreshDelete']);
      } else {
        expect(phaseOf(second.wire)).toEqual(['syncIdSet(refreshDeletes=false)', 'refreshPresent']);
      }

      // Exactly four changes, then one ready (last).
      expect(changes.map((c) => c.type).sort()).toEqual(['add', 'delete', 'modify', 'ready', 'rename']);
      expect(changes.at(-1)).toEqual({ type: 'ready', cookie: expect.stringMatching(/csn=/) });
      const byType = <T extends Change['type']>(type: T) =>
        changes.find((c): c is Extract<Change, { type: T }> => c.type === type)!;

      const modify = byType('modify');
      expect(modify).toMatchObject({ entryUUID: modified, dn: personDn(1), old: before.get(modified) });
      expect(canonical(modified, modify.new)).toEqual(inLdap(modified));
      expect(modify.diff).toEqual({
        title: { added: ['Changed while down'], removed: ['Analyst'] },
        description: { added: ['second value'], removed: [] },
      });

      const rename = byType('rename');
      expect(rename).toMatchObject({
        entryUUID: renamed,
        oldDn: personDn(2),
        newDn: `uid=renamed2,${PEOPLE}`,
        old: before.get(renamed),
      });
      expect(canonical(renamed, rename.new)).toEqual(inLdap(renamed));
      expect(rename.diff).toEqual({ uid: { added: ['renamed2'], removed: ['user000002'] } });

      expect(byType('delete')).toEqual({
        type: 'delete',
        entryUUID: deleted,
        dn: personDn(3),
        old: before.get(deleted),
      });

      const add = byType('add');
      expect(add).toMatchObject({ entryUUID: added, dn: personDn(100) });
      expect(canonical(added, add.entry)).toEqual(inLdap(added));

      // The replica equals the directory, and so does the store after another restart.
      expect(snapshotOf(store.entries())).toEqual(ldap);
      const readyCookie = lastCookie(changes);
      second.stop();
      await closeStore(store);
      store = await openStore(dir, options);
      expect(store.cookie).toBe(readyCookie);
      expect(snapshotOf(store.entries())).toEqual(ldap);
    },
  );
});

describe('stopping mid-refresh', () => {
  test('unsubscribing mid-refresh keeps exactly what was emitted, under no cookie; a restart completes it', async () => {
    const s = await slapd({ ldif: peopleLdif(3000) });
    const options = reader(s);
    const dir = directory();
    let store = await openStore(dir, options);
    // take() unsubscribes synchronously at the 1500th change: mid-refresh, with 1000 entries
    // committed in a batch (maxBatch) and 500 staged, which the teardown must save.
    const emitted = await lastValueFrom(
      replicateFrom(store, (cookie) => syncrepl({ ...options, cookie })).pipe(take(1500), toArray()),
    );
    expect(emitted.every((c) => c.type === 'add')).toBe(true);
    await closeStore(store);

    store = await openStore(dir, options);
    expect(store.cookie).toBeUndefined();
    expect(store.size).toBe(1500);
    expect(snapshotDifferences(snapshotOf(store.entries()), snapshotOf(entriesOf(emitted)))).toEqual([]);

    const consumer = start(store, options);
    const changes = await consumer.ready();
    expect(consumer.connectedWith).toEqual([undefined]);
    const ldap = await expectEqualsLdap(s, options, store.entries());
    expect(changes.map((c) => c.type)).toEqual([...Array<string>(ldap.length - 1500).fill('add'), 'ready']);
  });
});

describe('resume diagnostics', () => {
  // slapd's present phase lists every entry that matches now, new ones included, in syncIdSets
  // *before* it sends the new entries themselves (docs/research-4096.md (b) 2): a presented UUID
  // the replica does not hold yet is only unknown if its entry never arrives.
  test('a present-phase resume that brings a new entry does not warn that the replica may be incomplete', async () => {
    const s = await slapd({ sessionlog: false });
    const options = reader(s);
    const store = new MemoryStore();
    const first = start(store, options);
    await first.ready();
    first.stop();
    await s.add(personLdif(100));

    const logger = memoryLogger();
    const second = start(store, options, { logger });
    const changes = await second.ready();
    expect(phaseOf(second.wire)).toEqual(['syncIdSet(refreshDeletes=false)', 'refreshPresent']);
    expect(changes.map((c) => c.type)).toEqual(['add', 'ready']);
    await expectEqualsLdap(s, options, store.entries());
    expect(logger.lines).toEqual([]);
  });
});

// --- 2. crash safety --------------------------------------------------------------------------

describe('crash safety: SIGKILL of a consumer process', () => {
  const ENTRIES = Number(process.env.SYNCREPL_RX_CRASH_ENTRIES ?? 20_000);
  const MAX_BATCH = 200;

  /**
   * Right after a kill, before anything resumes: the stored cookie is never ahead of the stored
   * entries. Every entry of the directory whose entryCSN is not newer than the cookie's CSN is
   * covered by that cookie, so the store must hold it exactly as the directory does (nothing
   * changed in LDAP since the consumer died). Returns how many entries the cookie covers.
   */
  async function expectCookieNotAhead(s: Slapd, options: SyncreplOptions, store: LmdbStore): Promise<number> {
    const csn = store.cookie === undefined ? undefined : parseCookie(store.cookie)?.csns.get('001');
    if (csn === undefined) return 0;
    const csns = new Map<string, string>();
    const ldap = new Map((await ldapSnapshot(s, viewOf(options), csns)).map((e) => [e.entryUUID, e]));
    let covered = 0;
    const wrong: string[] = [];
    for (const [entryUUID, entryCsn] of csns) {
      if (compareCsn(entryCsn, csn) > 0) continue;
      covered++;
      const held = store.get(entryUUID);
      const expected = ldap.get(entryUUID);
      if (held === undefined || JSON.stringify(canonical(entryUUID, held)) !== JSON.stringify(expected))
        wrong.push(`${entryUUID} ${expected?.dn ?? '?'}`);
    }
    expect(
      wrong.slice(0, 10),
      `entries covered by the stored cookie but not stored (${wrong.length})`,
    ).toEqual([]);
    return covered;
  }

  async function consumerProcess(s: Slapd, dir: string): Promise<ConsumerProcess> {
    const child = await spawnConsumer(
      {
        dir,
        url: s.url,
        bindDN: s.readerDN,
        base: PEOPLE,
        maxBatch: MAX_BATCH,
        progressEvery: 500,
        yieldEvery: 100,
        lifetimeMs: 60_000,
      },
      s.readerPassword,
    );
    processes.push(child);
    return child;
  }

  /**
   * Runs a consumer process on `dir` and SIGKILLs it as soon as it reports `batches` batches
   * durable (more are in flight then). Returns the mutations those batches held.
   */
  async function runAndKill(s: Slapd, dir: string, batches: number): Promise<number> {
    const child = await consumerProcess(s, dir);
    try {
      await child.waitFor((line) => line.startsWith(`committed ${batches} `));
    } finally {
      await child.kill();
    }
    // Killed mid-refresh: it never reached ready.
    expect(child.lines.filter((line) => !/^(open|n|committed) /.test(line))).toEqual([]);
    const committed = child.lines.filter((line) => line.startsWith('committed '));
    // Refresh batches carry the cookie the refresh started from, never a newer one.
    expect(new Set(committed.map((line) => line.split(' ')[3]))).toHaveProperty('size', 1);
    return committed.reduce((sum, line) => sum + Number(line.split(' ')[2]), 0);
  }

  test(`kill -9 during a ${ENTRIES}-entry initial load, during a resume and in persist: the cookie is never ahead, and each restart ends equal to ldapsearch`, async () => {
    const s = await slapd({ ldif: peopleLdif(ENTRIES), extraConfig: 'dbnosync' });
    const options = reader(s);
    const dir = directory();
    const logger = memoryLogger();

    // (a) Killed during the initial load (a refresh from no cookie), after 20 % was durable.
    const durable = await runAndKill(s, dir, Math.ceil((ENTRIES * 0.2) / MAX_BATCH));
    let store = await openStore(dir, options, logger);
    // A full load has no cookie to commit until it completes: the stored cookie is not ahead.
    expect(store.cookie).toBeUndefined();
    // Every batch reported durable is there; each stored entry is exactly the directory's.
    expect(store.size).toBeGreaterThanOrEqual(durable);
    expect(store.size).toBeLessThan(ENTRIES);
    const partial = snapshotOf(store.entries());
    const ldapBefore = new Map((await ldapSnapshot(s, viewOf(options))).map((e) => [e.entryUUID, e]));
    expect(
      partial.filter((e) => JSON.stringify(e) !== JSON.stringify(ldapBefore.get(e.entryUUID))).slice(0, 5),
    ).toEqual([]);
    await closeStore(store);

    // Changes between the kill and the restart, to entries the store holds and to others. (Only
    // people numbered 3k+2 above 20: the wave of (b) and its follow-up touch the others.)
    const spare = (dn: string): boolean => {
      const n = Number(/^uid=user(\d+),/.exec(dn)?.[1] ?? -1);
      return n > 20 && n % 3 === 2;
    };
    const heldUUIDs = new Set(partial.map((e) => e.entryUUID));
    const held = partial.filter((e) => spare(e.dn)).map((e) => e.dn);
    const notHeld = [...ldapBefore.values()].filter((e) => !heldUUIDs.has(e.entryUUID) && spare(e.dn));
    const heldDn = (k: number): string => held[k * 7]!;
    const otherDn = (k: number): string => notHeld[k * 11]!.dn;
    await s.modify(
      joinLdif([
        ldifModify(heldDn(0), [{ op: 'replace', attribute: 'title', values: ['after the crash'] }]),
        ldifModify(heldDn(1), [{ op: 'delete', attribute: 'telephoneNumber' }]),
        ldifModrdn(heldDn(2), 'uid=crash-renamed'),
        ldifDelete(heldDn(3)),
        ldifDelete(heldDn(4)),
        ldifModify(otherDn(0), [{ op: 'replace', attribute: 'title', values: ['after the crash'] }]),
        ldifDelete(otherDn(1)),
      ]),
    );
    await s.add(personLdif(ENTRIES + 1));

    store = await openStore(dir, options, logger);
    const folder = new ChangeFolder(store.entries());
    const resumed = start(store, options);
    const changes = await resumed.ready(1, 60_000);
    let ldap = await expectEqualsLdap(s, options, store.entries());
    // Exactly the difference between what the crash left and the directory: every stored entry
    // that changed as a modify / rename / delete with its stored `old`, every other one as add.
    expect(lineDifferences(entryChangeSummaries(changes), expectedChanges(partial, ldap))).toEqual(NONE);
    for (const change of changes) folder.apply(change);
    expect(folder.problems).toEqual([]);
    expect(snapshotDifferences(snapshotOf(folder.state), ldap), 'changes applied vs ldapsearch').toEqual([]);
    const c1 = lastCookie(changes);
    expect(c1).toMatch(/csn=/);
    resumed.stop();
    await closeStore(store);

    // (b) Killed during a resume (a present phase): a wave of changes makes the refresh long.
    const MODIFIED = Math.min(6000, Math.floor(ENTRIES / 3));
    const records: string[] = [];
    for (let i = 0; i < MODIFIED; i++)
      records.push(
        ldifModify(personDn(i * 3), [{ op: 'replace', attribute: 'title', values: [`wave ${i}`] }]),
      );
    for (let i = 0; i < 50; i++) records.push(ldifDelete(personDn(i * 3 + 1)));
    await s.modify(joinLdif(records));
    store = await openStore(dir, options, logger);
    const beforeResume = snapshotOf(store.entries());
    await closeStore(store);

    const durableResume = await runAndKill(s, dir, Math.ceil((MODIFIED * 0.2) / MAX_BATCH));
    store = await openStore(dir, options, logger);
    // Cookies of a refresh are held back until it completes: still the cookie of (a) ...
    expect(store.cookie).toBe(c1);
    // ... and everything that cookie covers is in the store, as it is in the directory.
    expect(await expectCookieNotAhead(s, options, store)).toBeGreaterThan(ENTRIES / 2);
    // The batches reported durable are there: entries stored ahead of the cookie (safe, a
    // resume from it sends them again), and the deletes the sweep owes are not done yet.
    const afterKill = snapshotOf(store.entries());
    const progress = expectedChanges(beforeResume, afterKill);
    expect(progress.length).toBeGreaterThanOrEqual(durableResume);
    expect(progress.filter((line) => !line.startsWith('modify '))).toEqual([]);
    await closeStore(store);

    // More changes while down. The next consumer completes the interrupted resume, then ...
    await s.modify(
      joinLdif([
        ldifModify(personDn(5), [{ op: 'replace', attribute: 'title', values: ['after the second crash'] }]),
        ldifDelete(personDn(8)),
        ldifModrdn(personDn(11), 'uid=crash-renamed-2'),
      ]),
    );

    // (c) ... is killed in the persist stage, in the middle of a burst of changes (one batch,
    // with its cookie, per change). People 3k exist: (a) and (b) removed others only.
    const BURST = Math.min(3000, Math.floor(ENTRIES / 4));
    const burstDns = Array.from({ length: BURST }, (_, i) => personDn(i * 3));
    const burst = burstDns.map((dn, i) =>
      ldifModify(dn, [{ op: 'replace', attribute: 'title', values: [`burst ${i}`] }]),
    );
    let c2: string | undefined;
    const child = await consumerProcess(s, dir);
    let modifying: Promise<void> | undefined;
    try {
      c2 = (await child.waitFor((line) => line.startsWith('ready'))).split(' ')[2];
      modifying = s.modify(joinLdif(burst));
      modifying.catch(() => undefined); // awaited below, after the kill
      let persisting = false;
      let batches = 0;
      await child.waitFor((line) => {
        if (line.startsWith('ready')) persisting = true;
        else if (persisting && line.startsWith('committed ')) batches++;
        return batches >= BURST / 10;
      });
    } finally {
      await child.kill();
    }
    await modifying;
    store = await openStore(dir, options, logger);
    const cookieCsn = (cookie: string | undefined): string =>
      parseCookie(cookie ?? '')?.csns.get('001') ?? '';
    // The cookie moved on with the persisted changes, but not past the end of the burst ...
    expect(c2).toMatch(/csn=/);
    expect(compareCsn(cookieCsn(store.cookie), cookieCsn(c2))).toBeGreaterThan(0);
    const newest = (await s.search(burstDns[BURST - 1]!, 'base', '(objectClass=*)', ['entryCSN']))[0]
      ?.attributes.entryCSN?.[0];
    expect(compareCsn(cookieCsn(store.cookie), String(newest))).toBeLessThan(0);
    // ... and everything it covers is stored.
    expect(await expectCookieNotAhead(s, options, store)).toBeGreaterThan(ENTRIES / 2);
    const afterPersistKill = snapshotOf(store.entries());
    const lastFolder = new ChangeFolder(store.entries());
    const resumedAgain = start(store, options);
    const last = await resumedAgain.ready(1, 60_000);
    ldap = await expectEqualsLdap(s, options, store.entries());
    expect(lineDifferences(entryChangeSummaries(last), expectedChanges(afterPersistKill, ldap))).toEqual(
      NONE,
    );
    expect(entryChangeSummaries(last).length).toBeGreaterThan(0);
    for (const change of last) lastFolder.apply(change);
    expect(lastFolder.problems).toEqual([]);

    // Only one identity was ever used: nothing was discarded on the way.
    expect(logger.lines.filter((line) => line.startsWith('warn'))).toEqual([]);
  }, 90_000);
});

// --- 3. identity ------------------------------------------------------------------------------

describe('identity: a store reused for another view starts from an empty replica', () => {
  test.each([
    {
      what: 'filter',
      other: (s: Slapd) => reader(s, { filter: '(objectClass=inetOrgPerson)' }),
      mentions: /filter=\(objectClass=\*\).*not of .*filter=\(objectClass=inetOrgPerson\)/,
    },
    {
      what: 'base',
      other: (s: Slapd) => reader(s, { base: SUFFIX }),
      mentions: /base="ou=people,dc=example,dc=com".*not of .*base="dc=example,dc=com"/,
    },
    {
      what: 'scope',
      other: (s: Slapd) => reader(s, { scope: 'one' }),
      mentions: /scope=sub .*not of .*scope=one /,
    },
    {
      what: 'attribute list',
      other: (s: Slapd) => reader(s, { attributes: ['uid', 'cn'] }),
      mentions: /attributes=\* .*not of .*attributes=cn,uid /,
    },
    {
      what: 'bind DN',
      other: (s: Slapd) => reader(s, { bindDN: s.rootDN, password: s.rootPassword }),
      mentions: /as cn=reader,dc=example,dc=com, not of .* as cn=admin,dc=example,dc=com/,
    },
  ])(
    'another $what: a full refresh (every entry an add) and a clear log line',
    async ({ other, mentions }) => {
      const s = await slapd();
      const options = reader(s);
      const dir = directory();
      let store = await openStore(dir, options);
      const first = start(store, options);
      await first.ready();
      first.stop();
      await closeStore(store);
      // Control: the same identity keeps the replica.
      store = await openStore(dir, options);
      expect(store.size).toBe(21);
      await closeStore(store);

      const next = other(s);
      const logger = memoryLogger();
      store = await openStore(dir, next, logger);
      const warnings = logger.lines.filter((line) => line.startsWith('warn: '));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^warn: Replica store at .* holds a replica of /);
      expect(warnings[0]).toMatch(mentions);
      expect(warnings[0]).toMatch(/starting from an empty replica \(a full refresh follows\)/);
      expect(warnings[0]).not.toContain(s.readerPassword);
      expect(warnings[0]).not.toContain(s.rootPassword);
      expect(store.size).toBe(0);
      expect(store.cookie).toBeUndefined();

      const consumer = start(store, next);
      const changes = await consumer.ready();
      expect(consumer.connectedWith).toEqual([undefined]);
      const ldap = await expectEqualsLdap(s, next, store.entries());
      // reset first: whoever folded the old view's changes must drop them
      expect(changes[0]).toEqual({ type: 'reset', reason: 'storeDiscarded' });
      expect(changes.map((c) => c.type)).toEqual([
        'reset',
        ...Array<string>(ldap.length).fill('add'),
        'ready',
      ]);
    },
  );
});

// --- 4. sweep rules ---------------------------------------------------------------------------

describe('sweeps on real slapd', () => {
  test.each([
    { phase: 'present phase', sessionlog: false as const },
    { phase: 'delete phase', sessionlog: 100 as const },
  ])(
    '$phase: a resume deletes exactly the entries that left the content meanwhile, each with its old',
    async ({ phase, sessionlog }) => {
      const s = await slapd({ sessionlog });
      // The filter lets a modify take an entry out of the content.
      const options = reader(s, { filter: '(!(businessCategory=hidden))' });
      const dir = directory();
      let store = await openStore(dir, options);
      const first = start(store, options);
      const initial = await first.ready();
      first.stop();
      await closeStore(store);
      const before = entriesOf(initial);
      const snapshotBefore = snapshotOf(before);

      // Leave the content: three deletes, a move out of the base, a modify out of the filter.
      const gone = await Promise.all([4, 5, 6, 7, 8].map((i) => uuidOf(s, personDn(i))));
      await s.modify(
        joinLdif([
          ldifDelete(personDn(4)),
          ldifDelete(personDn(5)),
          ldifDelete(personDn(6)),
          ldifModrdn(personDn(7), 'uid=user000007', { newSuperior: GROUPS }),
          ldifModify(personDn(8), [{ op: 'add', attribute: 'businessCategory', values: ['hidden'] }]),
        ]),
      );

      store = await openStore(dir, options);
      const consumer = start(store, options);
      const changes = await consumer.ready();
      const ldap = await expectEqualsLdap(s, options, store.entries());
      expect(ldap).toHaveLength(16);
      expect(changes.slice(0, -1)).toEqual(
        expect.arrayContaining(
          gone.map((entryUUID) => ({
            type: 'delete',
            entryUUID,
            dn: before.get(entryUUID)!.dn,
            old: before.get(entryUUID),
          })),
        ),
      );
      expect(changes.map((c) => c.type)).toEqual(['delete', 'delete', 'delete', 'delete', 'delete', 'ready']);
      expect(entryChangeSummaries(changes)).toEqual(expectedChanges(snapshotBefore, ldap));
      const wirePhase = phaseOf(consumer.wire);
      expect(wirePhase.at(-1)).toBe(phase === 'present phase' ? 'refreshPresent' : 'refreshDelete');
    },
  );

  test('reset after e-syncRefreshRequired: reset, then deletes for every ghost before ready, then equal to ldapsearch', async () => {
    const s = await slapd({ reloadhint: true, sessionlog: 100 });
    const options = reader(s, { reconnect: { initialDelay: 10, maxDelay: 100 } });
    const dir = directory();
    let store = await openStore(dir, options);
    const first = start(store, options);
    await first.ready();
    first.stop();
    // The store now also holds an entry the directory never had, and a cookie the server
    // cannot honour any more (older than every entry).
    const ghostUUID = '00000000-dead-4bee-8000-000000000001';
    const ghost: Entry = {
      dn: `uid=ghost,${PEOPLE}`,
      attributes: { objectClass: ['inetOrgPerson'], uid: ['ghost'], cn: ['Ghost'], sn: ['Ghost'] },
    };
    await store.commit({ mutations: new Map([[ghostUUID, ghost]]), cookie: STALE_COOKIE });
    await closeStore(store);

    const deleted = await uuidOf(s, personDn(9));
    const modified = await uuidOf(s, personDn(10));
    await s.modify(
      joinLdif([
        ldifDelete(personDn(9)),
        ldifModify(personDn(10), [{ op: 'replace', attribute: 'title', values: ['Reloaded'] }]),
      ]),
    );
    await s.add(personLdif(101));
    const added = await uuidOf(s, personDn(101));

    store = await openStore(dir, options);
    const before = snapshotOf(store.entries());
    const held = new Map(store.entries());
    expect(store.cookie).toBe(STALE_COOKIE);
    const consumer = start(store, options);
    const changes = await consumer.ready();

    // The server refused the cookie and the stream reloaded everything.
    expect(consumer.connectedWith).toEqual([STALE_COOKIE]);
    expect(consumer.wire[0]).toEqual({ type: 'reset', reason: 'refreshRequired' });
    expect(consumer.wire.filter((m) => m.type === 'add')).toHaveLength(21);

    expect(changes[0]).toEqual({ type: 'reset', reason: 'refreshRequired' });
    expect(changes.at(-1)).toEqual({ type: 'ready', cookie: expect.stringMatching(/csn=20[2-9]/) });
    expect(readies(changes)).toBe(1);
    const middle = changes.slice(1, -1);
    expect(middle.map((c) => c.type).sort()).toEqual(['add', 'delete', 'delete', 'modify']);
    expect(middle).toEqual(
      expect.arrayContaining([
        { type: 'delete', entryUUID: ghostUUID, dn: ghost.dn, old: ghost },
        { type: 'delete', entryUUID: deleted, dn: personDn(9), old: held.get(deleted) },
        expect.objectContaining({ type: 'modify', entryUUID: modified, old: held.get(modified) }),
        expect.objectContaining({ type: 'add', entryUUID: added, dn: personDn(101) }),
      ]),
    );
    const ldap = await expectEqualsLdap(s, options, store.entries());
    expect(entryChangeSummaries(changes)).toEqual(expectedChanges(before, ldap));

    // Persisted: a fresh cookie, no ghosts.
    const cookie = lastCookie(changes);
    consumer.stop();
    await closeStore(store);
    store = await openStore(dir, options);
    expect(store.cookie).toBe(cookie);
    expect(store.has(ghostUUID)).toBe(false);
    expect(snapshotOf(store.entries())).toEqual(ldap);
  });
});

describe('entry records: replicate() straight from syncrepl() or with entryRecords through operators (records), through an operator or as copies (encoded)', () => {
  test('give the same changes and the same replica, binary values and binaryAttributes included', async () => {
    const photo = (i: number, dn: string, value: Buffer) =>
      ldifEntry(dn, { ...personAttributes(i), jpegPhoto: value });
    const s = await slapd({
      ldif: joinLdif([
        peopleLdif(5),
        photo(90, personDn(90, PEOPLE), binaryValue(90)), // not UTF-8: bytes either way
        photo(91, personDn(91, PEOPLE), Buffer.from('plain text')), // UTF-8: bytes by declaration
      ]),
    });
    const options = reader(s, { reconnect: false, binaryAttributes: ['jpegPhoto'] });
    const run = (messages$: Observable<SyncMessage>, store: MemoryStore) => {
      const changes: Change[] = [];
      const subscription = messages$.pipe(replicate({ store })).subscribe((c) => changes.push(c));
      return { changes, stop: () => subscription.unsubscribe() };
    };
    /** A MemoryStore that counts the entries it was given with and without their record. */
    class CountingStore extends MemoryStore {
      withRecord = 0;
      without = 0;
      override commit(batch: ReplicaBatch): void {
        for (const [uuid, entry] of batch.mutations) {
          if (entry === null) continue;
          if (batch.records?.has(uuid)) this.withRecord++;
          else this.without++;
        }
        super.commit(batch);
      }
    }
    const direct = new CountingStore();
    const piped = new CountingStore();
    // entryRecords: the records survive operators that pass the messages on...
    const tapped = new CountingStore();
    // ...and a copy of a message is an ordinary message (its attributes read from the record).
    const copied = new CountingStore();
    const a = run(syncrepl(options), direct);
    const b = run(syncrepl(options).pipe(map((m) => m)), piped);
    const c = run(
      syncrepl({ ...options, entryRecords: true }).pipe(
        tap(() => undefined),
        filter(() => true),
      ),
      tapped,
    );
    const d = run(
      syncrepl({ ...options, entryRecords: true }).pipe(
        map((m) => ('attributes' in m ? { ...m, attributes: m.attributes } : m)),
      ),
      copied,
    );
    const runs = [a, b, c, d];
    const settled = async (count: number) => {
      for (let i = 0; i < 200 && runs.some((r) => r.changes.length < count); i++) await sleep(25);
      for (const r of runs) expect(r.changes.length).toBe(count);
    };
    await settled(9); // ou=people, 5 people, 2 with photos; then ready
    await s.modify(
      joinLdif([
        ldifModify(personDn(90, PEOPLE), [
          { op: 'replace', attribute: 'jpegPhoto', values: [binaryValue(7)] },
        ]),
        ldifModify(personDn(91, PEOPLE), [{ op: 'replace', attribute: 'title', values: ['Photographer'] }]),
        ldifModrdn(personDn(1, PEOPLE), 'uid=renamed1'),
        ldifDelete(personDn(2, PEOPLE)),
      ]),
    );
    await settled(13);
    for (const r of runs) r.stop();

    const types = [...Array<string>(8).fill('add'), 'ready', 'modify', 'modify', 'rename', 'delete'];
    expect(a.changes.map((c) => c.type)).toEqual(types);
    expect(a.changes).toEqual(b.changes);
    expect(c.changes).toEqual(a.changes);
    expect(d.changes).toEqual(a.changes);
    // Straight, or with entryRecords through tap and filter: every entry stored as its record.
    for (const store of [direct, tapped])
      expect({ withRecord: store.withRecord > 8, without: store.without }).toEqual({
        withRecord: true,
        without: 0,
      });
    // Through an operator without the option, or as copies: every entry encoded by the store.
    for (const store of [piped, copied])
      expect({ withRecord: store.withRecord, without: store.without > 8 }).toEqual({
        withRecord: 0,
        without: true,
      });
    const photoChange = a.changes[9];
    if (photoChange?.type !== 'modify') throw new Error('expected the photo modify');
    expect(photoChange.old.attributes.jpegPhoto).toEqual([new Uint8Array(binaryValue(90))]);
    expect(photoChange.diff.jpegPhoto?.added).toEqual([new Uint8Array(binaryValue(7))]);
    const titleChange = a.changes[10];
    if (titleChange?.type !== 'modify') throw new Error('expected the title modify');
    // Text that is valid UTF-8 stays bytes after a trip through the store, as declared.
    expect(titleChange.old.attributes.jpegPhoto?.[0]).toBeInstanceOf(Uint8Array);
    expect(titleChange.new.attributes.jpegPhoto?.[0]).toBeInstanceOf(Uint8Array);
    expect(titleChange.diff).toEqual({ title: { added: ['Photographer'], removed: ['Analyst'] } });

    const sorted = (store: MemoryStore) => [...store.entries()].sort(([x], [y]) => x.localeCompare(y));
    for (const store of [piped, tapped, copied]) expect(sorted(store)).toEqual(sorted(direct));
    expect(snapshotOf(direct.entries())).toEqual(await ldapSnapshot(s, viewOf(options)));
  });

  test('an entryRecords message shows the same entry as an ordinary one: attributes decoded once, frozen; JSON alike', async () => {
    const s = await slapd({ ldif: peopleLdif(3) });
    const options = reader(s, { reconnect: false, mode: 'refreshOnly' });
    const plain = await lastValueFrom(syncrepl(options).pipe(toArray()));
    const recorded = await lastValueFrom(syncrepl({ ...options, entryRecords: true }).pipe(toArray()));
    expect(JSON.parse(JSON.stringify(recorded))).toEqual(JSON.parse(JSON.stringify(plain)));
    const entry = recorded.find((m) => m.type === 'add');
    if (entry?.type !== 'add') throw new Error('expected an add');
    expect(entry.attributes).toBe(entry.attributes); // decoded once
    expect(
      Object.isFrozen(entry) && Object.isFrozen(entry.attributes) && Object.isFrozen(entry.attributes.cn),
    ).toBe(true);
    expect(() => (entry.attributes.cn as string[]).push('x')).toThrow(TypeError);
  });
});
