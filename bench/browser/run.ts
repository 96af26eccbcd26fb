/**
 * The browser client in Chromium: a 100k-entry replay applied and persisted, and reload-to-first-
 * render with 10k and 100k stored entries, each beside a peer measured in the same run.
 *
 *   pnpm --dir bench exec tsx browser/run.ts [--entries 100000] [--reload 10000,100000] [--runs 3]
 *
 * Needs the client bundle (`pnpm --dir packages/client bundle`) and Debian's Chromium at
 * /usr/bin/chromium (or CHROMIUM_PATH). The stream is synthetic: a local server sends SubMan-shaped
 * subscriber bodies as fast as the socket takes them (a real SubMan server replays too, but then
 * the figure would include slapd and the server), with the same event shapes and cookie sizes.
 * It prints figures and asserts nothing: the targets are reported, never enforced.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '../../test/fixtures/chromium.js';
import { replay } from './synthetic.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = `${REPO}packages/client/dist/browser/syncrepl-rx-client.js`;
const IDB_KEYVAL = createRequire(`${REPO}packages/client/package.json`).resolve('idb-keyval/dist/index.js');
const TARGETS = { replayMs: 3000, reload10kMs: 200 };

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    reload: { type: 'string', default: '10000,100000' },
    runs: { type: 'string', default: '3' },
  },
});
const replayEntries = Number(args.entries);
const reloadSizes = args.reload.split(',').map(Number);
const runs = Number(args.runs);

// ── the synthetic stream: synthetic.ts ───────────────────────────────────────────────────────

async function startServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const files: Record<string, [string, string]> = {
    '/': [`${HERE}page.html`, 'text/html; charset=utf-8'],
    '/bench.js': [`${HERE}bench.js`, 'text/javascript'],
    '/lib/syncrepl-rx-client.js': [BUNDLE, 'text/javascript'],
    '/vendor/idb-keyval.js': [IDB_KEYVAL, 'text/javascript'],
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bench');
    const file = files[url.pathname];
    if (file) {
      // cacheable, as static files are in production: a reload then costs no round trip for them
      void readFile(file[0]).then((body) =>
        res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'max-age=600' }).end(body),
      );
      return;
    }
    if (url.pathname !== '/stream') return void res.writeHead(404).end();
    const n = Number(url.searchParams.get('n'));
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const cookie = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId');
    if (cookie === `ready-${n}`) {
      // a resume with nothing missed: answered late, so that it cannot compete with the first render
      const timer = setTimeout(
        () => res.write(`retry: 2000\n\nevent: ready\nid: ready-${n}\ndata: {}\n\n`),
        1000,
      );
      res.on('close', () => clearTimeout(timer));
      return;
    }
    const body = replay(n);
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const chunk = body.subarray(offset, offset + 65_536);
        offset += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ── measuring ─────────────────────────────────────────────────────────────────────────────────
interface ReplayResult {
  live: number;
  persisted: number;
  size: number;
  /** ours only: snapshot notifications during the replay. */
  renders: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number) => `${Math.round(x)} ms`;
/** Median, with the range when there are several runs: `1234 ms (1100–1500)`. */
const spread = (xs: number[]) =>
  xs.length < 2
    ? ms(median(xs))
    : `${ms(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;

async function freshPage(browser: Browser, origin: string, path = '/') {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}${path}`);
  return { context, page };
}

async function measureReplay(browser: Browser, origin: string, n: number, who: 'ours' | 'es' | 'es+setMany') {
  const { context, page } = await freshPage(browser, origin);
  const url = `/stream?n=${n}&subscribe=1`;
  const result =
    who === 'ours'
      ? await page.evaluate<ReplayResult>(`window.bench.ours(${JSON.stringify(url)})`)
      : await page.evaluate<ReplayResult>(
          `window.bench.eventSource(${JSON.stringify(url)}, ${who === 'es+setMany'})`,
        );
  await context.close();
  if (result.size !== n) throw new Error(`${who}: ${result.size} entries instead of ${n}`);
  return result;
}

/** Stores `n` entries in a context (one replay through the client), for the reload runs. */
async function storedContext(browser: Browser, origin: string, n: number): Promise<BrowserContext> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  const r = await page.evaluate<ReplayResult>(`window.bench.ours('/stream?n=${n}&subscribe=1')`);
  if (r.size !== n) throw new Error(`stored ${r.size} instead of ${n}`);
  // the peer's copy: the same entries, one idb-keyval record each
  await page.evaluate(`window.bench.eventSource('/stream?n=${n}&subscribe=1', true)`);
  await page.close();
  return context;
}

