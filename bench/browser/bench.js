/* global window, document, location, performance, EventSource, URLSearchParams */
// The page side of bench/browser/run.ts. `window.bench.*` runs one measurement each; with
// ?mode=reload (or reload-peer) the page times its own first render from navigation start.
import { collection } from '/lib/syncrepl-rx-client.js';
import { createStore, entries, setMany } from '/vendor/idb-keyval.js';

const out = document.getElementById('out');

/** What a UI does with a snapshot: show the count and the first 50 rows. */
function render(snapshot) {
  const rows = [];
  for (const body of snapshot.values()) {
    if (rows.length === 50) break;
    rows.push(`<tr><td>${body.id}</td><td>${body.name}</td><td>${body.status}</td></tr>`);
  }
  out.innerHTML = `<p>${snapshot.size} entries</p><table>${rows.join('')}</table>`;
  void out.offsetHeight; // layout now, so the time includes it
}

function untilLive(c) {
  return new Promise((resolve, reject) =>
    c.status.subscribe((s) => {
      if (s.kind === 'live') resolve();
      if (s.kind === 'error') reject(s.error);
    }),
  );
}

window.bench = {
  /** @syncrepl-rx/client: replay applied (live), then persisted (close() resolves after the last write). */
  async ours(url) {
    const t0 = performance.now();
    const c = collection(url);
    let renders = 0;
    c.subscribe((snapshot) => {
      render(snapshot);
      renders++;
    });
    await untilLive(c);
    const live = performance.now() - t0;
    await c.close();
    return { live, persisted: performance.now() - t0, size: c.getSnapshot().size, renders };
  },

  /** The peer: the browser's EventSource into a Map; with `persist`, one idb-keyval setMany at the end. */
  async eventSource(url, persist) {
    const t0 = performance.now();
    const map = new Map();
    await new Promise((resolve, reject) => {
      const es = new EventSource(url);
      es.addEventListener('entry', (e) => {
        const { entryUUID, syncOp, body } = JSON.parse(e.data);
        if (syncOp === 'delete') map.delete(entryUUID);
        else map.set(entryUUID, body);
      });
      es.addEventListener('ready', () => {
        es.close();
        resolve();
      });
      es.onerror = () => {
        es.close();
        reject(new Error('EventSource failed'));
      };
    });
    render(map);
    const live = performance.now() - t0;
    if (persist) await setMany([...map], createStore(`peer ${url}`, 'entries'));
    return { live, persisted: performance.now() - t0, size: map.size };
  },
};

const params = new URLSearchParams(location.search);
const mode = params.get('mode');
const streamUrl = params.get('url');
window.reload = { scriptAt: performance.now(), localLoadedAt: undefined, firstRenderAt: undefined, size: 0 };
const rendered = (snapshot) => {
  render(snapshot);
  if (snapshot.size > 0 && window.reload.firstRenderAt === undefined) {
    window.reload.firstRenderAt = performance.now(); // since navigation start: reload-to-first-render
    window.reload.size = snapshot.size;
  }
};
if (mode === 'reload') {
  const c = collection(streamUrl);
  c.status.subscribe((s) => {
    if (s.kind !== 'loading-local' && window.reload.localLoadedAt === undefined) {
      window.reload.localLoadedAt = performance.now();
    }
  });
  c.subscribe(rendered);
} else if (mode === 'reload-peer') {
  // The peer: the same entries stored the plain way (one idb-keyval record per entry, written by
  // bench.eventSource(url, true)), read with idb-keyval's fastest path into a Map, and rendered.
  entries(createStore(`peer ${streamUrl}`, 'entries')).then((rows) => rendered(new Map(rows)));
}
