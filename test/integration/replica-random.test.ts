/**
 * Randomized equivalence (issue 3 §4) against a real slapd and a real 389 Directory Server: random adds, modifies, modrdns, moves
 * (newSuperior between three OUs in the search base and one outside it) and deletes, in bursts,
 * while the connection randomly drops (slapd stopped and started: consumers reconnect with
 * backoff, and slapd's in-memory session log is lost, so both present and delete phases occur)
 * and the consumers randomly restart: one on an LmdbStore (closed and reopened), one on a
 * MemoryStore that is kept (sometimes with a stale cookie, which slapd answers with
 * e-syncRefreshRequired: a reset and a full reload).
 *
 * At the end, each replica must equal ldapsearch's answer for the same search (bind, base, scope,
 * filter, attributes), and the stream of changes, applied in order to a map that started empty,
 * must give the same state, every `old` matching what the stream said before.
 *
 * The seed is in each test name and assertion message. SYNCREPL_RX_SEED=<n> replays one seed,
 * SYNCREPL_RX_ITERATIONS sets how many seeds run (default 5; the first SYNCREPL_RX_389DS_ITERATIONS of
 * them, default 2, also against 389-ds), SYNCREPL_RX_OPERATIONS how many
 * operations each makes (default 60). A soak:
 *   SYNCREPL_RX_ITERATIONS=50 SYNCREPL_RX_OPERATIONS=150 npx vitest run integration/replica-random.test.ts
 */
import { afterEach, expect, onTestFailed, test } from 'vitest';
import { LmdbStore } from '../../packages/core/src/stores/lmdb.js';
import { MemoryStore } from '../../packages/core/src/stores/memory.js';
import type { ReplicaStore } from '../../packages/core/src/stores/store.js';
import type { SyncStatus, SyncreplOptions } from '../../packages/core/src/sync/syncrepl.js';
import { binaryValue, joinLdif, ldifDelete, ldifEntry, ldifModify, ldifModrdn } from '../fixtures/ldif.js';
import type { LdifAttributes } from '../fixtures/ldif.js';
import {
  ChangeFolder,
  consume,
  identityOf,
  ldapSnapshot,
  prng,
  snapshotDifferences,
  snapshotOf,
  tempDir,
  viewOf,
  type CanonicalEntry,
  type Consumer,
} from '../fixtures/replica-helpers.js';
import type { Directory, ServerKind } from '../fixtures/directory.js';
import { startDs389 } from '../fixtures/ds389.js';
import { startSlapd, type Slapd } from '../fixtures/slapd.js';

const SUFFIX = 'dc=example,dc=com';
const PEOPLE = `ou=people,${SUFFIX}`;
const STALE_COOKIE = 'rid=000,sid=001,csn=20000101000000.000000Z#000000#001#000000';

const OPERATIONS = Number(process.env.SYNCREPL_RX_OPERATIONS ?? 60);
const ITERATIONS = Number(process.env.SYNCREPL_RX_ITERATIONS ?? 5);
const SEEDS =
  process.env.SYNCREPL_RX_SEED !== undefined
    ? [Number(process.env.SYNCREPL_RX_SEED)]
    : ((first: number) => Array.from({ length: ITERATIONS }, (_, i) => (first + i) % 2 ** 31))(
        Math.floor(Math.random() * 2 ** 31),
      );

/** Where entries live: three OUs in the search base, one outside it. */
const OUS = {
  people: PEOPLE,
  a: `ou=a,${PEOPLE}`,
  b: `ou=b,${PEOPLE}`,
  outside: `ou=groups,${SUFFIX}`,
} as const;
type Ou = keyof typeof OUS;
const OU_NAMES = Object.keys(OUS) as Ou[];

interface ModelEntry {
  uid: string;
  ou: Ou;
}

const dnOf = (e: ModelEntry): string => `uid=${e.uid},${OUS[e.ou]}`;

/** The random directory changes, tracked in a small model so every operation is valid. */
class Generator {
  readonly entries: ModelEntry[] = [];
  #next = 0;

