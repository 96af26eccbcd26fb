/**
 * The core against a production topology (issue "Production topology" §1, §2): two OpenLDAP
 * providers in mirror mode (A serverID 1, B serverID 2) and a read-only replica of A
 * (test/fixtures/topology.ts), with writes on both providers while the consumer follows.
 *
 * - A cookie taken on one server resumes on another, and every live change arrives afterwards,
 *   whichever provider it was written on (counted by the sid of its entryCSN). slapd 2.5+ puts its
 *   own serverID in the cookie (`sid=`); sent back to the next server it would make that server
 *   withhold every change originating from (or relayed from) that serverID (syncprov_matchops).
 * - `url` as a list: a provider SIGKILLed or hung (SIGSTOP) mid-persist, and the consumer moves on.
 * - An LmdbStore carried between servers fetches only the delta; another view says `reset` first.
 * - The CLI: `-H "url1 url2"`, and `tail --store` against another URL of the same directory.
 *
 * Each replica ends compared with `ldapsearch` on the server it follows (entryUUIDs and
 * attributes, entryCSN included). Figures (detection times, delta sizes) are printed, not asserted.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Change, Entry } from '../../packages/core/src/replica/changes.js';
import { LmdbStore } from '../../packages/core/src/stores/lmdb.js';
import { MemoryStore } from '../../packages/core/src/stores/memory.js';
import type { ReplicaStore } from '../../packages/core/src/stores/store.js';
import type { SyncMessage } from '../../packages/core/src/sync/messages.js';
import type { SyncStatus, SyncreplOptions } from '../../packages/core/src/sync/syncrepl.js';
import { parseCookie } from '../../packages/core/src/protocol/cookie.js';
import { joinLdif, ldifDelete, ldifModify, peopleLdif, personDn, personLdif } from '../fixtures/ldif.js';
import type { Recording } from '../fixtures/record.js';
import {
  consume,
  ldapSnapshot,
  memoryLogger,
  snapshotDifferences,
  snapshotOf,
  tempDir,
  viewOf,
} from '../fixtures/replica-helpers.js';
import type { Slapd } from '../fixtures/slapd.js';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { requireBuiltCli, runCli } from '../fixtures/cli.js';

const PEOPLE = 'ou=people,dc=example,dc=com';
const PEOPLE_COUNT = 200;
/** entryCSN is asked for so that every change can be counted by the serverID it was written on. */
const ATTRIBUTES = ['*', 'entryCSN'];

let topo: Topology;
const dirs: { remove(): void }[] = [];
const subscriptions: Subscription[] = [];
const stores: LmdbStore[] = [];

beforeAll(async () => {
  topo = await startTopology({ ldif: peopleLdif(PEOPLE_COUNT), sessionlog: 2000 });
  await topo.converged();
}, 90_000);

afterEach(async () => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
  for (const s of stores.splice(0)) await s.close();
  // a test that stopped a provider leaves it running again for the next one
  for (const s of topo.servers) {
    if (s.pid !== undefined) process.kill(s.pid, 'SIGCONT');
    if (!s.running) await s.start();
  }
  await topo.converged(30_000);
});

afterAll(async () => {
  await topo?.close();
  for (const d of dirs.splice(0)) d.remove();
});

function directory(): string {
  const d = tempDir('syncrepl-rx-topology-');
  dirs.push(d);
  return d.path;
}

function options(url: string | readonly string[], extra: Partial<SyncreplOptions> = {}): SyncreplOptions {
  const { a } = topo;
  return {
    url,
    bindDN: a.readerDN,
    password: a.readerPassword,
    base: PEOPLE,
    attributes: ATTRIBUTES,
    ...extra,
  };
}

interface Follower {
  changes: Recording<Change>;
  wire: SyncMessage[];
  statuses: SyncStatus[];
  warnings: string[];
  /** Resolves after the `n`-th `ready` of this subscription. */
  ready(n?: number): Promise<void>;
}

/** consume(store, options) (test/fixtures/replica-helpers.ts) with its statuses and warnings. */
function follow(store: ReplicaStore, o: SyncreplOptions): Follower {
  const statuses: SyncStatus[] = [];
  const warnings: string[] = [];
  const consumer = consume(store, {
    ...o,
    onStatus: (s) => statuses.push(s),
    logger: { warn: (m) => warnings.push(m) },
  });
  subscriptions.push(consumer.changes.subscription);
  return {
    changes: consumer.changes,
    wire: consumer.wire,
    statuses,
    warnings,
    async ready(n = 1) {
      await consumer.ready(n, 30_000);
    },
  };
}

