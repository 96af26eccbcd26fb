/**
 * Many tabs of one browser on the SubMan live page (SPEC.md M1–M10): they share one connection per
 * stream (the server's `syncrepl_rx_subscribers` gauge says so), all stay live and equal to the
 * REST listing, survive the leader tab closing or freezing without a replay, and a new tab joins
 * without a connection of its own.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSubman, subscriberDn, type Subman } from '../fixtures/subman.js';
import { eventually, launchChromium, stats, statusKind } from './harness.js';

const REALM = 'example.org';
const STREAMS = ['realms', 'subscribers'] as const;
type Stream = (typeof STREAMS)[number];

let subman: Subman;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  subman = await startSubman({ subscribers: 40 });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
}, 120_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close();
  await subman?.close();
}, 60_000);

/** Open SSE streams per resource, as the server counts them. */
async function connections(): Promise<Record<string, number>> {
  const text = await (await fetch(`${subman.base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^syncrepl_rx_subscribers\{resource="([^"]+)"\} (\d+)$/gm)) {
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

const role = (page: Page, stream: Stream) =>
  page.evaluate<string | undefined>(`window.subman?.${stream}?.status.getSnapshot().role`);

/** Stream requests (`?subscribe=1`) a page makes, from now on. */
function streamRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).searchParams.get('subscribe') === '1') seen.push(r.url());
  });
  return seen;
}

async function openTab(): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const requests = streamRequests(page);
  await page.goto(`${subman.base}/#realm=${REALM}`);
  return { page, requests, errors };
}

async function waitLive(page: Page): Promise<void> {
  await eventually(
    async () => [await statusKind(page, 'realms'), await statusKind(page, 'subscribers')],
    ([a, b]) => a === 'live' && b === 'live',
    'both streams live',
  );
}

/** What the page holds for the realm's subscribers: full bodies, sorted by id. */
const held = (page: Page) =>
  page.evaluate<{ id: string }[]>(
    `[...window.subman.subscribers.getSnapshot().values()].sort((a, b) => (a.id < b.id ? -1 : 1))`,
  );

async function restListing(): Promise<string> {
  return JSON.stringify(await (await fetch(`${subman.base}/realm/${REALM}/subscriber`)).json());
}

/** Every page live and holding exactly the REST listing. */
async function expectAllEqualRest(pages: Page[], what: string): Promise<void> {
  await eventually(
    async () => {
      const rest = await restListing();
      const states = await Promise.all(pages.map(async (p) => JSON.stringify(await held(p))));
      const kinds = await Promise.all(pages.map((p) => statusKind(p, 'subscribers')));
      return {
        equal: states.filter((s) => s === rest).length,
        live: kinds.filter((k) => k === 'live').length,
      };
    },
    ({ equal, live }) => equal === pages.length && live === pages.length,
    `${what}: all ${pages.length} tabs live and equal to the REST listing`,
  );
}

async function leaderOf(pages: Page[], stream: Stream): Promise<Page[]> {
  const roles = await Promise.all(pages.map((p) => role(p, stream)));
  return pages.filter((_, i) => roles[i] === 'leader');
}

const modify = (uid: string, status: string) =>
  subman.slapd.modify(
    `dn: ${subscriberDn(REALM, uid)}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${status}\n`,
  );

describe('tabs of one browser on the live page', () => {
  const tabs: { page: Page; requests: string[]; errors: string[] }[] = [];

  it('seven tabs: all live and equal to the REST listing after changes, one connection per stream', async () => {
    tabs.push(await openTab());
    await waitLive(tabs[0]!.page);
    for (let i = 1; i < 7; i++) tabs.push(await openTab());
    const pages = tabs.map((t) => t.page);
    for (const p of pages) await waitLive(p);

    for (const stream of STREAMS) expect(await leaderOf(pages, stream)).toHaveLength(1);
    await eventually(
      connections,
      (c) => c.realm === 1 && c.subscriber === 1 && c.allSubscribers === 1,
      'one connection per stream for seven tabs',
    );

    // changes in LDAP: a modify, an add, a delete, a rename
    const [first, second, third] = JSON.parse(await restListing()) as { id: string; status: string }[];
    await modify(first!.id, first!.status === 'active' ? 'suspended' : 'active');
    await subman.slapd.add(
      `dn: ${subscriberDn(REALM, 'tabs-add')}\nobjectClass: submanSubscriber\nuid: tabs-add\ncn: Added For Tabs\nmail: tabs@${REALM}\nsubmanStatus: active\n`,
    );
    await subman.slapd.delete(subscriberDn(REALM, second!.id));
    await subman.slapd.modify(
      `dn: ${subscriberDn(REALM, third!.id)}\nchangetype: modrdn\nnewrdn: uid=${third!.id}-r1\ndeleteoldrdn: 1\n`,
    );
    await expectAllEqualRest(pages, 'after four changes');
    expect(await connections()).toMatchObject({ realm: 1, subscriber: 1, allSubscribers: 1 });
    // only the leader of each of the three streams ever asked for it
    const asked = tabs.filter((t) => t.requests.length > 0).length;
    expect(asked).toBeLessThanOrEqual(3);
    for (const t of tabs) expect(t.errors).toEqual([]);
  }, 90_000);

  it('closing the leader keeps the others live, with no replay', async () => {
    const pages = tabs.map((t) => t.page);
    const [leader] = await leaderOf(pages, 'subscribers');
    const rest = pages.filter((p) => p !== leader);
    const before = await Promise.all(rest.map((p) => stats(p, 'subscribers')));
    await leader!.close();
    tabs.splice(pages.indexOf(leader!), 1);

    await eventually(
      async () => (await leaderOf(rest, 'subscribers')).length,
      (n) => n === 1,
      'another tab leads',
    );
    const [target] = JSON.parse(await restListing()) as { id: string; status: string }[];
    await modify(target!.id, target!.status === 'active' ? 'suspended' : 'active');
    await expectAllEqualRest(rest, 'after the handover');
    await eventually(
      connections,
      (c) => c.realm === 1 && c.subscriber === 1 && c.allSubscribers === 1,
      'still one connection per stream',
    );
    const after = await Promise.all(rest.map((p) => stats(p, 'subscribers')));
    for (let i = 0; i < rest.length; i++) {
      expect(after[i]!.present - before[i]!.present, `tab ${i}: replayed presents`).toBe(0);
      expect(after[i]!.reset).toBe(before[i]!.reset);
      expect(after[i]!.modify).toBeGreaterThan(before[i]!.modify);
    }
  });

  it('a leader that gets the Page Lifecycle `freeze` lets another tab lead; it follows again on `resume`', async () => {
    // CDP's Page.setWebLifecycleState does not freeze a page in this headless Chromium (its
    // timers keep running and no `freeze` event fires), so the test sends the events the browser
    // sends before freezing a page and after thawing it.
    const pages = tabs.map((t) => t.page);
    const [leader] = await leaderOf(pages, 'subscribers');
    const rest = pages.filter((p) => p !== leader);
    await leader!.evaluate(`document.dispatchEvent(new Event('freeze'))`);
    expect(await role(leader!, 'subscribers')).toBe('follower');
    await eventually(
      async () => (await leaderOf(rest, 'subscribers')).length,
      (n) => n === 1,
      'another tab leads while the leader is frozen',
    );
    const [target] = JSON.parse(await restListing()) as { id: string; status: string }[];
    await modify(target!.id, target!.status === 'active' ? 'suspended' : 'active');
    await expectAllEqualRest(rest, 'while one tab is frozen');
    await leader!.evaluate(`document.dispatchEvent(new Event('resume'))`);
    await expectAllEqualRest(pages, 'after it resumed');
    expect(await role(leader!, 'subscribers')).toBe('follower');
    await eventually(
      connections,
      (c) => c.realm === 1 && c.subscriber === 1 && c.allSubscribers === 1,
      'one connection per stream',
    );
  });

  it('an eighth tab shows the stored state, then joins live without a connection or a replay', async () => {
    const pages = tabs.map((t) => t.page);
    const tab = await openTab();
    tabs.push(tab);
    await waitLive(tab.page);
    const s = (await stats(tab.page, 'subscribers'))!;
    expect(s.firstRenderSize).toBeGreaterThan(0); // from IndexedDB
    expect(s.present).toBe(0);
    expect(tab.requests).toEqual([]);
    expect(await role(tab.page, 'subscribers')).toBe('follower');
    const [target] = JSON.parse(await restListing()) as { id: string; status: string }[];
    await modify(target!.id, target!.status === 'active' ? 'suspended' : 'active');
    await expectAllEqualRest([...pages, tab.page], 'with the eighth tab');
    expect(await connections()).toMatchObject({ realm: 1, subscriber: 1, allSubscribers: 1 });
    expect(tab.errors).toEqual([]);
  });
});
