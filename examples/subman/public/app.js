/* global document, window, location, history, performance, setTimeout, clearTimeout, queueMicrotask */
// The SubMan live page: two collections of @syncrepl-rx/client (all realms; the subscribers of the
// picked realm), rendered into keyed tables. No framework: the collection's subscribe() and
// changes$ are all a view needs. `window.subman` exposes the collections and per-stream event
// counts, for the console and for the end-to-end tests.
import { collection } from '/lib/syncrepl-rx-client.js';

const FLASH_MS = 2000;
const LOG_SIZE = 25;

const realmColumns = ['id', 'description', 'status'];
const subscriberColumns = ['id', 'name', 'email', 'status', 'profile', 'groups'];

/** Per-stream counters: events received by kind, and when things first happened (performance.now). */
function newStats(url) {
  return {
    url,
    present: 0,
    add: 0,
    modify: 0,
    delete: 0,
    reset: 0,
    ready: 0,
    localLoadedAt: undefined,
    firstRenderAt: undefined,
    firstRenderSize: undefined,
    firstEventAt: undefined,
  };
}

const subman = {
  realms: undefined,
  subscribers: undefined,
  realm: undefined,
  stats: { realms: undefined, subscribers: undefined },
};
window.subman = subman;

/** A table body kept in step with a snapshot, row by row, keyed on entryUUID. */
class LiveTable {
  constructor(table, columns, onPick) {
    this.tbody = table.tBodies[0];
    this.columns = columns;
    this.onPick = onPick;
    this.rows = new Map(); // entryUUID → { tr, body }
    this.flashes = new Map(); // entryUUID → 'add' | 'modify', for rows not rendered yet
    this.selected = undefined;
  }