async function measureReload(
  context: BrowserContext,
  origin: string,
  n: number,
  mode: 'reload' | 'reload-peer',
) {
  const page = await context.newPage();
  await page.goto(`${origin}/?mode=${mode}&url=${encodeURIComponent(`/stream?n=${n}&subscribe=1`)}`);
  const times: number[] = [];
  for (let i = -1; i < runs; i++) {
    await page.reload(); // run -1 warms up (disk cache, IndexedDB backing store); it is not counted
    const r = await page.waitForFunction<{
      firstRenderAt: number;
      size: number;
      scriptAt: number;
      localLoadedAt: number;
    }>(`window.reload && window.reload.firstRenderAt !== undefined ? window.reload : undefined`, undefined, {
      timeout: 60_000,
    });
    const { firstRenderAt, size, scriptAt, localLoadedAt } = await r.jsonValue();
    if (mode === 'reload') {
      process.stderr.write(
        `  ${n}: script running at ${scriptAt | 0} ms, stored state loaded at ${localLoadedAt | 0} ms, rendered at ${firstRenderAt | 0} ms\n`,
      );
    }
    if (size !== n) throw new Error(`${mode}: rendered ${size} instead of ${n}`);
    if (i >= 0) times.push(firstRenderAt);
  }
  await page.close();
  return times;
}

async function main(): Promise<void> {
  const server = await startServer();
  const browser = await launchChromium();
  try {
    const version = browser.version();
    process.stderr.write(`Chromium ${version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}\n`);
    replay(replayEntries); // build the payload outside the timings
    for (const n of reloadSizes) replay(n);

    // warm-up: JIT, disk cache, IndexedDB backing store
    await measureReplay(browser, server.origin, Math.min(10_000, replayEntries), 'ours');
    await measureReplay(browser, server.origin, Math.min(10_000, replayEntries), 'es');

    const samples = { ours: [] as ReplayResult[], es: [] as ReplayResult[], esSetMany: [] as ReplayResult[] };
    for (let i = 0; i < runs; i++) {
      // interleaved, so that drift in the machine's load spreads over all contenders
      samples.ours.push(await measureReplay(browser, server.origin, replayEntries, 'ours'));
      samples.es.push(await measureReplay(browser, server.origin, replayEntries, 'es'));
      samples.esSetMany.push(await measureReplay(browser, server.origin, replayEntries, 'es+setMany'));
      process.stderr.write(`replay run ${i + 1}/${runs} done\n`);
    }
    const reloads: { n: number; ours: number[]; peer: number[] }[] = [];
    for (const n of reloadSizes) {
      const context = await storedContext(browser, server.origin, n);
      const ours = await measureReload(context, server.origin, n, 'reload');
      const peer = await measureReload(context, server.origin, n, 'reload-peer');
      await context.close();
      reloads.push({ n, ours, peer });
      process.stderr.write(`reload ${n} done\n`);
    }

    const k = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));
    const live = samples.ours.map((s) => s.live);
    const persisted = samples.ours.map((s) => s.persisted);
    const rowsOut: [string, string, string, string][] = [
      [
        `${k(replayEntries)} replay applied (live)`,
        spread(live),
        `${spread(samples.es.map((s) => s.live))} EventSource → Map, not stored`,
        '',
      ],
      [
        `${k(replayEntries)} replay applied + persisted`,
        spread(persisted),
        `${spread(samples.esSetMany.map((s) => s.persisted))} EventSource → Map, then one setMany`,
        `≤ ${TARGETS.replayMs} ms: ${median(persisted) <= TARGETS.replayMs ? 'met' : 'MISSED'}`,
      ],
      ...reloads.map(({ n, ours, peer }): [string, string, string, string] => [
        `reload → first render, ${k(n)} stored`,
        spread(ours),
        `${spread(peer)} idb-keyval, a record per entry: entries() → Map`,
        n === 10_000
          ? `≤ ${TARGETS.reload10kMs} ms: ${median(ours) <= TARGETS.reload10kMs ? 'met' : 'MISSED'}`
          : '',
      ]),
    ];
    const header: [string, string, string, string] = [
      'run',
      '@syncrepl-rx/client',
      'peer (same run)',
      'target',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rowsOut.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(
      `\nBrowser client, Chromium ${version}, ${cpus().length} CPUs: median (min–max) of ${runs} runs; ` +
        'reload times from navigation start, static files cached\n',
    );
    console.log(line(header));
    console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
    for (const r of rowsOut) console.log(line(r));
    console.log(
      `\nours: ${median(samples.ours.map((s) => s.renders))} coalesced renders during the replay (a snapshot listener that renders, as a UI would)`,
    );
    await mkdir(`${REPO}bench/results`, { recursive: true });
    await writeFile(
      `${REPO}bench/results/browser.json`,
      `${JSON.stringify({ chromium: version, runs, replayEntries, samples, reloads }, null, 2)}\n`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