  constructor(readonly rnd: () => number) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rnd() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  newUid(): string {
    return `p${String(this.#next++).padStart(4, '0')}`;
  }

  attributes(uid: string): LdifAttributes {
    return {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid,
      cn: `Person ${uid}`,
      sn: this.pick(['Lovelace', 'Ødegaard', 'Hopper', 'Tanaka']),
      description: this.text(),
      mail: this.mails(),
      ...(this.chance(0.15) && { businessCategory: 'hidden' }),
      ...(this.chance(0.2) && { jpegPhoto: binaryValue(Math.floor(this.rnd() * 1000), 32) }),
    };
  }

  text(): string {
    return this.pick([
      'plain',
      'Ünïcødé ✓',
      'two  spaces',
      'x'.repeat(200),
      `n${Math.floor(this.rnd() * 1e6)}`,
    ]);
  }

  mails(): string[] {
    const n = Math.floor(this.rnd() * 4);
    return Array.from({ length: n }, () => `m${Math.floor(this.rnd() * 50)}@example.com`).filter(
      (v, i, all) => all.indexOf(v) === i,
    );
  }

  /** The initial content (slapadd): two OUs under people, and people in all four places. */
  initial(count: number): string {
    const records = [
      ldifEntry(OUS.a, { objectClass: 'organizationalUnit', ou: 'a' }),
      ldifEntry(OUS.b, { objectClass: 'organizationalUnit', ou: 'b' }),
    ];
    for (let i = 0; i < count; i++) {
      const entry = { uid: this.newUid(), ou: this.pick(OU_NAMES) };
      this.entries.push(entry);
      records.push(ldifEntry(dnOf(entry), this.attributes(entry.uid)));
    }
    return joinLdif(records);
  }

  /** One operation as an ldapmodify record, applied to the model, and a short description. */
  operation(): { ldif: string; what: string } {
    const kind =
      this.entries.length < 4
        ? 'add'
        : this.pick([
            'add',
            'add',
            'modify',
            'modify',
            'modify',
            'modify',
            'modrdn',
            'move',
            'move',
            'delete',
            'delete',
          ]);
    if (kind === 'add') {
      const entry = { uid: this.newUid(), ou: this.pick(OU_NAMES) };
      this.entries.push(entry);
      const record = ldifEntry(dnOf(entry), this.attributes(entry.uid)).replace('\n', '\nchangetype: add\n');
      return { ldif: record, what: `add ${dnOf(entry)}` };
    }
    const index = Math.floor(this.rnd() * this.entries.length);
    const entry = this.entries[index]!;
    const dn = dnOf(entry);
    switch (kind) {
      case 'modify': {
        const change = this.pick(['description', 'mail', 'title', 'hidden', 'photo', 'several'] as const);
        const mods: Parameters<typeof ldifModify>[1][number][] = [];
        if (change === 'description' || change === 'several')
          mods.push({ op: 'replace', attribute: 'description', values: [this.text()] });
        if (change === 'mail' || change === 'several')
          mods.push({ op: 'replace', attribute: 'mail', values: this.mails() });
        if (change === 'title') mods.push({ op: 'replace', attribute: 'title', values: [this.text()] });
        if (change === 'hidden' || (change === 'several' && this.chance(0.5)))
          mods.push({
            op: 'replace',
            attribute: 'businessCategory',
            values: this.chance(0.5) ? ['hidden'] : [],
          });
        if (change === 'photo')
          mods.push({
            op: 'replace',
            attribute: 'jpegPhoto',
            values: this.chance(0.7) ? [binaryValue(Math.floor(this.rnd() * 1000), 32)] : [],
          });
        return { ldif: ldifModify(dn, mods), what: `modify ${dn} (${change})` };
      }
      case 'modrdn': {
        const uid = this.newUid();
        const keepOld = this.chance(0.2);
        entry.uid = uid;
        return {
          ldif: ldifModrdn(dn, `uid=${uid}`, { deleteOldRdn: !keepOld }),
          what: `modrdn ${dn} -> uid=${uid}${keepOld ? ' (old rdn kept)' : ''}`,
        };
      }
      case 'move': {
        const to = this.pick(OU_NAMES.filter((ou) => ou !== entry.ou));
        entry.ou = to;
        return {
          ldif: ldifModrdn(dn, `uid=${entry.uid}`, { newSuperior: OUS[to] }),
          what: `move ${dn} -> ${OUS[to]}`,
        };
      }
      default:
        this.entries.splice(index, 1);
        return { ldif: ldifDelete(dn), what: `delete ${dn}` };
    }
  }
}

