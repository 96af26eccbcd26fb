/**
 * The SubMan demo, from nothing: a throwaway slapd (mdb + syncprov) in a temp dir with the SubMan
 * schema and data, the SubMan server on top, and optionally a change generator.
 *
 *   tsx src/main.ts [--size N] [--port P] [--changes MS] [--store DIR] [--duration S]
 *
 * Ctrl-C stops everything: streams end, the syncrepl search is abandoned, slapd stops and its
 * temp dir is removed.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSlapd } from '../../../test/fixtures/slapd.js';
import { createSubmanApp } from './app.js';
import { ChangeGenerator } from './changes.js';
import { submanLdif } from './data.js';
import { SUFFIX } from './model.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1000' },
    port: { type: 'string', default: '3000' },
    changes: { type: 'string' },
    store: { type: 'string' },
    duration: { type: 'string' },
  },
});
const size = Number(values.size);
if (!Number.isInteger(size) || size < 0) throw new Error('--size must be a whole number');

const schema = fileURLToPath(new URL('../schema/subman.schema', import.meta.url));
process.stderr.write(`starting slapd with ${size} subscribers...\n`);
const slapd = await startSlapd({
  suffix: SUFFIX,
  schemas: [schema],
  ldif: submanLdif({ subscribers: size }),
  sessionlog: 10_000,
});

const { app, api } = createSubmanApp({
  ldap: { url: slapd.url, bindDN: slapd.readerDN, password: slapd.readerPassword },
  secret: randomBytes(32).toString('base64url'),
  storeDir: values.store,
  logger: {
    info: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    error: (m) => process.stderr.write(`error: ${m}\n`),
  },
});
// Listening before the source is ready is safe: streams are answered and held until the data
// flows, listings and items say 503 with Retry-After. The listen queue takes the clients of a
// failed instance arriving at once (Node's default is 511).
const server = app.listen(Number(values.port), '127.0.0.1', 4096);
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});
await api.ready();
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

let changes: NodeJS.Timeout | undefined;
if (values.changes) {
  const generator = new ChangeGenerator(size);
  changes = setInterval(() => {
    const change = generator.change();
    slapd.modify(change.ldif).then(
      () => process.stderr.write(`change: ${change.summary}\n`),
      (err: unknown) => process.stderr.write(`change generator: ${String(err)}\n`),
    );
  }, Number(values.changes));
}

process.stdout.write(`
SubMan is up: slapd at ${slapd.url} (${SUFFIX}), ${size} subscribers.

  live page      ${base}/
  realms         ${base}/realm
  subscribers    ${base}/realm/example.org/subscriber
  one of them    ${base}/realm/example.org/subscriber/sub000000
  metrics        ${base}/metrics

Follow a stream:
  curl -N '${base}/realm/example.org/subscriber?subscribe=1'

Change the directory (as its admin) and watch the stream:
  ldapmodify -x -H ${slapd.url} -D ${slapd.rootDN} -y ${slapd.rootPasswordFile} <<'LDIF'
  dn: uid=sub000000,submanId=example.org,ou=realms,${SUFFIX}
  changetype: modify
  replace: submanStatus
  submanStatus: suspended
  LDIF
${values.changes ? `\nA change generator writes a change every ${values.changes} ms.\n` : ''}
Ctrl-C stops everything.
`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(changes);
  await api.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await slapd.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
if (values.duration) setTimeout(() => void shutdown(), Number(values.duration) * 1000);
