/* global window, document, location, performance, indexedDB, URL, URLSearchParams */
// The page side of bench/browser/tabs.ts: one tab with a collection on `?url=`, rendering as a UI
// would. `window.tab` holds what the runner reads: when the first render and `live` happened (from
// navigation start), the tab's role, and when each marked change was applied (epoch ms, comparable
// across tabs).
import { collection } from '/lib/syncrepl-rx-client.js';

const out = document.getElementById('out');
const params = new URLSearchParams(location.search);
const url = params.get('url');
/** `?alone=1`: a collection that does not share (the reference: as without Web Locks). */
const alone = params.get('alone') === '1';
const now = () => performance.timeOrigin + performance.now();

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

const tab = {
  scriptAt: performance.now(),
  firstRenderAt: undefined,
  /** Entries at the first render, and now. */
  size: 0,
  entries: 0,
  liveAt: undefined,
  role: undefined,
  kind: undefined,
  /** mark → when the change carrying it was applied here (epoch ms). */
  marks: {},
  /** burst → [first applied, last applied] (epoch ms), and how many of it were applied. */
  bursts: {},
};
window.tab = tab;

const c = collection(url, alone ? { share: null } : {});
window.c = c;
c.status.subscribe((s) => {
  tab.kind = s.kind;
  tab.role = s.role;
  if (s.kind === 'live' && tab.liveAt === undefined) tab.liveAt = performance.now();
});
c.subscribe((snapshot) => {
  render(snapshot);
  tab.entries = snapshot.size;
  if (snapshot.size > 0 && tab.firstRenderAt === undefined) {
    tab.firstRenderAt = performance.now();
    tab.size = snapshot.size;
  }
});
c.changes$.subscribe((change) => {
  if (change.type !== 'upsert') return;
  const { mark, burst } = change.body;
  if (mark !== undefined) tab.marks[mark] ??= now();
  if (burst !== undefined) {
    const b = (tab.bursts[burst] ??= { first: now(), last: 0, applied: 0 });
    b.applied++;
    b.last = now();
  }
});

/** The stored meta record (cookie, replaying), or undefined. */
window.storedMeta = () =>
  new Promise((resolve, reject) => {
    const open = indexedDB.open(`syncrepl-rx ${new URL(url, location.href).href}`);
    open.onerror = () => reject(open.error);
    open.onupgradeneeded = () => open.result.createObjectStore('entries');
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction('entries').objectStore('entries').get('meta');
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => reject(get.error);
    };
  });
