/**
 * Child process of bench/server-load.ts: the server's initial load. One `syncreplResources()`
 * (packages/server/dist) over one source and one `people` resource, from construction until
 * `ready()` (the first refresh stored in its MemoryStore replica and the resource indexed), then
 * one JSON line on stdout: {"ms", "entries", "peakRssMB"}. No HTTP listener: nothing asks it
 * anything, so the figure is the load alone.
 *
 *   node bench/children/server-load.mjs --url URL --bind-dn DN --password-file F --base BASE
 *
 * Plain JavaScript for the same reason as syncrepl-refresh.mjs: no TypeScript loader in the row.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { syncreplResources } from '../../packages/server/dist/index.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'bind-dn': { type: 'string' },
    'password-file': { type: 'string' },
    base: { type: 'string' },
  },
});
if (!values.url || values.base === undefined) {
  process.stderr.write('usage: server-load.mjs --url URL [--bind-dn DN --password-file F] --base BASE\n');
  process.exit(2);
}
const password =
  values['password-file'] === undefined
    ? undefined
    : readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '');

const started = performance.now();
const api = syncreplResources({
  sources: {
    dir: { url: values.url, bindDN: values['bind-dn'], password, base: values.base, reconnect: false },
  },
  resources: [
    {
      name: 'people',
      source: 'dir',
      path: '/people',
      match: (e) => e.attributes.uid !== undefined,
      id: (e) => e.attributes.uid?.[0],
      body: (e) => ({ cn: e.attributes.cn?.[0] ?? '', mail: e.attributes.mail?.[0] ?? '' }),
    },
  ],
  secret: randomBytes(32),
  logger: { error: (m) => process.stderr.write(`server-load: ${m}\n`) },
});
await api.ready();
const ms = performance.now() - started;
const entries = [...api.upstreams.values()].reduce((n, u) => n + u.store.size, 0);
const peakRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ ms, entries, peakRssMB })}\n`);
await api.close();
process.exit(0);
