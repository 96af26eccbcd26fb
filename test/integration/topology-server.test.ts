/**
 * Server instances are interchangeable on top of OpenLDAP's own replication (issue "Production
 * topology" §3–§5): real mirror-mode providers (test/fixtures/topology.ts), server instances as
 * their own processes (test/fixtures/instances.ts), one of them killed with SIGKILL mid-run.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { startInstance, type Instance } from '../fixtures/instances.js';
import { getJson, openSse, type EntryEventData, type SseEvent } from '../fixtures/sse.js';
import type { Slapd } from '../fixtures/slapd.js';

const BASE = 'ou=people,dc=example,dc=com';
const SECRET = 'topology-test-secret-0123456789';
const person = (uid: string, description: string) =>
  `dn: uid=${uid},${BASE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\ndescription: ${description}\n`;

let topo: Topology;
const dirs: string[] = [];
const instances: Instance[] = [];

beforeAll(async () => {
  topo = await startTopology({
    ldif: Array.from({ length: 30 }, (_, i) => person(`p${i}`, 'initial')).join('\n'),
    replica: false,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(instances.splice(0).map((i) => (i.running ? i.kill() : undefined)));
  await topo?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function instanceOn(url: string | string[], slapd: Slapd): Promise<Instance> {
  const storeDir = await mkdtemp(join(tmpdir(), 'syncrepl-rx-instance-'));
  dirs.push(storeDir);
  const i = await startInstance(
    { url, bindDN: slapd.readerDN, base: BASE, secret: SECRET, storeDir },
    slapd.readerPassword,
  );
  instances.push(i);
  return i;
}

type Body = Record<string, unknown>;

/** A client as docs/stream-contract.md describes it, counting what it is sent that it did not need. */
class Client {
  readonly state = new Map<string, Body>();
  lastId: string | undefined;
  counts = { connections: 0, refused: 0, fresh: 0, resumed: 0, reset: 0, duplicated: 0 };

  /** Applies one connection's events (all of them, in order). */
  apply(events: readonly SseEvent[], from = 0): void {
    for (const e of events.slice(from)) {
      if (e.id) this.lastId = e.id;
      if (e.event === 'reset') {
        this.state.clear();
        continue;
      }
      if (e.event !== 'entry') continue;
      const d = JSON.parse(e.data) as EntryEventData;
      const known = this.state.get(d.entryUUID);
      if (d.syncOp === 'delete') {
        if (!known) this.counts.duplicated++;
        this.state.delete(d.entryUUID);
      } else {
        if (d.syncOp !== 'present' && known && JSON.stringify(known) === JSON.stringify(d.body))
          this.counts.duplicated++;
        this.state.set(d.entryUUID, d.body);
      }
    }
  }

  /** One visit to an instance: connect with the last id, stay `ms` after `ready`, leave. */
  async visit(instance: Instance, ms: number): Promise<void> {
    this.counts.connections++;
    const withId = this.lastId !== undefined;
    let r;
    try {
      r = await openSse(
        `${instance.base}/people?subscribe=1`,
        withId ? { 'Last-Event-ID': this.lastId! } : {},
      );
    } catch {
      this.counts.refused++; // the load balancer would try the next instance
      return;
    }
    try {
      await r.until((ev) => ev.some((e) => e.event === 'ready') || r.ended, 30_000);
      if (!r.ended) await delay(ms);
    } finally {
      r.close();
    }
    const reset = r.events.some((e) => e.event === 'reset');
    if (reset) this.counts.reset++;
    else if (withId && r.events.some((e) => e.event === 'ready')) this.counts.resumed++;
    else if (!withId) this.counts.fresh++;
    this.apply(r.events);
  }
}

/** The listing, keyed like the client's state, once the instance answers it. */
async function listing(instance: Instance): Promise<Map<string, Body>> {
  const res = await getJson(`${instance.base}/people`);
  expect(res.status).toBe(200);
  const out = new Map<string, Body>();
  for (const body of res.body as Body[]) out.set(String(body._url), body);
  return out;
}
const byUrl = (state: Map<string, Body>) => new Map([...state.values()].map((b) => [String(b._url), b]));

/** Entries that differ between two states keyed by _url: missing, extra or different. */
function differences(a: Map<string, Body>, b: Map<string, Body>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (JSON.stringify(b.get(k)) !== JSON.stringify(v)) out.push(k);
  for (const k of b.keys()) if (!a.has(k)) out.push(k);
  return out;
}

