import { existsSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValue, ldifModify, peopleLdif, personDn, personLdif } from '../fixtures/ldif.js';
import type { Slapd } from '../fixtures/slapd.js';
import { startTopology, type Topology } from '../fixtures/topology.js';

describe('topology fixture: two providers in mirror mode and a replica', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await startTopology({ ldif: peopleLdif(3), sessionlog: 100 });
  });
  afterAll(async () => {
    await topo?.close();
  });

  it('starts three slapds on their own ports and temp dirs, configs 0600, one serverID each', async () => {
    const { a, b, replica } = topo;
    expect(replica).toBeDefined();
    expect(topo.servers).toEqual([a, b, replica]);
    expect(new Set(topo.servers.map((s) => s.port)).size).toBe(3);
    expect(new Set(topo.servers.map((s) => s.dir)).size).toBe(3);
    for (const s of topo.servers) {
      expect(s.running).toBe(true);
      expect(s.url).toBe(`ldap://127.0.0.1:${s.port}`);
      expect(statSync(s.configFile).mode & 0o077).toBe(0);
    }
    const config = topo.servers.map((s) => readFileSync(s.configFile, 'utf8'));
    expect(config.map((c) => /^serverID (\d+)$/m.exec(c)?.[1])).toEqual(['1', '2', '3']);
    expect(config.map((c) => /^multiprovider on$/m.test(c))).toEqual([true, true, false]);
    expect(config.map((c) => /^syncrepl rid=\d+\s+provider=(\S+)/m.exec(c)?.[1])).toEqual([
      b.url,
      a.url,
      a.url,
    ]);
  });

  it('converges at start: B and the replica pulled A’s seed, with the same entryUUIDs', async () => {
    await topo.converged();
    const [onA, onB, onReplica] = await Promise.all(topo.servers.map(uuids));
    expect(onA!.size).toBe(7); // suffix, ou=people, ou=groups, cn=reader, 3 people
    expect(onB).toEqual(onA);
    expect(onReplica).toEqual(onA);
    // the seed's CSNs are A's (sid 001) everywhere
    const onAcsn = await contextCSNs(topo.a);
    expect(onAcsn.map(sid)).toEqual(['001']);
    for (const s of topo.servers) expect(await contextCSNs(s)).toEqual(onAcsn);
  });

  it('the reader binds on every server with the password that server reports', async () => {
    for (const s of topo.servers) {
      const r = await s.search(s.suffix, 'sub', '(objectClass=*)', ['cn'], {
        dn: s.readerDN,
        password: s.readerPassword,
      });
      expect(r).toHaveLength(7);
    }
  });

  it('a write on A appears on B and the replica', async () => {
    await topo.a.add(personLdif(100));
    const [onA] = await topo.a.search(personDn(100), 'base', '(objectClass=*)', ['entryUUID']);
    const uuid = firstValue(onA!, 'entryUUID');
    expect(uuid).toBeDefined();
    await until(async () => {
      const found = await Promise.all([topo.b, topo.replica!].map((s) => entryUUIDOf(s, personDn(100))));
      return found.every((u) => u === uuid);
    });
    await topo.converged();
  });

  it('a write on B appears on A and the replica', async () => {
    await topo.b.add(personLdif(200));
    await topo.b.modify(
      ldifModify(personDn(1), [{ op: 'replace', attribute: 'title', values: ['Set on B'] }]),
    );
    const uuid = await entryUUIDOf(topo.b, personDn(200));
    await until(async () => {
      const found = await Promise.all([topo.a, topo.replica!].map((s) => entryUUIDOf(s, personDn(200))));
      return found.every((u) => u === uuid);
    });
    await topo.converged();
    for (const s of topo.servers) {
      const [e] = await s.search(personDn(1), 'base', '(objectClass=*)', ['title']);
      expect(firstValue(e!, 'title')).toBe('Set on B');
    }
  });

  it('after writes on both providers the contextCSN holds one CSN per serverID (001 and 002)', async () => {
    await topo.converged();
    const onA = await contextCSNs(topo.a);
    expect(onA.map(sid)).toEqual(['001', '002']);
    for (const s of topo.servers) expect(await contextCSNs(s)).toEqual(onA);
    // and the entries carry the CSN of the server they were written on
    const [fromB] = await topo.a.search(personDn(200), 'base', '(objectClass=*)', ['entryCSN']);
    expect(sid(firstValue(fromB!, 'entryCSN')!)).toBe('002');
    const [fromA] = await topo.b.search(personDn(100), 'base', '(objectClass=*)', ['entryCSN']);
    expect(sid(firstValue(fromA!, 'entryCSN')!)).toBe('001');
  });

  it('B killed (SIGKILL), a write on A, B restarted on the same port: converges again', async () => {
    const { a, b } = topo;
    const port = b.port;
    await b.stop('SIGKILL');
    expect(b.running).toBe(false);
    await a.add(personLdif(300));
    await a.delete(personDn(2));
    // the running servers (A and the replica) converge without B
    await topo.converged();
    await b.start();
    expect(b.port).toBe(port);
    await topo.converged();
    expect(await entryUUIDOf(b, personDn(300))).toBe(await entryUUIDOf(a, personDn(300)));
    expect(await b.search(personDn(2), 'base', '(objectClass=*)')).toEqual([]);
    // and B's writes flow to A again after the restart
    await b.add(personLdif(301));
    await until(async () => (await entryUUIDOf(a, personDn(301))) !== undefined);
    await topo.converged();
  });

  it('the replica refuses writes, even from its rootDN (shadow context, no update referral)', async () => {
    const replica = topo.replica!;
    await expect(replica.add(personLdif(400))).rejects.toThrow(/exited with 53/);
    await expect(replica.delete(personDn(0))).rejects.toThrow(/exited with 53/);
    expect(await replica.search(personDn(400), 'base', '(objectClass=*)')).toEqual([]);
    expect(await entryUUIDOf(replica, personDn(0))).toBeDefined();
  });

  it('converged() rejects, naming what differs, while a running server cannot catch up', async () => {
    const { a, b, replica } = topo;
    // with A down, B's write cannot reach the replica (A is its only provider)
    await a.stop('SIGKILL');
    await b.add(personLdif(500));
    const lagging = topo.converged(500);
    await expect(lagging).rejects.toThrow(
      /not converged after 500 ms: contextCSN on dc=example,dc=com differs/,
    );
    await expect(lagging).rejects.toThrow(/\n {2}b: \[.*#002#.*\]\n {2}replica: \[/);
    await a.start();
    await topo.converged();
    expect(await entryUUIDOf(replica!, personDn(500))).toBe(await entryUUIDOf(b, personDn(500)));
  });
});

