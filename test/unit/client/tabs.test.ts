/**
 * Tabs sharing one stream (SPEC.md M1–M10), in Node: each "tab" is a collection with its own fake
 * Web Locks client and BroadcastChannels (test/fixtures/tabs.ts); fake-indexeddb is the origin's
 * IndexedDB they all read; one fake server counts the connections.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  collection,
  createStreamStore,
  type Collection,
  type CollectionChange,
  type CollectionOptions,
  type CollectionStatus,
  type StreamEvent,
} from '../../../packages/client/src/index.js';
import { loadLocal, writeBatch } from '../../../packages/client/src/persistence.js';
import { U, body, entry, fakeServer, ready, until, type Sub } from '../../fixtures/fake-fetch.js';
import { FakeLocks, FakeTab } from '../../fixtures/tabs.js';

interface Tab {
  tab: FakeTab;
  c: Collection<Sub>;
  statuses: CollectionStatus[];
  changes: CollectionChange<Sub>[];
  events: StreamEvent<Sub>[];
  role: () => string | undefined;
  kind: () => string;
}

let n = 0;
const opened: Collection<Sub>[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

function world() {
  const url = `http://s.test/realm/t${++n}/subscriber?subscribe=1`;
  const locks = new FakeLocks();
  const server = fakeServer();
  let tabs = 0;
  const open = (options: CollectionOptions = {}, tab = new FakeTab(locks, `tab${++tabs}`)): Tab => {
    const c = collection<Sub>(url, {
      fetch: server.fetchAs(tab.name, () => tab.crashed),
      connectivity: null,
      backoff: { initialDelay: 1, maxDelay: 5 },
      share: tab.sharing,
      batchDelayMs: 5,
      ...options,
    });
    opened.push(c);
    const t: Tab = {
      tab,
      c,
      statuses: [],
      changes: [],
      events: [],
      role: () => {
        const s = c.status.getSnapshot();
        return s.kind === 'loading-local' ? undefined : s.role;
      },
      kind: () => c.status.getSnapshot().kind,
    };
    c.status$.subscribe((s) => t.statuses.push(s));
    c.changes$.subscribe((ch) => t.changes.push(ch));
    c.events$.subscribe((e) => t.events.push(e));
    return t;
  };
  return { url, locks, server, open };
}

const state = (c: Collection<Sub>) =>
  JSON.stringify([...c.getSnapshot()].sort(([a], [b]) => (a < b ? -1 : 1)));
const leaderOf = (tabs: Tab[]) => tabs.find((t) => t.role() === 'leader');
const presents = (t: Tab) => t.events.filter((e) => e.type === 'entry' && e.syncOp === 'present').length;

/** Until every tab is live and holds what `reference` holds. */
async function allEqual(tabs: Tab[], reference: Tab, what: string) {
  await until(
    () => tabs.every((t) => t.kind() === 'live' && state(t.c) === state(reference.c)),
    `${what}: every tab live and equal`,
  );
}

