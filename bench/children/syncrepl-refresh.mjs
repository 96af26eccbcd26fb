/**
 * Child process of bench/refresh.ts: one refreshOnly syncrepl() over the built @syncrepl-rx/core
 * (packages/core/dist), then one JSON line on stdout: {"ms", "entries", "peakRssMB"}.
 *
 *   node bench/children/syncrepl-refresh.mjs --url URL --bind-dn DN --password-file F --base BASE
 *        [--keep count|map|memory-store|lmdb-store] [--store-dir DIR]
 *
 * --keep count (default) only counts entry messages; --keep map holds every entry in a
 * Map<entryUUID, message>, like the python-ldap peer's dict, so their peak RSS compare like for like.
 * --keep memory-store / lmdb-store run the typed pipeline, syncrepl() then replicate() into a
 * MemoryStore or an LmdbStore (in --store-dir, emptied first; closed, i.e. flushed, before the
 * clock stops), and also report `bytesPerEntry`: the heap the replica holds per entry (run with
 * --expose-gc for an exact figure), or for LMDB the size of its data file per entry.
 *
 * Plain JavaScript on purpose: a TypeScript loader (tsx) in the child would add its own start-up
 * time and memory to the row, and neither peer pays such a cost.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LmdbStore, MemoryStore, replicate, syncrepl } from '@syncrepl-rx/core';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'bind-dn': { type: 'string' },
    'password-file': { type: 'string' },
    base: { type: 'string' },
    keep: { type: 'string', default: 'count' },
    'store-dir': { type: 'string' },
  },
});
const KEEPS = ['count', 'map', 'memory-store', 'lmdb-store'];
if (
  !values.url ||
  values.base === undefined ||
  !KEEPS.includes(values.keep) ||
  (values.keep === 'lmdb-store' && !values['store-dir'])
) {
  process.stderr.write(
    'usage: syncrepl-refresh.mjs --url URL [--bind-dn DN --password-file F] --base BASE [--keep count|map]\n',
  );
  process.exit(2);
}
const password =
  values['password-file'] === undefined
    ? undefined
    : readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '');

const options = {
  url: values.url,
  bindDN: values['bind-dn'],
  password,
  base: values.base,
  scope: 'sub',
  mode: 'refreshOnly',
};

if (values.keep === 'memory-store' || values.keep === 'lmdb-store') {
  await replica(values.keep);
} else {
  messages();
}

/** syncrepl() then replicate() into a store: the typed pipeline. */
async function replica(kind) {
  const dir = values['store-dir'];
  if (dir) rmSync(dir, { recursive: true, force: true });
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const store =
    kind === 'lmdb-store'
      ? await LmdbStore.open(dir, {
          identity: { url: options.url, bindDN: options.bindDN, base: options.base },
        })
      : new MemoryStore();
  let changes = 0;
  syncrepl(options)
    .pipe(replicate({ store }))
    .subscribe({
      next(change) {
        if (change.type === 'add' || change.type === 'modify' || change.type === 'rename') changes++;
      },
      error(err) {
        process.stderr.write(`syncrepl-refresh: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      },
      async complete() {
        const entries = store.size;
        if (store instanceof LmdbStore) await store.close();
        const ms = performance.now() - started;
        globalThis.gc?.();
        const bytesPerEntry =
          kind === 'lmdb-store'
            ? statSync(join(dir, 'data.mdb')).size / entries
            : (process.memoryUsage().heapUsed - heapBefore) / entries;
        const peakRssMB = process.resourceUsage().maxRSS / 1024;
        const report = {
          ms: round(ms),
          entries,
          changes,
          peakRssMB: round(peakRssMB),
          bytesPerEntry: Math.round(bytesPerEntry),
        };
        process.stdout.write(`${JSON.stringify(report)}\n`);
      },
    });
}

function messages() {
  const keep = values.keep === 'map' ? new Map() : undefined;
  let entries = 0;
  const started = performance.now();
  syncrepl({
    url: values.url,
    bindDN: values['bind-dn'],
    password,
    base: values.base,
    scope: 'sub',
    mode: 'refreshOnly',
  }).subscribe({
    next(message) {
      if (message.type === 'present' || message.type === 'add' || message.type === 'modify') {
        entries++;
        keep?.set(message.entryUUID, message);
      }
    },
    error(err) {
      process.stderr.write(`syncrepl-refresh: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
    complete() {
      const ms = performance.now() - started;
      // maxRSS is in kilobytes
      const peakRssMB = process.resourceUsage().maxRSS / 1024;
      const report = { ms: round(ms), entries: keep ? keep.size : entries, peakRssMB: round(peakRssMB) };
      process.stdout.write(`${JSON.stringify(report)}\n`);
    },
  });
}

function round(x) {
  return Math.round(x * 10) / 10;
}
