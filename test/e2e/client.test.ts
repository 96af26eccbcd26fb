/**
 * @syncrepl-rx/client in a real Chromium, on the SubMan live page, against the SubMan server on
 * a real slapd. Each test opens its own browser context (its own IndexedDB); the LDAP data is
 * shared, so every test takes the directory (ldapsearch) and the REST listing as the truth at the
 * moment it compares, never what the fixture loaded.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUFFIX, startSubman, subscriberDn, type Subman } from '../fixtures/subman.js';
import {
  ARTIFACTS,
  eventually,
  launchChromium,
  rows,
  startFront,
  stats,
  statusKind,
  type Front,
  type Row,
} from './harness.js';

const SECRET = 'e2e-secret-0123456789abcdef';
const realmDn = (realm: string) => `submanId=${realm},ou=realms,${SUFFIX}`;
const text = (v: (string | Buffer)[] | undefined) => (v?.[0] === undefined ? '' : String(v[0]));

let subman: Subman;
let storeDir: string;
let front: Front;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'subman-e2e-'));
  subman = await startSubman({ subscribers: 120, storeDir, secret: SECRET });
  front = await startFront(subman.base);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await front?.close();
  await subman?.stopServer();
  await subman?.slapd.close();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
}, 60_000);

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  contexts.push(context);
  return context;
}

/** Opens the live page on `realm` and waits until both streams are live. */
async function openLive(context: BrowserContext, realm: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${front.origin}/#realm=${realm}`);
  await waitLive(page);
  expect(errors).toEqual([]);
  return page;
}

async function waitLive(page: Page, ms = 15_000): Promise<void> {
  await eventually(
    async () => [await statusKind(page, 'realms'), await statusKind(page, 'subscribers')],
    ([a, b]) => a === 'live' && b === 'live',
    'both streams live',
    ms,
  );
  // The status shows at once, snapshots on the next animation frame (the client coalesces
  // renders): two frames later the tables show what the streams hold.
  await page.evaluate(() => {
    const g = globalThis as unknown as { requestAnimationFrame(cb: () => void): void };
    return new Promise<void>((resolve) =>
      g.requestAnimationFrame(() => g.requestAnimationFrame(() => resolve())),
    );
  });
}