describe('tabs sharing one stream', () => {
  it('seven tabs: one connection, one leader; every tab gets every event and the status (M1, M2)', async () => {
    const { server, open } = world();
    const tabs = Array.from({ length: 7 }, () => open());
    await until(() => leaderOf(tabs) !== undefined && server.requests.length === 1, 'a leader connected');
    server.send(entry('present', 1, body('ann'), 'p') + entry('present', 2, body('bob'), 'p') + ready('c1'));
    const leader = leaderOf(tabs)!;
    await allEqual(tabs, leader, 'after the replay');
    expect(leader.c.getSnapshot().size).toBe(2);

    server.send(entry('modify', 1, body('ann', 'suspended'), 'c2'));
    server.send(entry('delete', 2, { id: 'bob', _url: body('bob')._url }, 'c3'));
    server.send(entry('add', 3, body('cy'), 'c4'));
    await until(
      () =>
        tabs.every((t) => t.changes.filter((ch) => ch.type === 'upsert' && ch.syncOp === 'add').length === 1),
      'the add everywhere',
    );
    await allEqual(tabs, leader, 'after live changes');
    expect(server.requests).toHaveLength(1);
    expect(tabs.map((t) => t.role()).sort()).toEqual([...Array<string>(6).fill('follower'), 'leader']);
    // every tab saw the same events and the same changes, once each
    for (const t of tabs) {
      expect(
        t.events.map((e) => (e.type === 'entry' ? `${e.syncOp}:${e.entryUUID.slice(-1)}` : e.type)),
      ).toEqual(['present:1', 'present:2', 'ready', 'modify:1', 'delete:2', 'add:3']);
      expect(t.changes.map((ch) => `${ch.type}:${ch.entryUUID.slice(-1)}`)).toEqual([
        'upsert:1',
        'upsert:2',
        'upsert:1',
        'delete:2',
        'upsert:3',
      ]);
    }
    // followers mirror the leader's status: replaying, then live (with their own role)
    const follower = tabs.find((t) => t !== leader)!;
    expect(follower.statuses.map((s) => s.kind)).toContain('live');
    expect(follower.c.status.getSnapshot()).toMatchObject({ kind: 'live', role: 'follower' });
    expect(leader.c.status.getSnapshot()).toMatchObject({ kind: 'live', role: 'leader' });
  });

  it('the leader closes: another tab takes over, resumes from the last cookie, nothing replayed, lost or applied twice (M7)', async () => {
    const { server, open } = world();
    const first = open();
    await until(() => first.role() === 'leader', 'the first tab leads');
    const tabs = [first, open(), open()];
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await allEqual(tabs, first, 'live');
    server.send(entry('modify', 1, body('ann', 'suspended'), 'c2'));
    await allEqual(tabs, first, 'the modify');

    const rest = tabs.slice(1);
    const presentsBefore = rest.map(presents); // a tab that loaded after the replay was stored saw none
    await first.c.close();
    await until(() => leaderOf(rest) !== undefined && server.requests.length === 2, 'a new leader connected');
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c2'); // the last event every tab applied
    server.send(ready('c2'));
    server.send(entry('modify', 1, body('ann', 'disabled'), 'c3'));
    const leader = leaderOf(rest)!;
    await until(
      () => rest.every((t) => t.c.getSnapshot().get(U(1))?.status === 'disabled'),
      'the next change',
    );
    await allEqual(rest, leader, 'after the handover');
    expect(rest.map(presents)).toEqual(presentsBefore); // no replay
    for (const t of rest) {
      const modifies = t.changes.filter((ch) => ch.type === 'upsert' && ch.syncOp === 'modify');
      expect(modifies.map((ch) => ch.type === 'upsert' && ch.body.status)).toEqual(['suspended', 'disabled']);
    }
    expect(server.requests).toHaveLength(2);
  });

  it('the leader crashes with writes not stored: the next leader rewrites the stored copy from its state (M8)', async () => {
    const { url, server, open } = world();
    const first = open({ batchDelayMs: 60_000 }); // its writes never land before the crash
    await until(() => first.role() === 'leader', 'the first tab leads');
    server.send(entry('present', 1, body('ann'), 'p') + entry('present', 2, body('bob'), 'p') + ready('c1'));
    await until(() => first.kind() === 'live', 'live');
    const second = open();
    await allEqual([second], first, 'the second tab, from the relay log');
    expect(await loadLocal(url, {}, createStreamStore(url))).toEqual({ kind: 'empty' });

    server.end();
    first.tab.crash();
    await until(() => second.role() === 'leader' && server.requests.length === 2, 'the second tab took over');
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c1');
    server.send(ready('c1'));
    await until(() => second.kind() === 'live', 'live again');
    await until(async () => (await loadLocal(url, {}, createStreamStore(url))).kind === 'restored', 'stored');
    const stored = await loadLocal<Sub>(url, {}, createStreamStore(url));
    if (stored.kind !== 'restored') throw new Error(stored.kind);
    expect(stored.meta.cookie).toBe('c1');
    expect([...stored.entries].sort()).toEqual([...second.c.getSnapshot()].sort());
    expect(presents(second)).toBe(2);
  });

  it('a tab that joins while the leader has not stored its latest events gets them from the leader (M4, M5)', async () => {
    const { url, server, open } = world();
    // a stored copy from an earlier visit, numbered as shared tabs number it
    await writeBatch(
      {
        puts: new Map([[U(1), body('ann')]]),
        deletes: new Set(),
        meta: { url, cookie: 'c1', replaying: false, buster: undefined, writer: 'earlier', seq: 4 },
      },
      { expectedWriter: undefined },
      createStreamStore(url),
    );
    const first = open({ batchDelayMs: 60_000 });
    await until(() => first.role() === 'leader' && server.requests.length === 1, 'the first tab leads');
    expect(server.requests[0]!.headers['Last-Event-ID']).toBe('c1');
    server.send(
      ready('c1') + entry('add', 2, body('bob'), 'c2') + entry('modify', 1, body('ann', 'x'), 'c3'),
    );
    await until(() => first.c.getSnapshot().size === 2 && first.kind() === 'live', 'two entries');
    const joiner = open();
    // it shows the stored copy (ann only) first, then catches up without a connection of its own
    await allEqual([joiner], first, 'the joiner');
    expect(joiner.events.map((e) => e.type)).toEqual(['ready', 'entry', 'entry']);
    expect(joiner.changes.map((ch) => (ch.type === 'upsert' ? ch.syncOp : ch.type))).toEqual([
      'add',
      'modify',
    ]);
    expect(server.requests).toHaveLength(1);
  });

  it('a tab whose stored copy cannot be placed (no seq) gets the leader’s snapshot, as changes (M5)', async () => {
    const { url, server, open } = world();
    await writeBatch(
      {
        puts: new Map([
          [U(1), body('ann')],
          [U(9), body('ghost')],
        ]),
        deletes: new Set(),
        meta: { url, cookie: 'c1', replaying: false, buster: undefined, writer: 'older-client' },
      },
      { expectedWriter: undefined },
      createStreamStore(url),
    );
    const first = open({ batchDelayMs: 60_000 });
    await until(() => first.role() === 'leader', 'leads');
    server.send(
      ready('c1') +
        entry('delete', 9, { id: 'ghost', _url: '/g' }, 'c2') +
        entry('add', 2, body('bob'), 'c3'),
    );
    await until(() => first.c.getSnapshot().size === 2, 'two entries');
    const joiner = open();
    await allEqual([joiner], first, 'the joiner');
    expect(joiner.events).toEqual([]); // no events: a snapshot
    expect(joiner.changes.map((ch) => `${ch.type}:${ch.entryUUID.slice(-1)}`).sort()).toEqual([
      'delete:9',
      'upsert:2',
    ]);
  });

  it('a follower that misses a relayed message notices the gap and catches up (M3)', async () => {
    const { server, open } = world();
    const first = open();
    await until(() => first.role() === 'leader', 'leads');
    const second = open();
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await allEqual([first, second], first, 'live');
    const before = second.changes.length;
    let dropped = 0;
    second.tab.dropIncoming = (data) => {
      const m = data as { t: string };
      if (m.t === 'events' && dropped === 0) {
        dropped++;
        return true;
      }
      return false;
    };
    server.send(entry('modify', 1, body('ann', 'lost'), 'c2'));
    await until(() => dropped === 1, 'a message dropped');
    server.send(entry('add', 2, body('bob'), 'c3'));
    await allEqual([second], first, 'caught up');
    expect(second.changes.slice(before).map((ch) => (ch.type === 'upsert' ? ch.syncOp : ch.type))).toEqual([
      'modify',
      'add',
    ]);
    expect(server.requests).toHaveLength(1);
  });

  it('followers show the leader’s status as it changes; reconnect() in a follower reconnects the leader', async () => {
    const { server, open } = world();
    const first = open();
    await until(() => first.role() === 'leader', 'leads');
    const second = open();
    server.send(ready('c1'));
    await allEqual([first, second], first, 'live');
    const seen = second.statuses.length;
    server.end();
    await until(() => second.statuses.slice(seen).some((s) => s.kind === 'connecting'), 'connecting');
    await until(() => server.requests.length === 2, 'the leader reconnects');
    server.send(ready('c1'));
    await allEqual([first, second], first, 'live again');
    second.c.reconnect();
    await until(() => server.requests.length === 3, 'reconnected on the follower’s request');
    expect(server.requests.map((r) => r.tag)).toEqual(['tab1', 'tab1', 'tab1']);
  });

  it('a frozen leader lets go: another tab leads, and the frozen one follows when it resumes (M9)', async () => {
    const { locks, server, open } = world();
    let pause!: () => void;
    let resume!: () => void;
    const tab = new FakeTab(locks, 'frozen');
    const sharing = {
      ...tab.sharing,
      lifecycle: (p: () => void, r: () => void) => {
        pause = p;
        resume = r;
        return () => {};
      },
    };
    // the tab to be frozen first follows, then leads (it has known another leader before)
    const first = open();
    await until(() => first.role() === 'leader', 'the first tab leads');
    const frozen = open({ share: sharing }, tab);
    server.send(entry('present', 1, body('ann'), 'p') + ready('c1'));
    await allEqual([first, frozen], first, 'live');
    await first.c.close();
    await until(() => frozen.role() === 'leader', 'the tab leads');
    const second = open();
    server.send(ready('c1'));
    await allEqual([frozen, second], frozen, 'live under the tab');
    const requests = server.requests.length;

    pause();
    expect(frozen.role()).toBe('follower');
    await until(
      () => second.role() === 'leader' && server.requests.length === requests + 1,
      'another tab took over',
    );
    expect(server.requests.at(-1)!.headers['Last-Event-ID']).toBe('c1');
    server.send(ready('c1') + entry('modify', 1, body('ann', 'while frozen'), 'c2'));
    await until(() => second.c.getSnapshot().get(U(1))?.status === 'while frozen', 'applied');
    resume();
    await allEqual([frozen, second], second, 'the resumed tab caught up');
    expect(frozen.role()).toBe('follower');
    expect(server.requests).toHaveLength(requests + 1);
  });

  it('without sharing (`share: null`, or no Web Locks as in Node) each collection has its own connection and no role', async () => {
    const { server, open } = world();
    const a = open({ share: null });
    const b = open({ share: null });
    await until(() => server.requests.length === 2, 'two connections');
    expect(a.c.status.getSnapshot()).not.toHaveProperty('role');
    expect(b.c.status.getSnapshot()).not.toHaveProperty('role');
  });
});
