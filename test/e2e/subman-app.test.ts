/**
 * The demo as shipped: the SubMan app itself serves the live page and the client bundle it
 * imports (no test front in between), and the page comes up live in Chromium.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSubman, type Subman } from '../fixtures/subman.js';
import { BUNDLE, BUNDLE_DIR, eventually, launchChromium, rows, statusKind } from './harness.js';

let subman: Subman;

beforeAll(async () => {
  subman = await startSubman({ subscribers: 8 });
}, 120_000);

afterAll(async () => {
  await subman?.close();
});

describe('the SubMan app', () => {
  it('serves the live page, and the client bundle at /lib/', async () => {
    const page = await fetch(`${subman.base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    const app = await (await fetch(`${subman.base}/app.js`)).text();
    expect(app).toContain(`from '/lib/${BUNDLE}'`);
    const bundle = await fetch(`${subman.base}/lib/${BUNDLE}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(Buffer.from(await bundle.arrayBuffer()).equals(await readFile(`${BUNDLE_DIR}${BUNDLE}`))).toBe(
      true,
    );
  });

  it('its page comes up live in Chromium, straight from the app', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${subman.base}/`);
      await eventually(
        async () => [await statusKind(page, 'realms'), await statusKind(page, 'subscribers')],
        ([a, b]) => a === 'live' && b === 'live',
        'both streams live',
      );
      // Status changes show at once, snapshots on the next animation frame (the client coalesces
      // renders): the rows may trail 'live' by a frame.
      const counts = await eventually(
        async (): Promise<[number, number]> => [
          (await rows(page, 'realms')).length,
          (await rows(page, 'subscribers')).length,
        ],
        ([realms, subscribers]) => realms === 4 && subscribers > 0,
        'both tables rendered',
      );
      expect(counts[0]).toBe(4);
      expect(counts[1]).toBeGreaterThan(0);
      expect(page.url()).toMatch(/#realm=campus\.example$/); // the first realm, picked by default
    } finally {
      await browser.close();
    }
  });
});