/** The 3-hex-digit serverID of a CSN. */
const sidOf = (csn: string): string => csn.split('#')[2]!;

const entryCsn = (entry: Entry): string => String(entry.attributes.entryCSN?.[0] ?? '');

/**
 * Writes `count` modifications on `server`, each giving one person a unique description
 * `<tag>-<i>`; one ldapmodify, one operation (and CSN) per record.
 */
async function writeMarkers(server: Slapd, tag: string, count: number, first: number): Promise<string[]> {
  const markers = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
  await server.modify(
    joinLdif(
      markers.map((marker, i) =>
        ldifModify(personDn(first + i), [{ op: 'replace', attribute: 'description', values: [marker] }]),
      ),
    ),
  );
  return markers;
}

/** The markers among `changes` (description values set by writeMarkers), with the sid of their entryCSN. */
function arrived(changes: readonly Change[], tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of changes) {
    const entry = c.type === 'modify' || c.type === 'rename' ? c.new : c.type === 'add' ? c.entry : undefined;
    if (entry === undefined) continue;
    for (const v of entry.attributes.description ?? []) {
      if (typeof v === 'string' && v.startsWith(`${tag}-`)) out.set(v, sidOf(entryCsn(entry)));
    }
  }
  return out;
}

/** Waits until every marker of every tag arrived; fails with the counts by origin when not. */
async function allArrive(
  f: Follower,
  expected: Record<string, { count: number; sid: string }>,
): Promise<void> {
  const counts = () =>
    Object.entries(expected).map(
      ([tag, { count }]) => `${tag}: ${arrived(f.changes.items, tag).size} of ${count}`,
    );
  try {
    await f.changes.until(
      (items) => Object.entries(expected).every(([tag, { count }]) => arrived(items, tag).size === count),
      20_000,
    );
  } catch (error) {
    throw new Error(`not every live change arrived (${counts().join(', ')}): ${(error as Error).message}`);
  }
  for (const [tag, { sid }] of Object.entries(expected)) {
    expect(new Set(arrived(f.changes.items, tag).values()), `origin of ${tag}`).toEqual(new Set([sid]));
  }
}

/**
 * The replica equals ldapsearch on `server` for the same view: entryUUIDs, DNs, attributes.
 * After the running servers converged, unless `converge` is false (a provider is down, so the
 * replica of A cannot catch up with B).
 */
async function expectEqualsLdap(
  server: Slapd,
  store: ReplicaStore,
  o: SyncreplOptions,
  converge = true,
): Promise<number> {
  if (converge) await topo.converged();
  const ldap = await ldapSnapshot(server, viewOf(o));
  expect(snapshotDifferences(snapshotOf(store.entries()), ldap)).toEqual([]);
  return ldap.length;
}

const sidField = (cookie: string | undefined): string | undefined =>
  cookie === undefined ? undefined : parseCookie(cookie)?.sid;

