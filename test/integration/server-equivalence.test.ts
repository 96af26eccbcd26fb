/**
 * Randomized equivalence: random LDAP changes (renames and re-homing included) while SSE
 * subscribers randomly drop and resume. At the end, every subscriber's rebuilt state equals the
 * server's listing, which equals what ldapsearch says. The seed is printed on failure; set
 * SYNCREPL_RX_SEED to replay a run, SYNCREPL_RX_STEPS for a longer soak.
 */
import { afterAll, expect, test } from 'vitest';
import { startSubman, type Subman } from '../fixtures/subman.js';
import { getJson, openSse, type EntryEventData, type SseReader } from '../fixtures/sse.js';
import { ChangeGenerator } from '../../examples/subman/src/changes.js';
import { REALMS, prng } from '../../examples/subman/src/data.js';
import { SUFFIX } from '../../examples/subman/src/model.js';

const SEED = Number(process.env.SYNCREPL_RX_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STEPS = Number(process.env.SYNCREPL_RX_STEPS ?? 60);
const SUBSCRIBERS = 40;

interface Client {
  path: string;
  reader?: SseReader;
  applied: number;
  lastId?: string;
  state: Map<string, Record<string, unknown>>;
}

let s: Subman | undefined;
afterAll(() => s?.close());

function apply(c: Client): void {
  const r = c.reader;
  if (!r) return;
  for (; c.applied < r.events.length; c.applied++) {
    const e = r.events[c.applied]!;
    if (e.id) c.lastId = e.id;
    if (e.event === 'reset') c.state.clear();
    if (e.event !== 'entry') continue;
    const d = JSON.parse(e.data) as EntryEventData;
    if (d.syncOp === 'delete') c.state.delete(d.entryUUID);
    else c.state.set(d.entryUUID, d.body);
  }
}

async function connect(c: Client, base: string): Promise<void> {
  if (c.reader) {
    apply(c);
    c.reader.close();
  }
  // A client without a position starts from nothing; with one, it keeps its state and resumes.
  if (!c.lastId) c.state.clear();
  c.reader = await openSse(`${base}${c.path}?subscribe=1`, c.lastId ? { 'Last-Event-ID': c.lastId } : {});
  c.applied = 0;
  expect(c.reader.status).toBe(200);
}

test(`random changes and random disconnects end with every subscriber equal to the listing and to ldapsearch (seed ${SEED})`, async () => {
  const rnd = prng(SEED);
  s = await startSubman({ subscribers: SUBSCRIBERS, logCapacity: 5_000 });
  const clients: Client[] = [...REALMS.map((r) => `/realm/${r}/subscriber`), '/subscriber'].map((path) => ({
    path,
    applied: 0,
    state: new Map(),
  }));
  for (const c of clients) await connect(c, s.base);
  const generator = new ChangeGenerator(SUBSCRIBERS, SEED);
  try {
    for (let step = 0; step < STEPS; step++) {
      await s.slapd.modify(generator.change().ldif);
      for (const c of clients) apply(c);
      if (rnd() < 0.25) {
        const c = clients[Math.floor(rnd() * clients.length)]!;
        if (rnd() < 0.15) c.lastId = undefined; // sometimes a client forgets its position
        await connect(c, s.base);
      }
      if (rnd() < 0.2) await new Promise((r) => setTimeout(r, Math.floor(rnd() * 30)));
    }
    // Quiescence: every client's state equals its listing.
    for (const c of clients) {
      const started = Date.now();
      for (;;) {
        apply(c);
        const listing = (await getJson(`${s.base}${c.path}`)).body as Record<string, unknown>[];
        const mine = [...c.state.values()].sort(byId);
        if (JSON.stringify(mine) === JSON.stringify(listing)) break;
        if (Date.now() - started > 10_000) expect(mine, `${c.path} (seed ${SEED})`).toEqual(listing);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // And the listings equal the directory, read with ldapsearch by the same identity.
    for (const realm of REALMS) {
      const ldap = await s.slapd.search(
        `submanId=${realm},ou=realms,${SUFFIX}`,
        'one',
        '(objectClass=submanSubscriber)',
        ['uid', 'submanStatus'],
        {
          dn: s.slapd.readerDN,
          password: s.slapd.readerPassword,
        },
      );
      const fromLdap = ldap
        .map((e) => `${String(e.attributes.uid?.[0])} ${String(e.attributes.submanStatus?.[0])}`)
        .sort();
      const listing = (await getJson(`${s.base}/realm/${realm}/subscriber`)).body as {
        id: string;
        status: string;
      }[];
      expect(listing.map((b) => `${b.id} ${b.status}`).sort(), `realm ${realm} (seed ${SEED})`).toEqual(
        fromLdap,
      );
    }
  } finally {
    for (const c of clients) c.reader?.close();
  }
});

function byId(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a.id).localeCompare(String(b.id));
}
