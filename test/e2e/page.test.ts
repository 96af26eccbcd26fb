/**
 * The SubMan live page as a page: it fits at 1280 px and at 390 px without sideways scrolling,
 * follows `prefers-color-scheme`, has table captions, header scopes and a live region, filters
 * subscribers as you type, and says in words what changed (a rename or a re-homing as one line).
 * Screenshots go to test/artifacts (gitignored).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSubman, subscriberDn, type Subman } from '../fixtures/subman.js';
import { ARTIFACTS, eventually, launchChromium, rows } from './harness.js';

let subman: Subman;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  subman = await startSubman({ subscribers: 40 });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await subman?.close();
}, 60_000);

async function openPage(
  options: { width: number; height: number; dark?: boolean },
  realm = 'example.org',
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width, height: options.height },
    colorScheme: options.dark ? 'dark' : 'light',
  });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${subman.base}/#realm=${realm}`);
  await eventually(
    () =>
      page.evaluate<string[]>(
        `['realms', 'subscribers', 'all'].map((s) => window.subman?.[s]?.status.getSnapshot().kind)`,
      ),
    (kinds) => kinds.every((k) => k === 'live'),
    'all three streams live',
  );
  await eventually(
    async () => [(await rows(page, 'realms')).length, (await rows(page, 'subscribers')).length],
    ([r, s]) => r! > 0 && s! > 0,
    'both tables rendered',
  );
  expect(errors).toEqual([]);
  return page;
}

/** Elements whose content is wider than their box (the page, a panel, a table, a cell, …). */
function overflowing(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    const out = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) out.push('the page: ' + doc.scrollWidth + ' > ' + doc.clientWidth);
    for (const el of document.body.querySelectorAll('*')) {
      // hidden on purpose: 1 px boxes for screen readers only
      let clipped = false;
      for (let up = el; up && !clipped; up = up.parentElement) clipped = getComputedStyle(up).clipPath !== 'none';
      if (clipped) continue;
      if (el.closest('[hidden]') || el.clientWidth === 0) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(name(el) + ': ' + el.scrollWidth + ' > ' + el.clientWidth);
    }
    return out;
  })()`);
}

const text = (v: (string | Buffer)[] | undefined) => (v?.[0] === undefined ? '' : String(v[0]));

describe('the live page', () => {
  it('fits 1280×800 without clipping (screenshot)', async () => {
    const page = await openPage({ width: 1280, height: 800 });
    expect(await overflowing(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'subman-1280x800.png') });
  });

  it('fits 390×844 without sideways scrolling (screenshot)', async () => {
    const page = await openPage({ width: 390, height: 844 });
    expect(await overflowing(page)).toEqual([]);
    const [w, scroll] = await page.evaluate<[number, number]>(
      `[document.documentElement.clientWidth, document.documentElement.scrollWidth]`,
    );
    expect(scroll).toBeLessThanOrEqual(w);
    await page.screenshot({ path: join(ARTIFACTS, 'subman-390x844.png'), fullPage: true });
  });

  it('follows prefers-color-scheme: dark (screenshot)', async () => {
    const page = await openPage({ width: 1280, height: 800, dark: true });
    const [bg, ink] = await page.evaluate<[string, string]>(
      `[getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).color]`,
    );
    const luminance = (rgb: string) => {
      const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    expect(luminance(bg)).toBeLessThan(60); // a dark background
    expect(luminance(ink)).toBeGreaterThan(180); // light text
    expect(await overflowing(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'subman-dark-1280x800.png') });
  });

  it('tables have captions and header scopes; a live region announces statuses and changes', async () => {
    const page = await openPage({ width: 1280, height: 800 });
    const structure = await page.evaluate<
      { id: string; caption: string; colScopes: string[]; rowHeaders: number; rows: number }[]
    >(`[...document.querySelectorAll('table')].map((t) => ({
      id: t.id,
      caption: t.caption?.textContent.trim() ?? '',
      colScopes: [...t.tHead.rows[0].cells].map((th) => th.tagName + ':' + th.scope),
      rowHeaders: t.querySelectorAll('tbody tr > th[scope="row"]:first-child').length,
      rows: t.tBodies[0].rows.length,
    }))`);
    expect(structure.map((t) => t.id)).toEqual(['realms', 'subscribers']);
    for (const t of structure) {
      expect(t.caption).not.toBe('');
      expect(new Set(t.colScopes)).toEqual(new Set(['TH:col']));
      expect(t.rowHeaders).toBe(t.rows);
    }
    const live = page.locator('[aria-live="polite"]');
    await eventually(
      () => live.first().textContent(),
      (t) => /live/.test(t ?? ''),
      'a status announced',
    );
    const [target] = await page.evaluate<{ id: string; status: string }[]>(
      `[...window.subman.subscribers.getSnapshot().values()].sort((a, b) => (a.id < b.id ? -1 : 1))`,
    );
    const next = target!.status === 'active' ? 'suspended' : 'active';
    await subman.slapd.modify(
      `dn: ${subscriberDn('example.org', target!.id)}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${next}\n`,
    );
    await eventually(
      () => live.first().textContent(),
      (t) => (t ?? '').includes(`status ${target!.status} → ${next}`),
      'the change announced',
    );
  });

  it('the search box filters the realm’s subscribers by id, name or e-mail as you type', async () => {
    const page = await openPage({ width: 1280, height: 800 });
    const all = await page.evaluate<{ id: string; name: string; email: string }[]>(
      `[...window.subman.subscribers.getSnapshot().values()]`,
    );
    const expectShown = async (query: string) => {
      const q = query.toLowerCase();
      const want = all
        .filter((s) =>
          [s.id, s.name, s.email].some((v) =>
            String(v ?? '')
              .toLowerCase()
              .includes(q),
          ),
        )
        .map((s) => s.id)
        .sort();
      await eventually(
        async () => (await rows(page, 'subscribers')).map((r) => r.id),
        (got) => JSON.stringify(got) === JSON.stringify(want),
        `the rows matching ${JSON.stringify(query)} (${want.length})`,
      );
      return want.length;
    };
    const search = page.locator('#search');
    const byId = all[0]!.id;
    await search.pressSequentially(byId.slice(0, -1));
    expect(await expectShown(byId.slice(0, -1))).toBeGreaterThan(0);
    await search.fill('');
    const name = all[1]!.name.split(' ')[0]!.toUpperCase(); // case does not matter
    await search.pressSequentially(name);
    expect(await expectShown(name)).toBeGreaterThan(0);
    await search.fill(all[2]!.email);
    expect(await expectShown(all[2]!.email)).toBe(1);
    await search.fill('no such subscriber');
    expect(await expectShown('no such subscriber')).toBe(0);
    expect(await page.locator('#no-match').isVisible()).toBe(true);
    await search.fill('');
    expect(await expectShown('')).toBe(all.length);
    expect(await page.locator('#subscribers-count').textContent()).toBe(`(${all.length})`);
  });

  it('recent changes say what happened: attributes old → new, a rename and a re-homing as one line each', async () => {
    const page = await openPage({ width: 1280, height: 800 }, 'example.net');
    const subs = await subman.slapd.search(
      `submanId=example.org,ou=realms,dc=subman,dc=example`,
      'one',
      '(objectClass=submanSubscriber)',
      ['uid', 'cn', 'entryUUID'],
    );
    const [renamed, moved, changed] = subs.map((e) => ({
      id: text(e.attributes.uid),
      name: text(e.attributes.cn),
      uuid: text(e.attributes.entryUUID),
    }));
    await subman.slapd.modify(
      `dn: ${subscriberDn('example.org', changed!.id)}\nchangetype: modify\nreplace: cn\ncn: Renamed Person\n`,
    );
    await subman.slapd.modify(
      `dn: ${subscriberDn('example.org', renamed!.id)}\nchangetype: modrdn\nnewrdn: uid=${renamed!.id}-r1\ndeleteoldrdn: 1\n`,
    );
    await subman.slapd.modify(
      `dn: ${subscriberDn('example.org', moved!.id)}\nchangetype: modrdn\nnewrdn: uid=${moved!.id}\ndeleteoldrdn: 1\nnewsuperior: submanId=example.net,ou=realms,dc=subman,dc=example\n`,
    );
    const log = () =>
      page.evaluate<{ uuid: string; text: string }[]>(
        `[...document.querySelectorAll('#changes li')].map((li) => ({ uuid: li.dataset.uuid, text: li.textContent }))`,
      );
    const lines = await eventually(
      log,
      (l) =>
        l.some((x) => x.text.includes(`${renamed!.id} renamed to ${renamed!.id}-r1`)) &&
        l.some((x) => x.text.includes(`${moved!.id} re-homed from example.org to example.net`)) &&
        l.some((x) => x.text.includes(`name ${changed!.name} → Renamed Person`)),
      'the three changes in words',
    );
    // one line per rename or move: no separate delete or add for them
    expect(lines.filter((l) => l.uuid === renamed!.uuid)).toHaveLength(1);
    expect(lines.filter((l) => l.uuid === moved!.uuid)).toHaveLength(1);
    // the moved subscriber shows up in example.net's table, with the same entryUUID
    await eventually(
      async () => (await rows(page, 'subscribers')).find((r) => r.uuid === moved!.uuid)?.id,
      (id) => id === moved!.id,
      'the re-homed subscriber in its new realm',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'subman-changes.png') });
  });
});