describe('a cookie carried between servers: every live change arrives', () => {
  test('A → B, with writes on both providers while following B', async () => {
    const { a, b } = topo;
    const store = new MemoryStore();
    const onA = follow(store, options(a.url));
    await onA.ready();
    // writes on both while following A: both arrive (A relays B's changes)
    await Promise.all([writeMarkers(a, 'a0', 5, 0), writeMarkers(b, 'b0', 5, 10)]);
    await allArrive(onA, { a0: { count: 5, sid: '001' }, b0: { count: 5, sid: '002' } });
    onA.changes.unsubscribe();
    // the cookie came from A and names A: the case that lost every change of A on B
    expect(sidField(store.cookie)).toBe('001');

    // written while no one follows: the refresh delta on B
    await writeMarkers(a, 'a1', 10, 20);
    await writeMarkers(b, 'b1', 10, 30);
    await topo.converged();
    const onB = follow(store, options(b.url));
    await onB.ready();
    await allArrive(onB, { a1: { count: 10, sid: '001' }, b1: { count: 10, sid: '002' } });

    // live, while following B: 25 on each provider
    await Promise.all([writeMarkers(a, 'a2', 25, 40), writeMarkers(b, 'b2', 25, 70)]);
    await allArrive(onB, { a2: { count: 25, sid: '001' }, b2: { count: 25, sid: '002' } });
    const counts = {
      fromA: arrived(onB.changes.items, 'a2').size,
      fromB: arrived(onB.changes.items, 'b2').size,
    };
    console.log(
      `A → B: live changes received on B: ${counts.fromA} of 25 written on A, ${counts.fromB} of 25 on B`,
    );
    expect(onB.changes.error).toBeUndefined();
    await expectEqualsLdap(b, store, options(b.url));
  });

  test('A → replica → A, with writes on both providers', async () => {
    const { a, b } = topo;
    const replica = topo.replica!;
    const store = new MemoryStore();
    const onA = follow(store, options(a.url));
    await onA.ready();
    onA.changes.unsubscribe();
    expect(sidField(store.cookie)).toBe('001');

    const onReplica = follow(store, options(replica.url));
    await onReplica.ready();
    await Promise.all([writeMarkers(a, 'ra', 15, 100), writeMarkers(b, 'rb', 15, 120)]);
    // B's changes reach the replica through A: relayed, still all of them
    await allArrive(onReplica, { ra: { count: 15, sid: '001' }, rb: { count: 15, sid: '002' } });
    console.log(
      `A → replica: live changes received on the replica: ${arrived(onReplica.changes.items, 'ra').size} of 15 written on A, ` +
        `${arrived(onReplica.changes.items, 'rb').size} of 15 on B`,
    );
    await expectEqualsLdap(replica, store, options(replica.url));
    onReplica.changes.unsubscribe();
    // the replica (serverID 3) names itself in its cookies
    expect(sidField(store.cookie)).toBe('003');

    const back = follow(store, options(a.url));
    await back.ready();
    await Promise.all([writeMarkers(a, 'aa', 15, 140), writeMarkers(b, 'ab', 15, 160)]);
    await allArrive(back, { aa: { count: 15, sid: '001' }, ab: { count: 15, sid: '002' } });
    await expectEqualsLdap(a, store, options(a.url));
  });

  test('a consumer with its own serverId gets every change but those written with that serverID', async () => {
    // The consumer says it is serverID 2 (as B's own syncrepl consumer of A does): A then keeps
    // B's changes from it, and sends A's. This is the suppression an unstripped sid=001 caused.
    const { a, b } = topo;
    const f = follow(new MemoryStore(), options(a.url, { serverId: 2 }));
    await f.ready();
    await writeMarkers(b, 'sb', 10, 180);
    await writeMarkers(a, 'sa', 10, 190);
    await allArrive(f, { sa: { count: 10, sid: '001' } });
    await topo.converged();
    // B's ten changes are on A now; one more change on A comes after anything A sent for them
    await writeMarkers(a, 'sz', 1, 170);
    await allArrive(f, { sz: { count: 1, sid: '001' } });
    expect(arrived(f.changes.items, 'sb').size).toBe(0);
  });
});

