/**
 * Tabs sharing a stream (packages/client SPEC.md M1–M10), in Chromium, in one browser context:
 *
 *   new tab        a leader tab is live with 10k entries stored; a new tab opens: its first render
 *                  (from IndexedDB) and its `live` (joined the relay), from navigation start
 *   handover       the leader tab closes: until the next event (sent by the server on the new
 *                  leader's connection) is applied in every remaining tab
 *   relay          a burst of modifies on the leader's connection: events per second applied in
 *                  all 6 followers (from the leader applying the first to the last follower
 *                  applying the last)
 *
 *   pnpm --dir bench exec tsx browser/tabs.ts [--entries 10000] [--runs 5] [--burst 20000]
 *
 * Needs the client bundle (`pnpm --dir packages/client bundle`) and Debian's Chromium at
 * /usr/bin/chromium (or CHROMIUM_PATH). The stream is synthetic (synthetic.ts). It prints figures
 * and asserts nothing: the targets are reported, never enforced.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../test/fixtures/chromium.js';
import { entryEvent, replay, subscriber } from './synthetic.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = `${REPO}packages/client/dist/browser/syncrepl-rx-client.js`;
const TARGETS = { newTabMs: 200, handoverMs: 1000, relayPerSecond: 10_000 };
const FOLLOWERS = 6;

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    burst: { type: 'string', default: '20000' },
  },
});
const entries = Number(args.entries);
const runs = Number(args.runs);
const burstSize = Number(args.burst);
const streamPath = `/stream?n=${entries}&subscribe=1`;

// ── the server: a full replay without a cookie; with one, `ready`, then one marked change ─────
interface Server {
  origin: string;
  /** Stream requests so far. */
  requests: number;
  /** Resumes so far: each sends a change marked with its number (the "next event"). */
  resumes: number;
  /** Writes `n` modifies of burst `burst` to every open stream. */
  push(burst: number, n: number): void;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const files: Record<string, [string, string]> = {
    '/': [`${HERE}tabs.html`, 'text/html; charset=utf-8'],
    '/tabs.js': [`${HERE}tabs.js`, 'text/javascript'],
    '/lib/syncrepl-rx-client.js': [BUNDLE, 'text/javascript'],
  };
  const open = new Set<http.ServerResponse>();
  let seq = 0;
  const state: Server = {
    origin: '',
    requests: 0,
    resumes: 0,
    push(burst, n) {
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const k = i % entries;
        parts.push(entryEvent('modify', k, subscriber(k, { burst, v: i }), `live-${++seq}`));
      }
      const text = parts.join('');
      for (const res of open) res.write(text);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bench');
    const file = files[url.pathname];
    if (file) {
      void readFile(file[0]).then((body) =>
        res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'max-age=600' }).end(body),
      );
      return;
    }
    if (url.pathname !== '/stream') return void res.writeHead(404).end();
    state.requests++;
    const n = Number(url.searchParams.get('n'));
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    open.add(res);
    res.on('close', () => open.delete(res));
    const cookie = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId');
    if (cookie) {
      const mark = ++state.resumes;
      res.write(
        `retry: 2000\n\nevent: ready\nid: ${cookie}\ndata: {}\n\n` +
          entryEvent('modify', 0, subscriber(0, { mark }), `live-${++seq}`),
      );
      return;
    }
    res.write(replay(n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

// ── measuring ─────────────────────────────────────────────────────────────────────────────────
interface TabState {
  scriptAt: number;
  firstRenderAt?: number;
  /** Entries at the first render. */
  size: number;
  /** Entries now. */
  entries: number;
  liveAt?: number;
  role?: string;
  kind?: string;
  marks: Record<string, number>;
  bursts: Record<string, { first: number; last: number; applied: number }>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const number = (x: number) => Math.round(x).toLocaleString('en-US');
/** Median, with the range when there are several runs: `123 ms (110–150)`. */
const spread = (xs: number[], unit: string) =>
  xs.length < 2
    ? `${number(median(xs))} ${unit}`
    : `${number(median(xs))} ${unit} (${number(Math.min(...xs))}–${number(Math.max(...xs))})`;

const tabState = (page: Page) => page.evaluate<TabState>('window.tab');

async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, limit = 60_000) {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() - started > limit) throw new Error(`${what}: not within ${limit} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function openTab(context: BrowserContext, origin: string, alone = false): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/?url=${encodeURIComponent(streamPath)}${alone ? '&alone=1' : ''}`);
  return page;
}

const isLive = (s: TabState) => s.kind === 'live' && s.entries === entries;

async function main(): Promise<void> {
  const server = await startServer();
  const browser = await launchChromium();
  try {
    const version = browser.version();
    const loadStart = loadavg()[0]!.toFixed(1); // other work on the machine skews every figure
    process.stderr.write(`Chromium ${version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}\n`);
    replay(entries);
    const context = await browser.newContext();

    // the leader: live, with everything stored
    const leader = await openTab(context, server.origin);
    await until(() => tabState(leader), isLive, 'the leader live');
    await until(
      () => leader.evaluate<{ cookie?: string; replaying?: boolean } | undefined>('window.storedMeta()'),
      (m) => m?.cookie === `ready-${entries}` && m.replaying === false,
      'the leader stored everything',
    );

    // The reference: a context of its own with the same entries stored and no tab open; each of
    // its new tabs works alone (its own connection, as without Web Locks). Its own context, so
    // that it never competes with the leader for the writing (P3).
    const refContext = await browser.newContext();
    const storing = await openTab(refContext, server.origin, true);
    await until(() => tabState(storing), isLive, 'the reference live');
    await until(
      () => storing.evaluate<{ replaying?: boolean } | undefined>('window.storedMeta()'),
      (m) => m?.replaying === false,
      'the reference stored',
    );
    await storing.close();

    // new tab → first render and live, the leader running (run -1 warms up: not counted),
    // interleaved with the reference
    let newTabRequests = 0;
    const newTab = {
      render: [] as number[],
      live: [] as number[],
      aloneRender: [] as number[],
      aloneLive: [] as number[],
    };
    for (let i = -1; i < runs; i++) {
      for (const alone of [false, true]) {
        const before = server.requests;
        const page = await openTab(alone ? refContext : context, server.origin, alone);
        const s = await until(() => tabState(page), isLive, 'the new tab live');
        if (!alone && s.role !== 'follower') throw new Error(`the new tab is ${s.role}, not a follower`);
        if (!alone) newTabRequests += server.requests - before;
        if (i >= 0) {
          (alone ? newTab.aloneRender : newTab.render).push(s.firstRenderAt!);
          (alone ? newTab.aloneLive : newTab.live).push(s.liveAt!);
        }
        process.stderr.write(
          `  new tab${alone ? ' (alone)' : ''}: script at ${s.scriptAt | 0} ms, rendered ${s.size} at ${s.firstRenderAt! | 0} ms, live at ${s.liveAt! | 0} ms\n`,
        );
        await page.close();
      }
    }

    await refContext.close();

    // relay: bursts to six followers
    const followers: Page[] = [];
    for (let i = 0; i < FOLLOWERS; i++) followers.push(await openTab(context, server.origin));
    for (const f of followers) await until(() => tabState(f), isLive, 'a follower live');
    const relay: number[] = [];
    for (let b = 0; b < runs + 1; b++) {
      server.push(b, burstSize);
      const done = (s: TabState) => (s.bursts[b]?.applied ?? 0) === burstSize;
      const lead = await until(() => tabState(leader), done, 'the burst at the leader');
      const ends = await Promise.all(
        followers.map((f) => until(() => tabState(f), done, 'the burst relayed')),
      );
      const seconds = (Math.max(...ends.map((s) => s.bursts[b]!.last)) - lead.bursts[b]!.first) / 1000;
      if (b > 0) relay.push(burstSize / seconds); // burst 0 warms up
      const leaderMs = lead.bursts[b]!.last - lead.bursts[b]!.first;
      const followerStarts = ends.map((s) => Math.round(s.bursts[b]!.first - lead.bursts[b]!.first));
      process.stderr.write(
        `  relay burst ${b}: ${Math.round(burstSize / seconds)} events/s (the leader applied it in ${Math.round(leaderMs)} ms; followers started after ${followerStarts.join(', ')} ms)\n`,
      );
    }

    // handover: close the leader, until the next event is applied in every remaining tab
    const tabs = [leader, ...followers];
    const handover: number[] = [];
    for (let i = 0; i < runs; i++) {
      const roles = await Promise.all(tabs.map(async (t) => (await tabState(t)).role));
      const current = tabs[roles.indexOf('leader')]!;
      tabs.splice(tabs.indexOf(current), 1);
      const mark = server.resumes + 1;
      const t0 = Date.now();
      await current.close();
      const applied = await Promise.all(
        tabs.map((t) =>
          until(
            () => tabState(t),
            (s) => s.marks[mark] !== undefined,
            'the next event',
          ),
        ),
      );
      handover.push(Math.max(...applied.map((s) => s.marks[mark]!)) - t0);
      process.stderr.write(`  handover ${i + 1}: ${Math.round(handover.at(-1)!)} ms\n`);
      const replacement = await openTab(context, server.origin); // seven tabs again
      await until(() => tabState(replacement), isLive, 'the replacement live');
      tabs.push(replacement);
    }
    await context.close();

    const k = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));
    const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
    const rowsOut: [string, string, string, string][] = [
      [
        `new tab → first render, ${k(entries)} stored`,
        spread(newTab.render, 'ms'),
        `${spread(newTab.aloneRender, 'ms')} a tab that works alone`,
        `≤ ${TARGETS.newTabMs} ms: ${verdict(median(newTab.render) <= TARGETS.newTabMs)}`,
      ],
      [
        'new tab → live (joined the leader)',
        spread(newTab.live, 'ms'),
        `${spread(newTab.aloneLive, 'ms')} alone: its own connection, resumed`,
        '',
      ],
      [
        'handover: leader closed → next event in every tab',
        spread(handover, 'ms'),
        '',
        `≤ ${TARGETS.handoverMs} ms: ${verdict(median(handover) <= TARGETS.handoverMs)}`,
      ],
      [
        `relay to ${FOLLOWERS} followers (bursts of ${k(burstSize)})`,
        spread(relay, 'events/s'),
        '',
        `≥ ${TARGETS.relayPerSecond.toLocaleString('en-US')}/s: ${verdict(median(relay) >= TARGETS.relayPerSecond)}`,
      ],
    ];
    const header: [string, string, string, string] = [
      'run',
      '@syncrepl-rx/client',
      'reference (same run)',
      'target',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rowsOut.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(
      `\nTabs sharing a stream, Chromium ${version}, ${cpus().length} CPUs (load average ${loadStart} at the ` +
        `start, ${loadavg()[0]!.toFixed(1)} at the end), one browser context: median (min–max) of ${runs} runs; ` +
        'new-tab times from navigation start\n',
    );
    console.log(line(header));
    console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
    for (const r of rowsOut) console.log(line(r));
    console.log(`\nstream requests made by the ${runs + 1} new tabs: ${newTabRequests}`);
    await mkdir(`${REPO}bench/results`, { recursive: true });
    await writeFile(
      `${REPO}bench/results/browser-tabs.json`,
      `${JSON.stringify({ chromium: version, load: [loadStart, loadavg()[0]], runs, entries, burstSize, newTab, newTabRequests, handover, relay }, null, 2)}\n`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