/** What the directory holds, in the page's terms: realms and the subscribers of one realm. */
async function ldapRealms(): Promise<Omit<Row, 'classes'>[]> {
  const found = await subman.slapd.search(`ou=realms,${SUFFIX}`, 'one', '(objectClass=submanRealm)', [
    'entryUUID',
    'submanId',
    'description',
    'submanStatus',
  ]);
  return found
    .map((e) => ({
      uuid: text(e.attributes.entryUUID),
      id: text(e.attributes.submanId),
      cells: {
        id: text(e.attributes.submanId),
        description: text(e.attributes.description),
        status: text(e.attributes.submanStatus),
      },
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function ldapSubscribers(
  realm: string,
): Promise<{ uuid: string; id: string; name: string; email: string; status: string }[]> {
  const found = await subman.slapd.search(realmDn(realm), 'one', '(objectClass=submanSubscriber)', [
    'entryUUID',
    'uid',
    'cn',
    'mail',
    'submanStatus',
  ]);
  return found
    .map((e) => ({
      uuid: text(e.attributes.entryUUID),
      id: text(e.attributes.uid),
      name: text(e.attributes.cn),
      email: text(e.attributes.mail),
      status: text(e.attributes.submanStatus),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

const pageSubscribers = async (page: Page) =>
  (await rows(page, 'subscribers')).map((r) => ({
    uuid: r.uuid,
    id: r.id,
    name: r.cells.name,
    email: r.cells.email,
    status: r.cells.status,
  }));

const pageRealms = async (page: Page) =>
  (await rows(page, 'realms')).map((r) => ({ uuid: r.uuid, id: r.id, cells: r.cells }));

/** The page's subscribers equal the directory's, eventually (live changes take a moment). */
async function expectSubscribersMatchLdap(page: Page, realm: string): Promise<void> {
  const want = await ldapSubscribers(realm);
  await eventually(
    () => pageSubscribers(page),
    (got) => JSON.stringify(got) === JSON.stringify(want),
    `the page shows exactly the subscribers of ${realm} in LDAP (${want.length})`,
  );
}

/** The full bodies the page holds equal the server's REST listing. */
async function expectBodiesMatchRest(page: Page, realm: string): Promise<void> {
  const res = await fetch(`${front.origin}/realm/${realm}/subscriber`);
  const rest = (await res.json()) as { id: string }[];
  const held = await page.evaluate<{ id: string }[]>(
    `[...window.subman.subscribers.getSnapshot().values()].sort((a, b) => (a.id < b.id ? -1 : 1))`,
  );
  expect(held).toEqual(rest);
}

/** Waits until the stream's stored copy covers a finished replay (its meta record). */
function storedMeta(
  page: Page,
  streamPath: string,
): Promise<{ cookie?: string; replaying?: boolean } | undefined> {
  return page.evaluate<
    { cookie?: string; replaying?: boolean } | undefined
  >(`new Promise((resolve, reject) => {
    const open = indexedDB.open('syncrepl-rx ' + new URL(${JSON.stringify(streamPath)}, location.href).href);
    open.onerror = () => reject(open.error);
    open.onupgradeneeded = () => open.result.createObjectStore('entries');
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction('entries').objectStore('entries').get('meta');
      get.onsuccess = () => { db.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  })`);
}

async function waitStored(page: Page, streamPath: string): Promise<void> {
  await eventually(
    () => storedMeta(page, streamPath),
    (m) => typeof m?.cookie === 'string' && m.replaying === false,
    `${streamPath} stored with its cookie`,
  );
}

const setStatus = (realm: string, uid: string, status: string) =>
  subman.slapd.modify(
    `dn: ${subscriberDn(realm, uid)}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${status}\n`,
  );

const other = (status: string) => (status === 'suspended' ? 'active' : 'suspended');

describe('the SubMan live page in Chromium', () => {
  it('(1) first load shows exactly the LDAP data', async () => {
    const page = await openLive(await newContext(), 'example.org');
    // realms: entryUUID, id, description and status of every realm, as ldapsearch returns them
    expect(await pageRealms(page)).toEqual(await ldapRealms());
    // subscribers of the picked realm: the same, plus the full bodies against the REST listing
    await expectSubscribersMatchLdap(page, 'example.org');
    await expectBodiesMatchRest(page, 'example.org');
    const s = (await stats(page, 'subscribers'))!;
    expect(s.present).toBe((await ldapSubscribers('example.org')).length);
    expect(s).toMatchObject({ ready: 1, reset: 0 });
    expect(await page.locator('#status-subscribers').getAttribute('data-kind')).toBe('live');
  });

  it('(2) an ldapmodify shows up live, highlighted', async () => {
    const page = await openLive(await newContext(), 'example.org');
    const [target] = await ldapSubscribers('example.org');
    const before = (await stats(page, 'subscribers'))!;
    await setStatus('example.org', target!.id, other(target!.status));
    await subman.slapd.modify(
      `dn: ${realmDn('example.org')}\nchangetype: modify\nreplace: description\ndescription: Edited live\n`,
    );
    const row = await eventually(
      async () => (await rows(page, 'subscribers')).find((r) => r.uuid === target!.uuid),
      (r) => r?.cells.status === other(target!.status),
      'the modified status on screen',
      10_000,
    );
    expect(row!.classes).toContain('changed');
    await eventually(
      () => pageRealms(page),
      (got) => got.find((r) => r.id === 'example.org')?.cells.description?.startsWith('Edited live') === true,
      'the realm description on screen',
    );
    expect(await pageRealms(page)).toEqual(await ldapRealms());
    await expectSubscribersMatchLdap(page, 'example.org');
    const after = (await stats(page, 'subscribers'))!;
    expect(after.modify - before.modify).toBe(1);
    expect(after.present).toBe(before.present); // a live change, not a replay
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'subman-live.png'), fullPage: true });
  });

  it('(3) a reload shows the IndexedDB state before any network event, resumes with zero presents, and gets what changed meanwhile', async () => {
    const context = await newContext();
    let page = await openLive(context, 'example.net');
    const streamPath = '/realm/example.net/subscriber?subscribe=1';
    await waitStored(page, streamPath);
    await waitStored(page, '/realm?subscribe=1');
    await waitStored(page, '/subscriber?subscribe=1'); // every subscriber, for the change log
    const shownBefore = await rows(page, 'subscribers');
    await page.close();

    // while the page is closed: a modify, a delete and an add in this realm
    const subs = await ldapSubscribers('example.net');
    const [modified, deleted] = subs;
    await setStatus('example.net', modified!.id, other(modified!.status));
    await subman.slapd.delete(subscriberDn('example.net', deleted!.id));
    await subman.slapd.add(
      `dn: ${subscriberDn('example.net', 'offline-add')}\nobjectClass: submanSubscriber\nuid: offline-add\ncn: Added While Away\nmail: away@example.net\nsubmanStatus: active\n`,
    );

    // the stream requests are held until the stored state has been checked on screen
    page = await context.newPage();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held: { url: string; lastEventId: string | undefined }[] = [];
    await page.route(
      (url) => url.searchParams.get('subscribe') === '1',
      async (route: Route) => {
        held.push({ url: route.request().url(), lastEventId: route.request().headers()['last-event-id'] });
        await gate;
        await route.continue();
      },
    );
    await page.goto(`${front.origin}/#realm=example.net`);
    await eventually(
      () => Promise.resolve(held.length),
      (n) => n === 3,
      'the three stream requests made',
    );
    const fromDisk = await rows(page, 'subscribers');
    expect(fromDisk).toEqual(shownBefore.map((r) => ({ ...r, classes: '' })));
    expect((await pageRealms(page)).length).toBe((await ldapRealms()).length);
    const early = (await stats(page, 'subscribers'))!;
    expect(early.firstEventAt).toBeUndefined(); // nothing came from the network yet
    expect(typeof early.firstRenderAt).toBe('number'); // rendered from IndexedDB
    expect(early.firstRenderSize).toBe(shownBefore.length);
    // every request carried the stored cookie on the FIRST request (Last-Event-ID)
    for (const h of held) expect(h.lastEventId, h.url).toMatch(/^[\w-]+\.[\w-]+$/);

    release();
    await waitLive(page);
    await expectSubscribersMatchLdap(page, 'example.net');
    await expectBodiesMatchRest(page, 'example.net');
    const s = (await stats(page, 'subscribers'))!;
    expect(s).toMatchObject({ present: 0, reset: 0, add: 1, modify: 1, delete: 1, ready: 1 });
    expect((await stats(page, 'realms'))!).toMatchObject({ present: 0, reset: 0 });
    const ids = (await rows(page, 'subscribers')).map((r) => r.id);
    expect(ids).toContain('offline-add');
    expect(ids).not.toContain(deleted!.id);
  });

  it('(4) after a server restart the page resumes without a replay', async () => {
    const page = await openLive(await newContext(), 'isp.example');
    await waitStored(page, '/realm/isp.example/subscriber?subscribe=1');
    const before = (await stats(page, 'subscribers'))!;
    expect(before.present).toBeGreaterThan(0);

    await subman.stopServer();
    await eventually(
      () => statusKind(page, 'subscribers'),
      (k) => k === 'connecting',
      'the page notices the server is gone',
    );
    const [target] = await ldapSubscribers('isp.example');
    await setStatus('isp.example', target!.id, other(target!.status)); // while the server is down
    subman = await startSubman({ slapd: subman.slapd, storeDir, secret: SECRET });
    front.setTarget(subman.base);

    await eventually(
      () => stats(page, 'subscribers'),
      (s) => (s?.ready ?? 0) >= 2,
      'a second ready, from the new server',
      30_000,
    );
    await waitLive(page);
    await expectSubscribersMatchLdap(page, 'isp.example');
    const after = (await stats(page, 'subscribers'))!;
    expect(after.present).toBe(before.present); // no replay
    expect(after.reset).toBe(0);
    expect(after.modify).toBe(before.modify + 1);
    // and the new server says so too
    const metrics = await (await fetch(`${subman.base}/metrics`)).text();
    expect(metrics).toMatch(
      /syncrepl_rx_resumes_total\{[^}]*resource="subscriber"[^}]*outcome="resumed"[^}]*\} [1-9]/,
    );
    expect(metrics).not.toMatch(/syncrepl_rx_resumes_total\{[^}]*outcome="reset"[^}]*\} [1-9]/);
  }, 90_000);

  it('(4b) a connection cut mid-stream (a network error in the browser) reconnects, stays live, no replay', async () => {
    const page = await openLive(await newContext(), 'isp.example');
    await waitStored(page, '/realm/isp.example/subscriber?subscribe=1');
    const before = (await stats(page, 'subscribers'))!;
    front.cut();
    await eventually(
      () => stats(page, 'subscribers'),
      (s) => (s?.ready ?? 0) > before.ready,
      'a ready on a new connection after the cut',
      30_000,
    );
    const [target] = await ldapSubscribers('isp.example');
    await setStatus('isp.example', target!.id, other(target!.status));
    await waitLive(page);
    await expectSubscribersMatchLdap(page, 'isp.example');
    const after = (await stats(page, 'subscribers'))!;
    expect(after.present).toBe(before.present); // resumed, not replayed
    expect(after.reset).toBe(0);
    expect(await statusKind(page, 'subscribers')).toBe('live');
  }, 90_000);

  it('(5) a stored cookie the server cannot honour gives a reset, and the page ends in exactly the server’s state', async () => {
    const context = await newContext();
    let page = await openLive(context, 'campus.example');
    const streamPath = '/realm/campus.example/subscriber?subscribe=1';
    await waitStored(page, streamPath);
    const stale = await rows(page, 'subscribers');
    await page.close();

    // gone and changed while away: the replay must drop the ghost and show the change
    const [ghost, changed] = await ldapSubscribers('campus.example');
    await subman.slapd.delete(subscriberDn('campus.example', ghost!.id));
    await setStatus('campus.example', changed!.id, other(changed!.status));

    // tamper with the stored resume cookie: still well-formed, but its MAC no longer matches
    page = await context.newPage();
    await page.goto(`${front.origin}/style.css`);
    const tampered = await page.evaluate<string>(`new Promise((resolve, reject) => {
      const open = indexedDB.open('syncrepl-rx ' + new URL(${JSON.stringify(streamPath)}, location.href).href);
      open.onsuccess = () => {
        const store = open.result.transaction('entries', 'readwrite').objectStore('entries');
        const get = store.get('meta');
        get.onsuccess = () => {
          const meta = get.result;
          const [payload, mac] = meta.cookie.split('.');
          meta.cookie = payload + '.' + (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
          store.put(meta, 'meta').onsuccess = () => resolve(meta.cookie);
        };
      };
      open.onerror = () => reject(open.error);
    })`);
    expect(tampered).toMatch(/\./);
    await page.goto(`${front.origin}/#realm=campus.example`);
    await waitLive(page);
    await expectSubscribersMatchLdap(page, 'campus.example');
    await expectBodiesMatchRest(page, 'campus.example');
    const s = (await stats(page, 'subscribers'))!;
    const inLdap = (await ldapSubscribers('campus.example')).length;
    expect(s).toMatchObject({ reset: 1, present: inLdap, ready: 1 });
    expect(stale.some((r) => r.uuid === ghost!.uuid)).toBe(true);
    expect((await rows(page, 'subscribers')).some((r) => r.uuid === ghost!.uuid)).toBe(false);
    // the stored copy is exact again too: a reload resumes with zero presents
    await waitStored(page, streamPath);
    await page.reload();
    await waitLive(page);
    expect((await stats(page, 'subscribers'))!).toMatchObject({ present: 0, reset: 0 });
    await expectSubscribersMatchLdap(page, 'campus.example');
  });

  it('(5b) a restart with another secret: the page’s cookies are not honoured, it resets to exactly the server’s state', async () => {
    const page = await openLive(await newContext(), 'example.net');
    const before = (await stats(page, 'subscribers'))!;
    await subman.stopServer();
    const [ghost] = await ldapSubscribers('example.net');
    await subman.slapd.delete(subscriberDn('example.net', ghost!.id)); // while down
    subman = await startSubman({ slapd: subman.slapd, storeDir, secret: `${SECRET}-rotated` });
    front.setTarget(subman.base);
    await eventually(
      () => stats(page, 'subscribers'),
      (s) => (s?.ready ?? 0) >= 2,
      'a second ready, from the new server',
      30_000,
    );
    await waitLive(page);
    await expectSubscribersMatchLdap(page, 'example.net');
    await expectBodiesMatchRest(page, 'example.net');
    const after = (await stats(page, 'subscribers'))!;
    const inLdap = (await ldapSubscribers('example.net')).length;
    expect(after.reset).toBe(1);
    expect(after.present - before.present).toBe(inLdap); // one full replay
    expect((await rows(page, 'subscribers')).some((r) => r.uuid === ghost!.uuid)).toBe(false);
  }, 90_000);

  it('(6) a rename and a move to another realm show correctly in both realms’ views', async () => {
    const page = await openLive(await newContext(), 'isp.example');
    await waitStored(page, '/realm/isp.example/subscriber?subscribe=1');
    await page.locator('#realms tr[data-id="campus.example"] button').click();
    await eventually(
      () => stats(page, 'subscribers'),
      (s) => s?.url.endsWith('/realm/campus.example/subscriber?subscribe=1') === true && s.ready === 1,
      'campus.example live',
    );
    const [renamed, moved] = await ldapSubscribers('campus.example');
    await subman.slapd.modify(
      `dn: ${subscriberDn('campus.example', renamed!.id)}\nchangetype: modrdn\nnewrdn: uid=${renamed!.id}-renamed\ndeleteoldrdn: 1\n`,
    );
    await subman.slapd.modify(
      `dn: ${subscriberDn('campus.example', moved!.id)}\nchangetype: modrdn\nnewrdn: uid=${moved!.id}\ndeleteoldrdn: 1\nnewsuperior: ${realmDn('isp.example')}\n`,
    );
    // campus.example: the renamed one under its new id with the same entryUUID; the moved one gone
    await expectSubscribersMatchLdap(page, 'campus.example');
    const campus = await rows(page, 'subscribers');
    expect(campus.find((r) => r.uuid === renamed!.uuid)?.id).toBe(`${renamed!.id}-renamed`);
    expect(campus.some((r) => r.uuid === moved!.uuid)).toBe(false);
    const campusStats = (await stats(page, 'subscribers'))!;
    expect(campusStats).toMatchObject({ delete: 2, add: 1 });

    // isp.example (stored when it was shown first): resumes, and shows the moved one, same entryUUID
    await page.locator('#realms tr[data-id="isp.example"] button').click();
    await eventually(
      () => stats(page, 'subscribers'),
      (s) => s?.url.endsWith('/realm/isp.example/subscriber?subscribe=1') === true && s.ready === 1,
      'isp.example live again',
    );
    await expectSubscribersMatchLdap(page, 'isp.example');
    const isp = await rows(page, 'subscribers');
    expect(isp.find((r) => r.uuid === moved!.uuid)?.id).toBe(moved!.id);
    expect((await stats(page, 'subscribers'))!).toMatchObject({ present: 0, reset: 0, add: 1 });
    await expectBodiesMatchRest(page, 'isp.example');
    expect(await page.locator('#changes li').count()).toBeGreaterThan(0);
  });

  it('(7) offline: no requests while the browser is offline, then it resumes without a replay', async () => {
    const context = await newContext();
    const page = await openLive(context, 'example.org');
    const streamRequests: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).searchParams.get('subscribe') === '1') streamRequests.push(r.url());
    });
    await context.setOffline(true);
    await eventually(
      async () => [await statusKind(page, 'realms'), await statusKind(page, 'subscribers')],
      ([a, b]) => a === 'offline' && b === 'offline',
      'both streams offline',
    );
    expect(await page.locator('#status-subscribers').getAttribute('data-kind')).toBe('offline');
    const [target] = await ldapSubscribers('example.org');
    await setStatus('example.org', target!.id, other(target!.status));
    await new Promise((r) => setTimeout(r, 1500));
    expect(streamRequests).toEqual([]); // paused, not retrying against a dead network
    const before = (await stats(page, 'subscribers'))!;
    await context.setOffline(false);
    await waitLive(page);
    await expectSubscribersMatchLdap(page, 'example.org');
    const after = (await stats(page, 'subscribers'))!;
    expect(after.present).toBe(before.present);
    expect(after.modify).toBe(before.modify + 1);
    expect(streamRequests.length).toBe(3); // realms, the realm's subscribers, every subscriber
  });
});