  render(snapshot) {
    const sorted = [...snapshot].sort(([, a], [, b]) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let previous = null;
    for (const [entryUUID, body] of sorted) {
      let row = this.rows.get(entryUUID);
      if (!row) {
        row = { tr: document.createElement('tr'), body: undefined };
        row.tr.dataset.uuid = entryUUID;
        this.rows.set(entryUUID, row);
      }
      if (row.body !== body) {
        this.fill(row.tr, body);
        row.body = body;
      }
      const expected = previous ? previous.nextSibling : this.tbody.firstChild;
      if (expected !== row.tr) this.tbody.insertBefore(row.tr, expected);
      previous = row.tr;
      const flash = this.flashes.get(entryUUID);
      if (flash) {
        this.flashes.delete(entryUUID);
        this.flash(row.tr, flash);
      }
    }
    for (const [entryUUID, row] of this.rows) {
      if (!snapshot.has(entryUUID)) {
        row.tr.remove();
        this.rows.delete(entryUUID);
      }
    }
  }

  fill(tr, body) {
    tr.dataset.id = body.id;
    tr.classList.toggle('selected', this.selected !== undefined && body.id === this.selected);
    tr.replaceChildren(
      ...this.columns.map((name, i) => {
        const td = document.createElement('td');
        td.dataset.col = name;
        const value = body[name];
        const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
        if (i === 0 && this.onPick) {
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = text;
          button.addEventListener('click', () => this.onPick(body.id));
          td.append(button);
        } else td.textContent = String(text);
        if (name === 'status') td.className = `st st-${value}`;
        return td;
      }),
    );
  }

  select(id) {
    this.selected = id;
    for (const { tr, body } of this.rows.values()) tr.classList.toggle('selected', body.id === id);
  }

  /** Marks a row as just changed; the CSS fades the mark out. */
  changed(entryUUID, kind) {
    const row = this.rows.get(entryUUID);
    if (row) this.flash(row.tr, kind);
    else this.flashes.set(entryUUID, kind);
  }

  flash(tr, kind) {
    tr.classList.remove('changed', 'changed-add', 'changed-modify');
    void tr.offsetWidth; // restart the animation
    tr.classList.add('changed', `changed-${kind}`);
    clearTimeout(tr.flashTimer);
    tr.flashTimer = setTimeout(
      () => tr.classList.remove('changed', 'changed-add', 'changed-modify'),
      FLASH_MS,
    );
  }

  clear() {
    this.tbody.replaceChildren();
    this.rows.clear();
    this.flashes.clear();
  }
}

function describeStatus(status) {
  switch (status.kind) {
    case 'loading-local':
      return 'reading the local copy…';
    case 'connecting':
      return status.attempt > 0 || status.retryInMs > 0
        ? `reconnecting in ${(status.retryInMs / 1000).toFixed(1)} s`
        : 'connecting…';
    case 'replaying':
      return status.full ? 'replaying everything…' : 'catching up…';
    case 'live':
      return 'live';
    case 'offline':
      return 'offline: waiting for the network';
    case 'error':
      return `stopped: ${status.error.message}`;
    default:
      return status.kind;
  }
}

function describeLocal(local) {
  if (!local) return '';
  switch (local.kind) {
    case 'restored':
      return `${local.entries} restored from this browser`;
    case 'empty':
      return 'nothing stored yet';
    case 'discarded':
      return `stored copy discarded (${local.reason}): full replay`;
    case 'stopped':
      return `not saving (${local.reason === 'other-tab' ? 'another tab saves' : 'storage failed'})`;
    case 'off':
      return 'not stored';
    default:
      return '';
  }
}

function showStatus(element, status) {
  element.dataset.kind = status.kind;
  element.querySelector('.text').textContent = describeStatus(status);
  element.querySelector('.local').textContent = describeLocal(status.local);
  element.title = status.kind === 'error' ? status.error.message : '';
}

const changeLog = document.getElementById('changes');
function logChange(stream, change) {
  const li = document.createElement('li');
  const body = change.type === 'upsert' ? change.body : change.previous;
  const op = change.type === 'upsert' ? change.syncOp : change.cause === 'reset' ? 'gone (reset)' : 'delete';
  const time = new Date().toLocaleTimeString();
  li.className = `op-${change.type === 'upsert' ? change.syncOp : 'delete'}`;
  li.innerHTML = '<time></time> <span class="op"></span> <b></b> <small></small>';
  li.querySelector('time').textContent = time;
  li.querySelector('.op').textContent = op;
  li.querySelector('b').textContent = `${stream} ${body.id}`;
  li.querySelector('small').textContent = change.entryUUID;
  changeLog.prepend(li);
  while (changeLog.children.length > LOG_SIZE) changeLog.lastElementChild.remove();
}

/** Wires one collection to its table, status line and stats. Returns the stats. */
function wire(c, table, statusElement, countElement, name) {
  const stats = newStats(c.url);
  c.status.subscribe((status) => {
    if (status.kind !== 'loading-local' && stats.localLoadedAt === undefined)
      stats.localLoadedAt = performance.now();
    showStatus(statusElement, status);
  });
  c.events$.subscribe((event) => {
    stats.firstEventAt ??= performance.now();
    if (event.type === 'entry') stats[event.syncOp]++;
    else stats[event.type]++;
  });
  c.changes$.subscribe((change) => {
    if (change.type === 'upsert' && change.syncOp !== 'present') {
      table.changed(change.entryUUID, change.previous ? 'modify' : 'add');
    }
    if (change.type === 'delete' || change.syncOp !== 'present') logChange(name, change);
  });
  c.subscribe((snapshot) => {
    table.render(snapshot);
    countElement.textContent = `(${snapshot.size})`;
    if (stats.firstRenderAt === undefined && snapshot.size > 0) {
      stats.firstRenderAt = performance.now();
      stats.firstRenderSize = snapshot.size;
    }
  });
  return stats;
}

const realmsTable = new LiveTable(document.getElementById('realms'), realmColumns, pickRealm);
const subscribersTable = new LiveTable(document.getElementById('subscribers'), subscriberColumns);

subman.realms = collection('/realm?subscribe=1');
subman.stats.realms = wire(
  subman.realms,
  realmsTable,
  document.getElementById('status-realms'),
  document.getElementById('realms-count'),
  'realm',
);

async function showRealm(realm) {
  if (realm === subman.realm) return;
  subman.realm = realm;
  realmsTable.select(realm);
  document.getElementById('realm-name').textContent = realm;
  const previous = subman.subscribers;
  subman.subscribers = undefined;
  subscribersTable.clear();
  // Closing writes what the old collection had pending, so coming back resumes exactly.
  if (previous) await previous.close();
  if (subman.realm !== realm) return; // picked another one meanwhile
  const url = `/realm/${encodeURIComponent(realm)}/subscriber?subscribe=1`;
  const c = collection(url);
  subman.subscribers = c;
  const status = document.getElementById('status-subscribers');
  status.querySelector('.stream-url').textContent = `/realm/${realm}/subscriber`;
  subman.stats.subscribers = wire(
    c,
    subscribersTable,
    status,
    document.getElementById('subscribers-count'),
    realm,
  );
}

function pickRealm(realm) {
  history.replaceState(null, '', `#realm=${encodeURIComponent(realm)}`);
  void showRealm(realm);
}

function realmFromHash() {
  const match = /^#realm=(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : undefined;
}

window.addEventListener('hashchange', () => {
  const realm = realmFromHash();
  if (realm) void showRealm(realm);
});

const initial = realmFromHash();
if (initial) void showRealm(initial);
else {
  // No realm in the URL: the first one, as soon as the realms are known.
  const off = subman.realms.subscribe((snapshot) => {
    const first = [...snapshot.values()].map((r) => r.id).sort()[0];
    if (first === undefined || subman.realm !== undefined) return;
    queueMicrotask(() => off());
    pickRealm(first);
  });
}
