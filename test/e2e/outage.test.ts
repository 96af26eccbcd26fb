/**
 * Standard EventSource clients started while the directory is down (issue "Production topology"
 * §4): a stream is answered 200 and held, so neither the `eventsource` package nor Chromium's
 * EventSource gives up (per the WHATWG spec a non-200 answer fails an EventSource for good); once
 * the directory is back they get the replay, `ready` and live changes, and end equal to the
 * listing.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { EventSource } from 'eventsource';
import { startSlapdForSubman, startSubman, subscriberDn, type Subman } from '../fixtures/subman.js';
import { getJson, type EntryEventData } from '../fixtures/sse.js';
import type { Slapd } from '../fixtures/slapd.js';
import { eventually, launchChromium } from './harness.js';

const PATH = '/realm/example.org/subscriber';
let slapd: Slapd;
let subman: Subman;

beforeAll(async () => {
  slapd = await startSlapdForSubman(12);
  await slapd.stop(); // the outage: the server starts without its directory
  subman = await startSubman({ slapd, waitReady: false, heartbeatMs: 200 });
}, 120_000);

afterAll(async () => {
  await subman?.close();
  await slapd?.close();
});

type Body = Record<string, unknown>;
/** A client's state from the events an EventSource saw (docs/stream-contract.md §S4). */
function fold(events: { type: string; data: string }[]): Map<string, Body> {
  const state = new Map<string, Body>();
  for (const e of events) {
    if (e.type === 'reset') state.clear();
    if (e.type !== 'entry') continue;
    const d = JSON.parse(e.data) as EntryEventData;
    if (d.syncOp === 'delete') state.delete(d.entryUUID);
    else state.set(d.entryUUID, d.body);
  }
  return state;
}
const sorted = (bodies: Iterable<Body>) =>
  [...bodies].sort((a, b) => String(a._url).localeCompare(String(b._url)));

test("the eventsource package and Chromium's EventSource, opened during an LDAP outage, end equal to the listing after recovery", async () => {
  const url = `${subman.base}${PATH}?subscribe=1`;
  expect((await getJson(`${subman.base}${PATH}`)).status).toBe(503); // listings may say 503

  const node: { type: string; data: string }[] = [];
  const errors: number[] = [];
  const es = new EventSource(url);
  for (const type of ['entry', 'ready', 'reset']) {
    es.addEventListener(type, (e) => node.push({ type, data: (e as unknown as { data: string }).data }));
  }
  es.addEventListener('error', () => errors.push(es.readyState));

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${subman.base}/metrics`); // any page of the origin
    await page.evaluate((u) => {
      const w = globalThis as unknown as { seen: { type: string; data: string }[]; es: EventSource };
      w.seen = [];
      // The page's own EventSource (not the imported package's): looked up on the page's global object.
      const BrowserEventSource = (globalThis as unknown as { EventSource: typeof EventSource }).EventSource;
      w.es = new BrowserEventSource(u);
      for (const type of ['entry', 'ready', 'reset'])
        w.es.addEventListener(type, (e) =>
          w.seen.push({ type, data: (e as unknown as { data: string }).data }),
        );
    }, url);
    // Both are open and waiting: nothing to show yet, and no failure.
    await eventually(
      async () => [
        es.readyState,
        await page.evaluate(() => (globalThis as unknown as { es: EventSource }).es.readyState),
      ],
      ([a, b]) => a === EventSource.OPEN && b === 1,
      'both EventSources open during the outage',
    );
    expect(node).toEqual([]);

    await slapd.start();
    await slapd.modify(
      `dn: ${subscriberDn('example.org', 'sub000004')}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: after-outage\n-`,
    );
    const listing = async () => {
      const res = await getJson(`${subman.base}${PATH}`);
      return res.status === 200 ? sorted(res.body as Body[]) : undefined;
    };
    const expected = await eventually(
      listing,
      (l) => l !== undefined && JSON.stringify(l).includes('after-outage'),
      'the listing after recovery',
    );
    await eventually(
      async () => sorted(fold(node).values()),
      (s) => JSON.stringify(s) === JSON.stringify(expected),
      'the eventsource package equal to the listing',
    );
    await eventually(
      async () =>
        sorted(
          fold(
            await page.evaluate(
              () => (globalThis as unknown as { seen: { type: string; data: string }[] }).seen,
            ),
          ).values(),
        ),
      (s) => JSON.stringify(s) === JSON.stringify(expected),
      "Chromium's EventSource equal to the listing",
    );
    expect(es.readyState).toBe(EventSource.OPEN);
    expect(errors).toEqual([]); // never failed, never even reconnected
  } finally {
    es.close();
    await browser.close();
  }
}, 120_000);
