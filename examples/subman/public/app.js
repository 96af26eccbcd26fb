/* global document, window, location, history, performance, setTimeout, clearTimeout, queueMicrotask */
// The SubMan live page: three collections of @syncrepl-rx/client (all realms; the subscribers of
// the picked realm, shown in a table; every subscriber of every realm, for the change log),
// rendered into keyed tables. No framework: the collection's subscribe() and changes$ are all a
// view needs. Tabs of this page share one connection per stream (the client elects one tab).
// `window.subman` exposes the collections and per-stream event counts, for the console and for
// the end-to-end tests.
import { collection, foldRenames } from '/lib/syncrepl-rx-client.js';

const FLASH_MS = 2000;
const LOG_SIZE = 25;
const ANNOUNCE_MS = 1000;

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
  /** Every subscriber of every realm: a rename or a re-homing is one delete + add here. */
  all: undefined,
  realm: undefined,
  search: '',
  stats: { realms: undefined, subscribers: undefined },
};
window.subman = subman;

/** A table body kept in step with a snapshot, row by row, keyed on entryUUID. */
class LiveTable {
  constructor(table, columns, onPick) {
    this.tbody = table.tBodies[0];
    this.columns = columns;
    // the column headers, repeated in each cell where narrow screens stack the cells
    this.labels = [...table.tHead.rows[0].cells].map((th) => th.textContent.trim());
    this.onPick = onPick;
    this.rows = new Map(); // entryUUID → { tr, body }
    this.flashes = new Map(); // entryUUID → 'add' | 'modify', for rows not rendered yet
    this.selected = undefined;
  }