describe('a URL list: failover between the providers', () => {
  /** ms from `t0` until the follower persists on `url`. */
  async function timeToPersist(f: Follower, url: string, t0: number, after: number): Promise<number> {
    await f.changes.until(
      () => f.statuses.slice(after).some((s) => s.state === 'persisting' && s.url === url),
      60_000,
    );
    return Date.now() - t0;
  }

  test('A SIGKILLed mid-persist: the consumer moves on to B and loses nothing written there', async () => {
    const { a, b } = topo;
    const store = new MemoryStore();
    const o = options([a.url, b.url], { reconnect: { initialDelay: 100, maxDelay: 1000 } });
    const f = follow(store, o);
    await f.ready();
    expect(f.statuses.at(-1)).toEqual({ state: 'persisting', url: a.url });
    await writeMarkers(a, 'ka', 5, 0);
    await allArrive(f, { ka: { count: 5, sid: '001' } });
    await topo.converged();

    const mark = f.statuses.length;
    const t0 = Date.now();
    await a.stop('SIGKILL');
    const ms = await timeToPersist(f, b.url, t0, mark);
    console.log(`failover after SIGKILL of A: persisting on B ${ms} ms after the kill`);
    // written on the survivor after the kill: all of them arrive
    await writeMarkers(b, 'kb', 20, 10);
    await allArrive(f, { kb: { count: 20, sid: '002' } });
    expect(f.statuses.slice(mark).filter((s) => s.state === 'backoff')).toEqual([]); // B at once
    expect(f.statuses.at(-1)).toEqual({ state: 'persisting', url: b.url });
    expect(f.warnings.join('\n')).toMatch(new RegExp(`Trying ${b.url} next`));
    expect(f.changes.error).toBeUndefined();
    await expectEqualsLdap(b, store, o, false);
  });

  test('A hung (SIGSTOP) mid-persist: the idle probe finds it, the consumer moves on to B', async () => {
    const { a, b } = topo;
    const store = new MemoryStore();
    const idleProbe = 1000;
    const timeout = 1000;
    const o = options([a.url, b.url], {
      reconnect: { initialDelay: 100, maxDelay: 1000 },
      idleProbe,
      timeout,
    });
    const f = follow(store, o);
    await f.ready();
    const mark = f.statuses.length;
    const t0 = Date.now();
    process.kill(a.pid!, 'SIGSTOP');
    try {
      const ms = await timeToPersist(f, b.url, t0, mark);
      console.log(
        `failover after SIGSTOP of A: persisting on B ${ms} ms after the stop (idleProbe ${idleProbe} ms, timeout ${timeout} ms; ` +
          `expected between idleProbe + timeout and 2 × idleProbe + timeout)`,
      );
      await writeMarkers(b, 'sb', 10, 30);
      await allArrive(f, { sb: { count: 10, sid: '002' } });
      expect(f.warnings.join('\n')).toMatch(/idle probe/);
    } finally {
      process.kill(a.pid!, 'SIGCONT');
    }
    await expectEqualsLdap(b, store, o);
  });
});

describe('an LmdbStore carried between servers', () => {
  test('url A, then url B: only the delta is fetched, and the replica equals ldapsearch on B', async () => {
    const { a, b } = topo;
    const dir = directory();
    const logger = memoryLogger();
    let store = await LmdbStore.open(dir, { identity: options(a.url), logger });
    stores.push(store);
    const first = follow(store, options(a.url));
    await first.ready();
    const full = first.wire.filter((m) => m.type === 'add' || m.type === 'present').length;
    first.changes.unsubscribe();
    await store.close();
    stores.splice(stores.indexOf(store), 1);

    // while the consumer is down: 10 modifies on A, 10 on B, 2 adds and a delete on B
    await writeMarkers(a, 'da', 10, 40);
    await writeMarkers(b, 'db', 10, 60);
    await b.add(joinLdif([personLdif(9001), personLdif(9002)]));
    await b.modify(ldifDelete(personDn(199)));
    await topo.converged();

    store = await LmdbStore.open(dir, { identity: options(b.url), logger });
    stores.push(store);
    expect(store.discarded).toBeUndefined();
    const second = follow(store, options(b.url));
    await second.ready();
    const entryChanges = second.changes.items.filter((c) => c.type !== 'ready');
    const sent = second.wire.filter(
      (m) => m.type === 'add' || m.type === 'present' || m.type === 'delete',
    ).length;
    console.log(
      `LmdbStore resumed on B: ${entryChanges.length} changes (${sent} entries on the wire) for a 23-entry delta; ` +
        `the full refresh on A sent ${full}`,
    );
    expect(entryChanges.map((c) => c.type).sort()).toEqual([
      ...Array<string>(2).fill('add'),
      'delete',
      ...Array<string>(20).fill('modify'),
    ]);
    expect(sent).toBeLessThan(full / 4);
    expect(logger.lines.filter((l) => l.startsWith('warn:'))).toEqual([]);
    await expectEqualsLdap(b, store, options(b.url));
  });

  test('the same store for another view (another filter): reset first, then the reload', async () => {
    const { a, b } = topo;
    const dir = directory();
    let store = await LmdbStore.open(dir, { identity: options(a.url), logger: memoryLogger() });
    stores.push(store);
    const first = follow(store, options(a.url));
    await first.ready();
    first.changes.unsubscribe();
    await store.close();
    stores.splice(stores.indexOf(store), 1);

    const other = options(b.url, { filter: '(title=Engineer)' });
    store = await LmdbStore.open(dir, { identity: other, logger: memoryLogger() });
    stores.push(store);
    const second = follow(store, other);
    await second.ready();
    const types = second.changes.items.map((c) => c.type);
    expect(types[0]).toBe('reset');
    expect(second.changes.items[0]).toEqual({ type: 'reset', reason: 'storeDiscarded' });
    const n = await expectEqualsLdap(b, store, other);
    expect(types).toEqual(['reset', ...Array<string>(n).fill('add'), 'ready']);
  });
});