/** A consumer that restarts: its store, its subscription, and the changes it emitted, folded. */
interface Replica {
  name: string;
  store: ReplicaStore;
  consumer: Consumer | undefined;
  status: SyncStatus['state'] | undefined;
  folder: ChangeFolder;
  /** Changes of this subscription already folded. */
  folded: number;
  /** While stopped: the steps until it restarts. */
  downFor: number;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** 389-ds restarts take seconds (its shutdown waits for its database threads): fewer seeds there. */
const DS389_SEEDS = SEEDS.slice(0, Number(process.env.SYNCREPL_RX_389DS_ITERATIONS ?? 2));
const RUNS: [ServerKind, number][] = [
  ...SEEDS.map((seed): [ServerKind, number] => ['openldap', seed]),
  ...DS389_SEEDS.map((seed): [ServerKind, number] => ['389ds', seed]),
];

/**
 * The directory under test and a cookie it answers with e-syncRefreshRequired (4096): an OpenLDAP
 * cookie older than the session log (reloadhint), or a 389-ds cookie naming a change number the
 * server has not reached (sync_cookie_isvalid refuses it: "Invalid session cookie").
 */
async function startDirectory(
  server: ServerKind,
  rnd: () => number,
  ldif: string,
  log: string[],
): Promise<{ s: Directory; staleCookie: (current: string | undefined) => string }> {
  if (server === '389ds') {
    log.push('server: 389-ds (retro changelog, native cookies, nsUniqueId)');
    const s = await startDs389({ ldif });
    return {
      s,
      staleCookie: (current) =>
        current !== undefined && /#\d+$/.test(current)
          ? current.replace(/#\d+$/, '#999999999')
          : '#:#999999999',
    };
  }
  // No session log (every resume is a present phase), or a small one: resumes are delete
  // phases until it overflows or slapd restarts, then present phases.
  const sessionlog = rnd() < 1 / 3 ? false : 2 + Math.floor(rnd() * 9);
  log.push(`server: OpenLDAP, sessionlog: ${sessionlog}`);
  const s: Slapd = await startSlapd({ ldif, sessionlog, reloadhint: true, extraConfig: 'dbnosync' });
  return { s, staleCookie: () => STALE_COOKIE };
}

test.each(RUNS)(
  `%s, seed %i: random changes, drops and restarts end with each replica equal to ldapsearch (${OPERATIONS} operations)`,
  async (server, seed) => {
    const log: string[] = [];
    onTestFailed(() => {
      console.log(
        `${server} seed ${seed}: replay with SYNCREPL_RX_SEED=${seed}; last operations:\n${log.slice(-40).join('\n')}`,
      );
    });
    const rnd = prng(seed);
    const generator = new Generator(rnd);
    const { s, staleCookie } = await startDirectory(server, rnd, generator.initial(12), log);
    cleanup.push(() => s.close());
    const dir = tempDir('syncrepl-rx-random-');
    cleanup.push(() => dir.remove());

    const attributes =
      rnd() < 0.5 ? undefined : ['objectClass', 'uid', 'cn', 'description', 'mail', 'jpegPhoto'];
    const options: SyncreplOptions = {
      url: s.url,
      bindDN: s.readerDN,
      password: s.readerPassword,
      base: PEOPLE,
      // 389-ds cannot tell a resuming consumer that an entry left the filter by a modify (see
      // FILTER_EXIT in ds389.test.ts and docs/research-389ds.md): there the view takes every entry,
      // and the `hidden` modifies are plain modifies.
      filter: server === '389ds' ? '(objectClass=*)' : '(!(businessCategory=hidden))',
      ...(attributes && { attributes }),
      binaryAttributes: ['jpegPhoto'],
      reconnect: { initialDelay: 10, maxDelay: 100 },
    };
    log.push(`view: ${JSON.stringify({ ...viewOf(options), bind: 'reader' })}`);
    const context = (what: string): string => `${server} seed ${seed}: ${what}`;

    const openLmdb = (): Promise<LmdbStore> =>
      LmdbStore.open(dir.path, {
        identity: identityOf(options),
        logger: { info: () => {}, warn: (m) => log.push(`warn: ${m}`) },
      });
    const lmdb: Replica = {
      name: 'lmdb',
      store: await openLmdb(),
      consumer: undefined,
      status: undefined,
      folder: new ChangeFolder(),
      folded: 0,
      downFor: 0,
    };
    const memory: Replica = {
      name: 'memory',
      store: new MemoryStore(),
      consumer: undefined,
      status: undefined,
      folder: new ChangeFolder(),
      folded: 0,
      downFor: 0,
    };
    const replicas = [lmdb, memory];
    cleanup.push(async () => {
      for (const r of replicas) r.consumer?.stop();
      if (lmdb.store instanceof LmdbStore) await lmdb.store.close();
    });

    const subscribe = (r: Replica): void => {
      r.status = undefined;
      r.folded = 0;
      r.consumer = consume(r.store, { ...options, onStatus: (status) => (r.status = status.state) });
    };
    /** What the runs exercised, over all subscriptions: wire messages and changes, by kind. */
    const stats = new Map<string, number>();
    const count = (r: Replica): void => {
      for (const m of r.consumer?.wire ?? []) {
        const key =
          m.type === 'syncIdSet'
            ? `syncIdSet(${m.refreshDeletes ? 'deletes' : 'present'})`
            : m.type === 'refreshPresent' || m.type === 'refreshDelete' || m.type === 'reset'
              ? m.type
              : undefined;
        if (key !== undefined) stats.set(`wire ${key}`, (stats.get(`wire ${key}`) ?? 0) + 1);
      }
      for (const c of r.consumer?.changes.items ?? []) stats.set(c.type, (stats.get(c.type) ?? 0) + 1);
    };
    const fold = (r: Replica): void => {
      const items = r.consumer?.changes.items ?? [];
      for (; r.folded < items.length; r.folded++) r.folder.apply(items[r.folded]!);
    };
    const unsubscribe = (r: Replica): void => {
      r.consumer?.stop();
      fold(r);
      count(r);
      expect(r.consumer?.changes.error, context(`${r.name} stream error`)).toBeUndefined();
      r.consumer = undefined;
    };
    /** A replica caught up: persisting after a ready of this subscription, equal to `ldap`. */
    const caughtUp = (r: Replica, ldap: readonly CanonicalEntry[]): boolean =>
      r.status === 'persisting' &&
      (r.consumer?.changes.items.some((c) => c.type === 'ready') ?? false) &&
      snapshotDifferences(snapshotOf(r.store.entries()), ldap, 1).length === 0;

    for (const r of replicas) subscribe(r);
    for (const r of replicas) await r.consumer!.ready();

    /** Stops a consumer; it stays down (the directory changes meanwhile) for `steps` steps. */
    const stop = async (r: Replica, steps: number): Promise<void> => {
      unsubscribe(r);
      r.downFor = steps;
      if (r.store instanceof LmdbStore) await r.store.close();
    };
    /** Starts a stopped consumer again, from its store (the LMDB one reopened from disk). */
    const restart = async (r: Replica): Promise<void> => {
      r.downFor = 0;
      if (r === lmdb) lmdb.store = await openLmdb();
      // Everything emitted was saved: the store is what the changes said.
      expect(
        snapshotDifferences(snapshotOf(r.store.entries()), snapshotOf(r.folder.state)),
        context(`${r.name} store after a restart vs its changes`),
      ).toEqual([]);
      if (r === memory && rnd() < 0.3) {
        log.push('-- the memory consumer restarts with a stale cookie');
        memory.store = new MemoryStore({
          entries: memory.store.entries(),
          cookie: staleCookie(memory.store.cookie),
        });
      }
      subscribe(r);
    };

    /**
     * With the directory quiet: each running replica must catch up (persisting, after a ready of
     * its subscription) and then equal ldapsearch, and so must its changes applied in order.
     */
    const checkpoint = async (label: string): Promise<CanonicalEntry[]> => {
      const ldap = await ldapSnapshot(s, viewOf(options));
      log.push(`-- checkpoint (${label}): ${ldap.length} entries in the view`);
      for (const r of replicas) {
        if (r.consumer === undefined) continue;
        const deadline = Date.now() + 10_000;
        while (!caughtUp(r, ldap) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        fold(r);
        const where = `${r.name} at checkpoint ${label}`;
        expect(r.consumer.changes.error, context(`${where}: stream error`)).toBeUndefined();
        expect(r.status, context(`${where}: status`)).toBe('persisting');
        expect(
          snapshotDifferences(snapshotOf(r.store.entries()), ldap),
          context(`${where}: replica vs ldapsearch`),
        ).toEqual([]);
        // The changes, applied in order to an empty map, give the same state, consistently.
        expect(r.folder.problems, context(`${where}: change stream consistency`)).toEqual([]);
        expect(
          snapshotDifferences(snapshotOf(r.folder.state), ldap),
          context(`${where}: changes vs ldapsearch`),
        ).toEqual([]);
      }
      return ldap;
    };

    let done = 0;
    let checkpoints = 0;
    while (done < OPERATIONS) {
      // A burst of one to three operations in one ldapmodify call.
      const burst = Math.min(OPERATIONS - done, 1 + Math.floor(rnd() * 3));
      const ops = Array.from({ length: burst }, () => generator.operation());
      done += burst;
      log.push(...ops.map((op) => op.what));
      await s.modify(joinLdif(ops.map((op) => op.ldif)));
      for (const r of replicas) fold(r);

      // Consumers that were down long enough come back.
      for (const r of replicas) {
        if (r.consumer === undefined && --r.downFor <= 0) {
          log.push(`-- restart the ${r.name} consumer`);
          await restart(r);
        }
      }

      const event = rnd();
      if (event < 0.08) {
        log.push('-- server stop/start (connections drop, session log lost)');
        await s.stop();
        if (rnd() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.floor(rnd() * 50)));
        await s.start();
      } else if (event < 0.24) {
        const r = rnd() < 0.5 ? lmdb : memory;
        if (r.consumer !== undefined) {
          // Down for zero to four bursts of operations.
          const steps = Math.floor(rnd() * 5);
          log.push(`-- stop the ${r.name} consumer for ${steps} steps`);
          await stop(r, steps);
          if (steps === 0) await restart(r);
        }
      } else if (event < 0.34) {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(rnd() * 30)));
      } else if (event < 0.44) {
        await checkpoint(`${++checkpoints} after ${done} operations`);
      }
    }
    for (const r of replicas) if (r.consumer === undefined) await restart(r);

    const ldap = await checkpoint('final');
    // And the LMDB replica is on disk.
    unsubscribe(lmdb);
    unsubscribe(memory);
    await (lmdb.store as LmdbStore).close();
    lmdb.store = await openLmdb();
    expect(
      snapshotDifferences(snapshotOf(lmdb.store.entries()), ldap),
      context('reopened lmdb store vs ldapsearch'),
    ).toEqual([]);
    expect(
      log.filter((line) => line.startsWith('warn:')),
      context('store warnings'),
    ).toEqual([]);
    const events = log.filter((line) => line.startsWith('-- ') && !line.startsWith('-- checkpoint'));
    console.log(
      `${server} seed ${seed} (${log[0]}): ${done} operations, ${events.length} drops/restarts, ${checkpoints} checkpoints, ${ldap.length} entries at the end; ` +
        [...stats].map(([key, n]) => `${key} ${n}`).join(', '),
    );
  },
  120_000,
);
