/**
 * End-to-end harness: real slapd + the SubMan app (test/fixtures/subman.ts), a fixed front origin
 * for the browser, and Debian's Chromium driven by playwright-core.
 *
 * Why a front: IndexedDB belongs to an origin (scheme, host, port). A restarted SubMan server
 * listens on a new port, so a page loaded from it directly would be a new origin with an empty
 * IndexedDB. The front keeps one origin for a whole test file and forwards every request, byte
 * for byte and unbuffered (SSE included), to whichever SubMan server is current; while none
 * answers it says 502, which the client retries like any 5xx. It also serves the client bundle
 * at /lib/ from packages/client/dist/browser (built by `pnpm --dir packages/client bundle`).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium as launchBrowser } from '../fixtures/chromium.js';

export const BUNDLE_DIR = fileURLToPath(new URL('../../packages/client/dist/browser/', import.meta.url));
export const BUNDLE = 'syncrepl-rx-client.js';
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

export interface Front {
  /** `http://127.0.0.1:PORT`: the page's origin, fixed for the front's life. */
  readonly origin: string;
  /** Where requests go from now on (a SubMan `base`). Open streams stay on the old target. */
  setTarget(base: string): void;
  /** Resets every connection from the browser, mid-stream: a network cut, as the browser sees one. */
  cut(): void;
  close(): Promise<void>;
}

export async function startFront(target: string): Promise<Front> {
  let current = target;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/lib/')) {
      void serveBundle(basename(path.split('?')[0]!), res);
      return;
    }
    const upstream = new URL(current);
    const proxied = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.flushHeaders();
        up.pipe(res);
        // A server that goes away mid-stream must look like a dropped connection to the browser.
        up.on('close', () => {
          if (!up.complete) res.destroy();
        });
      },
    );
    proxied.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end('SubMan is down');
      else res.destroy();
    });
    req.pipe(proxied);
    res.on('close', () => proxied.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    setTarget(base) {
      current = base;
    },
    cut() {
      for (const s of sockets) s.resetAndDestroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function serveBundle(name: string, res: http.ServerResponse): Promise<void> {
  try {
    const body = await readFile(`${BUNDLE_DIR}${name}`);
    const type = name.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8';
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
}

/** Chromium (test/fixtures/chromium.ts), once the client bundle the pages load is there. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(`${BUNDLE_DIR}${BUNDLE}`)) {
    throw new Error(`The client bundle is missing: run \`pnpm --dir packages/client bundle\` first.`);
  }
  return launchBrowser();
}

/** One row of a live table, as the page shows it. */
export interface Row {
  uuid: string;
  id: string;
  cells: Record<string, string>;
  classes: string;
}

/** The rows of `#realms` or `#subscribers`, read in the page. */
export function rows(page: Page, table: 'realms' | 'subscribers'): Promise<Row[]> {
  return page.evaluate<Row[]>(`[...document.querySelectorAll('#${table} tbody tr')].map((tr) => ({
    uuid: tr.dataset.uuid,
    id: tr.dataset.id,
    classes: tr.className,
    cells: Object.fromEntries([...tr.cells].map((td) => [td.dataset.col, td.textContent])),
  }))`);
}

/** Counters the page keeps per stream (examples/subman/public/app.js). */
export interface Stats {
  url: string;
  present: number;
  add: number;
  modify: number;
  delete: number;
  reset: number;
  ready: number;
  localLoadedAt?: number;
  firstRenderAt?: number;
  firstRenderSize?: number;
  firstEventAt?: number;
}

export function stats(page: Page, stream: 'realms' | 'subscribers'): Promise<Stats | undefined> {
  return page.evaluate<Stats | undefined>(
    `window.subman?.stats?.${stream} ? { ...window.subman.stats.${stream} } : undefined`,
  );
}

/** The collection's status kind (`live`, ...), read from the page. */
export function statusKind(page: Page, stream: 'realms' | 'subscribers'): Promise<string | undefined> {
  return page.evaluate<string | undefined>(`window.subman?.${stream}?.status.getSnapshot().kind`);
}

/** Polls `read` until `check` holds; fails with the last value read. */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  what: string,
  ms = 15_000,
): Promise<T> {
  const started = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() - started > ms) {
      throw new Error(`${what}: not within ${ms} ms; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
