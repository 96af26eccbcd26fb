/**
 * The SubMan demo, from nothing: a throwaway slapd (mdb + syncprov) in a temp dir with the SubMan
 * schema and data, the SubMan server on top, and a change generator. `--server 389ds` runs a
 * throwaway 389 Directory Server instead (retro changelog + content sync, the same schema converted).
 *
 *   tsx src/main.ts [--size N] [--port P] [--slapd-port P] [--changes MS] [--store DIR] [--duration S]
 *                   [--server openldap|389ds]
 *
 * Ctrl-C stops everything: streams end, the syncrepl search is abandoned, slapd stops and its
 * temp dir is removed.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Directory } from '../../../test/fixtures/directory.js';
import { startDs389 } from '../../../test/fixtures/ds389.js';
import { startSlapd } from '../../../test/fixtures/slapd.js';
import { createSubmanApp } from './app.js';
import { ChangeGenerator } from './changes.js';
import { submanLdif } from './data.js';
import { SUFFIX } from './model.js';

const USAGE = `usage: npm run demo -- [options]

  --size N         subscribers in the directory (default 1000)
  --port P         HTTP port of the SubMan server on 127.0.0.1 (default 3000; 0: any free port)
  --slapd-port P   LDAP port of the throwaway slapd (default: any free port)
  --changes MS     one generated change every MS milliseconds (default 3000; 0: none)
  --store DIR      keep the server's replica and change log in DIR (restarts resume)
  --duration S     stop by itself after S seconds
  --server NAME    the directory: openldap (default) or 389ds (389 Directory Server)
  --help           this text
`;

/** One sentence on stderr and an exit code: no stack trace for what the user can fix. */
function fail(message: string, code = 2): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code);
}

const args = (() => {
  try {
    return parseArgs({
      options: {
        size: { type: 'string', default: '1000' },
        port: { type: 'string', default: '3000' },
        'slapd-port': { type: 'string' },
        changes: { type: 'string', default: '3000' },
        store: { type: 'string' },
        duration: { type: 'string' },
        server: { type: 'string', default: 'openldap' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)} (see --help)`);
  }
})();
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const whole = (
  name: string,
  value: string | undefined,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    fail(`--${name} must be a whole number from 0 to ${max} (see --help)`);
  return n;
};
const size = whole('size', args.size, 1_000_000)!;
const port = whole('port', args.port, 65_535)!;
const slapdPort = whole('slapd-port', args['slapd-port'], 65_535);
const changeEvery = whole('changes', args.changes, 3_600_000)!;
const duration = whole('duration', args.duration, 86_400);
/** The subscriber the printed ldapmodify example changes: the generator leaves it alone. */
const EXAMPLE_UID = 'sub000000';

const schema = fileURLToPath(new URL('../schema/subman.schema', import.meta.url));
if (args.server !== 'openldap' && args.server !== '389ds')
  fail('--server must be openldap or 389ds (see --help)');
const is389 = args.server === '389ds';
if (is389 && slapdPort !== undefined)
  fail('--slapd-port is for --server openldap (389-ds takes a free port)');
const serverName = is389 ? '389-ds' : 'slapd';
process.stderr.write(`starting ${serverName} with ${size} subscribers...\n`);
const ldif = submanLdif({ subscribers: size });
const slapd: Directory = await (
  is389
    ? startDs389({ suffix: SUFFIX, schemas: [schema], ldif, startTimeoutMs: 120_000 })
    : startSlapd({
        suffix: SUFFIX,
        schemas: [schema],
        ldif,
        sessionlog: 10_000,
        ...(slapdPort ? { port: slapdPort } : {}),
      })
).catch((err: unknown) =>
  fail(
    slapdPort
      ? `slapd could not start on port ${slapdPort} (is it in use?): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`
      : `${serverName} could not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    1,
  ),
);

const { app, api } = createSubmanApp({
  ldap: { url: slapd.url, bindDN: slapd.readerDN, password: slapd.readerPassword },
  secret: randomBytes(32).toString('base64url'),
  storeDir: args.store,
  logger: {
    info: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    error: (m) => process.stderr.write(`error: ${m}\n`),
  },
});
// Listening before the source is ready is safe: streams are answered and held until the data
// flows, listings and items say 503 with Retry-After. The listen queue takes the clients of a
// failed instance arriving at once (Node's default is 511).
const server = app.listen(port, '127.0.0.1', 4096);
await new Promise<void>((resolve) => {
  server.once('listening', resolve);
  server.once('error', (err: NodeJS.ErrnoException) => {
    // The server's search first, then slapd: nothing left to notice slapd going.
    void api
      .close()
      .then(() => slapd.close())
      .finally(() =>
        fail(
          err.code === 'EADDRINUSE'
            ? `port ${port} is in use: pass another one with --port (0 picks a free one)`
            : `the server could not listen on port ${port}: ${err.message}`,
          1,
        ),
      );
  });
});
await api.ready();
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

let changes: NodeJS.Timeout | undefined;
if (changeEvery > 0) {
  const generator = new ChangeGenerator(size, 42, [EXAMPLE_UID]);
  changes = setInterval(() => {
    const change = generator.change();
    slapd.modify(change.ldif).then(
      () => process.stderr.write(`change: ${change.summary}\n`),
      (err: unknown) => process.stderr.write(`change generator: ${String(err)}\n`),
    );
  }, changeEvery);
}

process.stdout.write(`
SubMan is up: ${serverName} at ${slapd.url} (${SUFFIX}), ${size} subscribers.

  live page      ${base}/
  realms         ${base}/realm
  subscribers    ${base}/realm/example.org/subscriber
  one of them    ${base}/realm/example.org/subscriber/${EXAMPLE_UID}
  metrics        ${base}/metrics

Follow a stream:
  curl -N '${base}/realm/example.org/subscriber?subscribe=1'

Change the directory (as its admin) and watch the stream:
  ldapmodify -x -H ${slapd.url} -D ${slapd.rootDN} -y ${slapd.rootPasswordFile} <<'LDIF'
  dn: uid=${EXAMPLE_UID},submanId=example.org,ou=realms,${SUFFIX}
  changetype: modify
  replace: submanStatus
  submanStatus: suspended
  LDIF
${changeEvery > 0 ? `\nA change generator writes a change every ${changeEvery} ms (it leaves ${EXAMPLE_UID} alone).\n` : ''}
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
if (duration !== undefined) setTimeout(() => void shutdown(), duration * 1000);