test('a client bouncing between three instances (two providers, one URL spelled differently) while both providers change and one instance is kill -9ed and restarted: every stream resumes, nothing is lost or duplicated', async () => {
  const { a, b } = topo;
  const i1 = await instanceOn(a.url, a);
  const i2 = await instanceOn(b.url, b);
  const i3 = await instanceOn(`ldap://localhost:${a.port}`, a);
  const all = [i1, i2, i3];
  const client = new Client();

  // Writes on both providers: modifies, adds, deletes and renames, about 15 a second.
  let writing = true;
  let written = 0;
  const writer = (async () => {
    let n = 0;
    while (writing) {
      const on = n % 2 === 0 ? a : b;
      const k = n % 30;
      if (n % 7 === 3) await on.add(person(`new${n}`, `added ${n}`));
      else if (n % 11 === 5 && n > 30) await on.delete(`uid=new${n - 33},${BASE}`).catch(() => undefined);
      else if (n % 13 === 6)
        await on
          .modify(`dn: uid=p${k},${BASE}\nchangetype: modrdn\nnewrdn: uid=r${k}\ndeleteoldrdn: 0\n`)
          .catch(() => undefined);
      else
        await on
          .modify(
            `dn: uid=p${k},${BASE}\nchangetype: modify\nreplace: description\ndescription: ${n} on ${on === a ? 'A' : 'B'}\n`,
          )
          .catch(() => undefined);
      n++;
      written++;
      await delay(60);
    }
  })();

  const started = Date.now();
  let killed = false;
  let restarted = false;
  let hop = 0;
  // Instance 1 is killed after 4 s, and restarted once the client found it down (and 7 s passed).
  // The bouncing goes on for 14 s at least, and until enough was written and visited: on a
  // loaded machine the writes and visits are slower, so a fixed window alone would not be enough.
  while (Date.now() - started < 14_000 || !restarted || written <= 120 || client.counts.connections <= 12) {
    if (!killed && Date.now() - started > 4_000) {
      await i1.kill();
      killed = true;
    }
    if (killed && !restarted && client.counts.refused > 0 && Date.now() - started > 7_000) {
      await i1.start();
      restarted = true;
    }
    await client.visit(all[hop++ % all.length]!, 300 + (hop % 4) * 200);
  }
  writing = false;
  await writer;
  await topo.converged(30_000);

  // The last visit stays until the client's state equals the listing (live events included).
  const final = i1;
  const r = await openSse(`${final.base}/people?subscribe=1`, { 'Last-Event-ID': client.lastId! });
  client.counts.connections++;
  const before = new Map(client.state);
  const expected = await (async () => {
    for (const deadline = Date.now() + 20_000; ;) {
      const state = new Client();
      for (const [k, v] of before) state.state.set(k, v);
      state.apply(r.events);
      const list = await listing(final);
      if (differences(byUrl(state.state), list).length === 0 || Date.now() > deadline) return list;
      await delay(100);
    }
  })();
  r.close();
  expect(r.events.some((e) => e.event === 'reset')).toBe(false);
  client.counts.resumed++;
  client.apply(r.events);

  // The listing is the directory: the same entries as ldapsearch on both providers.
  const ldap = await a.search(BASE, 'one', '(objectClass=inetOrgPerson)', ['uid', 'description']);
  expect(expected.size).toBe(ldap.length);

  const lost = differences(byUrl(client.state), expected);
  const summary = { ...client.counts, written, lost: lost.length };
  console.log(`bouncing client: ${JSON.stringify(summary)}`);
  expect(written).toBeGreaterThan(100);
  expect(client.counts.connections).toBeGreaterThan(10);
  expect(client.counts.refused).toBeGreaterThan(0); // instance 1 was really down for a while
  expect(lost).toEqual([]);
  expect(client.counts.reset).toBe(0);
  expect(client.counts.duplicated).toBe(0);
  expect(client.counts.resumed).toBe(client.counts.connections - client.counts.refused - client.counts.fresh);
}, 120_000);

test('an instance with a URL list follows the next provider when its provider is killed: its streams stay open and lose nothing, and /metrics names the server followed', async () => {
  const { a, b } = topo;
  const instance = await instanceOn([a.url, b.url], a);
  const server = async () =>
    /syncrepl_rx_upstream_server\{source="dir",url="([^"]+)"\} 1/.exec(
      await (await fetch(`${instance.base}/metrics`)).text(),
    )?.[1];
  const r = await openSse(`${instance.base}/people?subscribe=1`);
  try {
    await r.until((ev) => ev.some((e) => e.event === 'ready'), 30_000);
    expect(await server()).toBe(a.url);

    await a.stop('SIGKILL');
    // Changes on B only (the other test renamed some of the seeded entries, so add new ones).
    for (let i = 0; i < 10; i++) await b.add(person(`on-b-${i}`, 'added while A was dead'));
    for (let i = 0; i < 10; i += 3)
      await b.modify(
        `dn: uid=on-b-${i},${BASE}\nchangetype: modify\nreplace: description\ndescription: modified on B ${i}\n`,
      );
    await b.delete(`uid=on-b-1,${BASE}`);
    await b.add(person('born-on-b', 'while A was dead'));

    const expected = await (async () => {
      for (const deadline = Date.now() + 30_000; ;) {
        if (Date.now() > deadline) throw new Error("the instance never showed B's changes");
        const res = await getJson(`${instance.base}/people`);
        if (res.status === 200 && JSON.stringify(res.body).includes('born-on-b')) return listing(instance);
        await delay(100);
      }
    })();
    const state = () => {
      const client = new Client();
      client.apply(r.events);
      return byUrl(client.state);
    };
    await r.until(() => differences(state(), expected).length === 0, 30_000).catch(() => undefined);
    expect(differences(state(), expected)).toEqual([]);
    expect(r.ended).toBe(false); // the same stream: no reconnect, no reset
    expect(r.events.some((e) => e.event === 'reset')).toBe(false);
    expect(await server()).toBe(b.url);
    const reconnects = /syncrepl_rx_upstream_reconnects_total\{source="dir"\} (\d+)/.exec(
      await (await fetch(`${instance.base}/metrics`)).text(),
    )?.[1];
    expect(Number(reconnects)).toBeGreaterThanOrEqual(1);
    // The listing is B's directory.
    const ldap = await b.search(BASE, 'one', '(objectClass=inetOrgPerson)', ['uid']);
    expect(expected.size).toBe(ldap.length);
  } finally {
    r.close();
    await a.start();
  }
}, 90_000);