  /** Shows the entries of `snapshot` that `keep` accepts (all by default); returns how many. */
  render(snapshot, keep = () => true) {
    const sorted = [...snapshot]
      .filter(([, body]) => keep(body))
      .sort(([, a], [, b]) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const shown = new Set();
    let previous = null;
    for (const [entryUUID, body] of sorted) {
      shown.add(entryUUID);
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
      if (!shown.has(entryUUID)) {
        row.tr.remove();
        this.rows.delete(entryUUID);
      }
    }
    return sorted.length;
  }

  fill(tr, body) {
    tr.dataset.id = body.id;
    tr.classList.toggle('selected', this.selected !== undefined && body.id === this.selected);
    tr.replaceChildren(
      ...this.columns.map((name, i) => {
        // The first column names the row: a row header, for screen readers.
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) td.scope = 'row';
        td.dataset.col = name;
        td.dataset.label = this.labels[i];
        const value = body[name];
        const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
        if (i === 0 && this.onPick) {
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = text;
          button.setAttribute('aria-label', `Show the subscribers of ${text}`);
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

function describeRole(role) {
  if (role === 'leader') return 'this tab holds the connection';
  if (role === 'follower') return 'shared by another tab';
  return '';
}

function showStatus(element, status) {
  element.dataset.kind = status.kind;
  element.dataset.role = status.role ?? '';
  element.querySelector('.text').textContent = describeStatus(status);
  element.querySelector('.local').textContent = describeLocal(status.local);
  element.querySelector('.role').textContent = describeRole(status.role);
  element.title = status.kind === 'error' ? status.error.message : '';
}

// ── what screen readers hear: statuses at once, changes summed up once a second ──────────────
const announcer = document.getElementById('announcer');
let pendingChanges = [];
let announceTimer;
function announce(text) {
  announcer.textContent = text;
}
function announceChange(text) {
  pendingChanges.push(text);
  if (announceTimer) return;
  announceTimer = setTimeout(() => {
    announceTimer = undefined;
    const [latest] = pendingChanges.slice(-1);
    announce(
      pendingChanges.length === 1 ? latest : `${pendingChanges.length} changes; the latest: ${latest}`,
    );
    pendingChanges = [];
  }, ANNOUNCE_MS);
}

// ── the change log, in words ─────────────────────────────────────────────────────────────────
const changeLog = document.getElementById('changes');

const shown = (value) =>
  value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
    ? '(none)'
    : Array.isArray(value)
      ? value.join(', ')
      : String(value);

/** The attributes that differ between two bodies (not id, realm or _url: those are a rename). */
function attributeChanges(previous, body) {
  const keys = new Set([...Object.keys(previous), ...Object.keys(body)]);
  const out = [];
  for (const key of keys) {
    if (key === '_url' || key === 'id' || key === 'realmId') continue;
    if (JSON.stringify(previous[key]) !== JSON.stringify(body[key])) {
      out.push({ key, from: shown(previous[key]), to: shown(body[key]) });
    }
  }
  return out;
}

/**
 * One edit (a change of foldRenames(): a rename or move is one edit) in words: `{ op, text,
 * attributes }`; undefined for what the log leaves out (the presents of a replay).
 */
function describeEdit(kind, edit) {
  const what = (body) => (kind === 'realm' ? `realm ${body.id}` : body.id);
  const where = (body) => (kind === 'subscriber' && body.realmId ? ` ${body.realmId}` : '');
  switch (edit.type) {
    case 'rename': {
      const { previous, body } = edit;
      const attributes = attributeChanges(previous, body);
      if (kind === 'subscriber' && previous.realmId !== body.realmId) {
        const as = previous.id === body.id ? '' : ` as ${body.id}`;
        return {
          op: 'move',
          text: `${previous.id} re-homed from ${previous.realmId} to ${body.realmId}${as}`,
          attributes,
        };
      }
      return { op: 'rename', text: `${what(previous)} renamed to ${body.id}`, attributes };
    }
    case 'delete':
      return edit.cause === 'reset'
        ? { op: 'delete', text: `${what(edit.previous)} gone (not in the replay)`, attributes: [] }
        : {
            op: 'delete',
            text: `${what(edit.previous)} deleted${kind === 'subscriber' ? ` from${where(edit.previous)}` : ''}`,
            attributes: [],
          };
    default:
      if (edit.syncOp === 'present') return undefined;
      if (!edit.previous) {
        return {
          op: 'add',
          text: `${what(edit.body)} added${kind === 'subscriber' ? ` to${where(edit.body)}` : ''}`,
          attributes: [],
        };
      }
      return {
        op: 'modify',
        text: `${what(edit.body)}${kind === 'subscriber' ? ` (${edit.body.realmId})` : ''}`,
        attributes: attributeChanges(edit.previous, edit.body),
      };
  }
}

function logEdit(kind, edit) {
  const described = describeEdit(kind, edit);
  if (!described) return;
  const { op, text, attributes } = described;
  const li = document.createElement('li');
  li.className = `op-${op}`;
  li.dataset.uuid = edit.entryUUID;
  const time = document.createElement('time');
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  const badge = document.createElement('span');
  badge.className = 'op';
  badge.textContent = op;
  const what = document.createElement('span');
  what.className = 'what';
  what.textContent = text;
  li.append(time, ' ', badge, ' ', what);
  const words = [text];
  if (attributes.length > 0) {
    const list = document.createElement('span');
    list.className = 'attributes';
    for (const { key, from, to } of attributes) {
      const item = document.createElement('span');
      item.className = 'attribute';
      const name = document.createElement('b');
      name.textContent = key;
      item.append(name, ` ${from} → ${to}`);
      list.append(item);
      words.push(`${key} ${from} → ${to}`);
    }
    li.append(list);
  }
  changeLog.prepend(li);
  while (changeLog.children.length > LOG_SIZE) changeLog.lastElementChild.remove();
  announceChange(words.join(', '));
}

/** Wires one collection to its table, status line and stats. Returns the stats. */
function wire(c, table, statusElement, countElement, name, options = {}) {
  const stats = newStats(c.url);
  let announcedKind;
  c.status.subscribe((status) => {
    if (status.kind !== 'loading-local' && stats.localLoadedAt === undefined)
      stats.localLoadedAt = performance.now();
    showStatus(statusElement, status);
    if (status.kind !== announcedKind && status.kind !== 'loading-local') {
      announcedKind = status.kind;
      announce(`${options.label ?? name}: ${describeStatus(status)}`);
    }
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
  });
  if (options.log) c.changes$.pipe(foldRenames()).subscribe((edit) => logEdit(options.log, edit));
  c.subscribe((snapshot) => {
    const count = table.render(snapshot, options.keep);
    countElement.textContent =
      count === snapshot.size ? `(${snapshot.size})` : `(${count} of ${snapshot.size})`;
    options.rendered?.(count, snapshot.size);
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
  { label: 'Realms', log: 'realm' },
);

// Every subscriber of every realm, for the log only: here a re-homing is a delete and an add of one
// entryUUID (in a realm's own stream it is only a delete, or only an add).
subman.all = collection('/subscriber?subscribe=1');
subman.all.changes$.pipe(foldRenames()).subscribe((edit) => logEdit('subscriber', edit));

// ── search: filters the subscribers of the realm as you type, over the local state ────────────
const search = document.getElementById('search');
const noMatch = document.getElementById('no-match');
const searchCaption = document.getElementById('search-caption');
function matches(body) {
  const q = subman.search;
  if (!q) return true;
  return [body.id, body.name, body.email].some((v) =>
    String(v ?? '')
      .toLowerCase()
      .includes(q),
  );
}
function searched(count, size) {
  noMatch.hidden = !(subman.search && count === 0 && size > 0);
  searchCaption.textContent = subman.search ? `, matching “${search.value.trim()}”` : '';
}
search.addEventListener('input', () => {
  subman.search = search.value.trim().toLowerCase();
  const c = subman.subscribers;
  if (!c) return;
  const snapshot = c.getSnapshot();
  const count = subscribersTable.render(snapshot, matches);
  document.getElementById('subscribers-count').textContent =
    count === snapshot.size ? `(${snapshot.size})` : `(${count} of ${snapshot.size})`;
  searched(count, snapshot.size);
});

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
    {
      label: `Subscribers of ${realm}`,
      keep: matches,
      rendered: searched,
    },
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