describe('topology fixture without a replica', () => {
  let topo: Topology | undefined;

  afterAll(async () => {
    await topo?.close();
  });

  it('starts A and B only; close() stops both and removes their temp dirs, twice', async () => {
    topo = await startTopology({ replica: false });
    expect(topo.replica).toBeUndefined();
    expect(topo.servers).toEqual([topo.a, topo.b]);
    await topo.converged();
    await topo.b.add(personLdif(1));
    await until(async () => (await entryUUIDOf(topo!.a, personDn(1))) !== undefined);
    await topo.converged();
    const dirs = topo.servers.map((s) => s.dir);
    const pids = topo.servers.map((s) => s.pid);
    await topo.close();
    await topo.close(); // idempotent
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
    for (const s of topo.servers) expect(s.running).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid!, 0)).toThrow();
  });
});

async function uuids(s: Slapd): Promise<Map<string, string>> {
  const entries = await s.search(s.suffix, 'sub', '(objectClass=*)', ['entryUUID']);
  return new Map(entries.map((e) => [e.dn.toLowerCase(), firstValue(e, 'entryUUID') ?? '']));
}

async function entryUUIDOf(s: Slapd, dn: string): Promise<string | undefined> {
  const [e] = await s.search(dn, 'base', '(objectClass=*)', ['entryUUID']);
  return e ? firstValue(e, 'entryUUID') : undefined;
}

async function contextCSNs(s: Slapd): Promise<string[]> {
  const [e] = await s.search(s.suffix, 'base', '(objectClass=*)', ['contextCSN']);
  return (e?.attributes['contextCSN'] ?? []).map(String).sort();
}

/** The serverID field of a CSN: `20240101000000.000000Z#000000#002#000000` -> `002`. */
function sid(csn: string): string | undefined {
  return csn.split('#')[2];
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(50);
  }
}