// ------------------------------------------------------------------------------------ the CLI

const cli = (args: string[]) => runCli(args, { timeoutMs: 30_000 });

const ndjson = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; dn?: string });

describe('the CLI', () => {
  let pwFile: string;
  beforeAll(async () => {
    requireBuiltCli();
    pwFile = join(directory(), 'reader.pw');
    await writeFile(pwFile, `${topo.a.readerPassword}\n`, { mode: 0o600 });
  });
  const tail = (urls: string, rest: string[] = [], format = 'ndjson') => [
    'tail',
    '-H',
    urls,
    '-D',
    topo.a.readerDN,
    '-y',
    pwFile,
    '-b',
    PEOPLE,
    '--mode',
    'refreshOnly',
    '--format',
    format,
    ...rest,
  ];

  test('-H "url1 url2": a dead first server, the second answers; stderr names it', async () => {
    const { a, b } = topo;
    await a.stop('SIGKILL');
    const r = await cli(tail(`${a.url} ${b.url}`));
    expect(r.code).toBe(0);
    const out = ndjson(r.stdout);
    expect(out.filter((c) => c.type === 'add')).toHaveLength(
      (await ldapSnapshot(b, viewOf(options(b.url)))).length,
    );
    expect(out.at(-1)?.type).toBe('ready');
    expect(r.stderr).toMatch(new RegExp(`refused.*Trying ${b.url} next`));
    expect(r.stderr).toMatch(new RegExp(`searching ${b.url}`));
    expect(r.stderr).not.toContain(topo.a.readerPassword);
  });

  test('tail --store against another URL of the same directory prints only the delta; another view is refused, and --start-over prints reset first', async () => {
    const { a, b } = topo;
    const dir = join(directory(), 'store');
    const first = await cli(tail(a.url, ['--store', dir]));
    expect(first.code).toBe(0);
    const full = ndjson(first.stdout).filter((c) => c.type === 'add').length;
    expect(full).toBeGreaterThan(PEOPLE_COUNT);

    await writeMarkers(a, 'ca', 3, 0);
    await writeMarkers(b, 'cb', 3, 5);
    await b.modify(ldifDelete(personDn(198)));
    await topo.converged();
    const second = await cli(tail(b.url, ['--store', dir]));
    expect(second.code).toBe(0);
    const delta = ndjson(second.stdout);
    console.log(
      `CLI tail --store on B after a run on A: ${delta.length - 1} changes printed (full refresh: ${full})`,
    );
    expect(delta.map((c) => c.type).sort()).toEqual(['delete', ...Array<string>(6).fill('modify'), 'ready']);
    expect(second.stderr).not.toMatch(/discard|holds a replica of/);

    // another view of the directory: refused (exit 3), the store left as it is
    const refused = await cli(tail(b.url, ['--store', dir, '(title=Engineer)']));
    expect([refused.code, refused.stdout]).toEqual([3, '']);
    expect(refused.stderr).toMatch(
      /holds the replica of another search \(filter .*, not "\(title=Engineer\)"\)/,
    );
    const again = await cli(tail(a.url, ['--store', dir]));
    expect(ndjson(again.stdout).map((c) => c.type)).toEqual(['ready']);

    const third = await cli(tail(b.url, ['--store', dir, '--start-over', '(title=Engineer)']));
    expect(third.code).toBe(0);
    const reload = ndjson(third.stdout);
    expect(reload[0]).toEqual({ type: 'reset', reason: 'storeDiscarded' });
    expect(reload.at(-1)?.type).toBe('ready');
    expect(third.stderr).toMatch(/holds a replica of .*not of .*filter=\(title=Engineer\)/);

    // text format says it too
    const text = await cli(tail(b.url, ['--store', dir, '--start-over', '(title=Analyst)'], 'text'));
    expect(text.stdout.split('\n')[0]).toMatch(
      /^reset +\(the stored replica was discarded: a full reload follows/,
    );
  });
});
