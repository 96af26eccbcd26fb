/**
 * The arguments of `syncrepl-rx tail` (./main.ts): the usage text, the flags (ldapsearch's letters
 * where they exist), the defaults taken from ldap.conf and LDAP* variables (./config.ts), and the
 * files they name; a UsageError (exit code 2) for anything unusable.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SyncreplOptions } from '../sync/syncrepl.js';
import { fileCookieStore } from '../sync/cookie-store.js';
import type { Scope } from '../protocol/pdu.js';
import { parseLdapUrl } from '../protocol/connection.js';
import type { FormatOptions, OutputFormat } from './format.js';
import { LDIF_WRAP } from './ldif.js';
import { checksCertificate, type LdapDefaults, type Setting } from './config.js';
import { encodeFilter } from '../protocol/ldapjs.js';

const USAGE = `Usage: syncrepl-rx tail [-H URI] [-b BASE] [options] [FILTER [ATTRIBUTE...]]

Follows an LDAP Content Synchronization (RFC 4533) search and prints what changes: add, modify,
rename and delete (with +/- lines per attribute value), ready and reset (a full reload follows:
drop what it does not bring back). --messages prints the protocol messages instead.

  -H URI          ldap:// or ldaps:// URL; several servers of one directory separated by spaces
                  or commas: the first that answers is used, --reconnect moves to the next
  -b BASE         search base          -s SCOPE   base, one or sub (default sub)
  -D DN           bind DN (simple bind; omit for anonymous)
  -y FILE         bind password from FILE;  -W  prompt for it (or read one line from stdin)
  -w PASSWORD     bind password on the command line (visible to other users: prefer -y or -W)
  -Y EXTERNAL     SASL EXTERNAL: bind as the TLS client certificate (--cert and --key)
  -Z              StartTLS before binding;  -x  simple bind (the default)
  --ca FILE       CA certificate(s) to trust;  --cert FILE, --key FILE  TLS client certificate
  -z N, -l N      size limit (entries) and time limit (seconds) of the search
  --mode MODE     refreshOnly or refreshAndPersist (default)
  --store DIR     keep the replica in DIR (LMDB, files 0600): a rerun reports only what changed
                  meanwhile, with old values, from any server of the directory (the store
                  belongs to -D, -b, -s, the filter and attributes); a DIR of another search is
                  refused unless --start-over, which discards what DIR holds and reloads
  --cookie-file F resume from the cookie in F (without --store: no old values, see README)
  --messages      print protocol messages (present/add/modify/delete, Sync Info, done)
  --format FMT    text (default), ndjson or ldif;  --binary ATTR  values always as base64
  -L, -LL, -LLL   LDIF; -LL without comments that only annotate, -LLL also without version
  -o ldif_wrap=N  fold LDIF lines at N columns (default 78), or no
  --reconnect     reconnect when the connection is lost (at once to the next -H server,
                  with backoff once every one failed); stderr says when it is lost and back
  -h, --help      this help;  --version  the version

FILTER defaults to (objectClass=*); ATTRIBUTEs default to all user attributes. Defaults for -H,
-b and TLS come from ldap.conf (LDAPCONF, ldaprc) and LDAPURI, LDAPBASE, LDAPTLS_CACERT,
LDAPTLS_CERT, LDAPTLS_KEY, LDAPTLS_REQCERT, as for ldapsearch; LDAPNOINIT=1 ignores them.
Ctrl-C stops cleanly: a refresh in progress finishes, then the search is cancelled.

Exit codes: 0 done (the end of a refreshOnly search, Ctrl-C, or stdout closed by its reader),
1 an error (the server, the network, the store), 2 bad usage, 3 --store DIR holds another
search's replica.`;

/**
 * The package's version, from its package.json: two levels above src/cli, and above dist/cli and
 * dist/chunks, wherever the bundle (scripts/bundle.mjs) puts this function.
 */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export class UsageError extends Error {}

export interface Parsed {
  options: SyncreplOptions & { url: readonly string[] };
  output: FormatOptions;
  storeDir: string | undefined;
  startOver: boolean;
  cookieFile: string | undefined;
  messages: boolean;
  /** -W: the password is asked for once the arguments are known to be usable. */
  askPassword: boolean;
}

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';

/** Reads a file named by a flag, a variable or ldap.conf; a usage error says which. */
function readNamed(what: string, file: string, source?: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const from = source === undefined ? '' : ` (${source.startsWith('LDAP') ? '' : 'in '}${source})`;
    throw new UsageError(`cannot read the ${what} ${file}${from}: ${errorCode(err)}`);
  }
}

/** `-z` / `-l` as ldapsearch reads them: a number, `none` (0) or `max`. */
function limit(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.toLowerCase() === 'none') return 0;
  if (value.toLowerCase() === 'max') return 0x7fffffff;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0x7fffffff) {
    throw new UsageError(`${flag} must be a whole number, none or max, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** `-o ldif_wrap=N|no` (ldapsearch's spelling; ldif-wrap also works). */
function ldifWrap(options: readonly string[]): number {
  let wrap = LDIF_WRAP;
  for (const option of options) {
    const m = /^ldif[_-]wrap(?:=(.*))?$/i.exec(option);
    if (!m) throw new UsageError(`unknown -o option ${JSON.stringify(option)} (known: ldif_wrap=N or no)`);
    const value = m[1];
    if (value === undefined || value === '' || value === '0') wrap = LDIF_WRAP;
    else if (value.toLowerCase() === 'no') wrap = Infinity;
    else if (/^\d+$/.test(value)) wrap = Number(value);
    else throw new UsageError(`-o ldif_wrap must be a number of columns or no, not ${JSON.stringify(value)}`);
  }
  return wrap;
}

export function parse(argv: string[], defaults: () => LdapDefaults): Parsed {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (command === '--version' || (command === 'tail' && rest.includes('--version'))) {
    process.stdout.write(`syncrepl-rx ${version()}\n`);
    process.exit(0);
  }
  if (command !== 'tail')
    throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'missing command');
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        H: { type: 'string' },
        D: { type: 'string' },
        y: { type: 'string' },
        w: { type: 'string' },
        W: { type: 'boolean' },
        Y: { type: 'string' },
        b: { type: 'string' },
        s: { type: 'string' },
        z: { type: 'string' },
        l: { type: 'string' },
        L: { type: 'boolean', multiple: true },
        o: { type: 'string', multiple: true },
        Z: { type: 'boolean' },
        x: { type: 'boolean' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        mode: { type: 'string' },
        'cookie-file': { type: 'string' },
        store: { type: 'string' },
        'start-over': { type: 'boolean' },
        messages: { type: 'boolean' },
        format: { type: 'string' },
        binary: { type: 'string', multiple: true },
        reconnect: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // ldap.conf and LDAP* variables: read only now, and only for what the flags leave open.
  const conf = defaults();
  // As ldapsearch -H (and URI in ldap.conf): URIs separated by white space or commas.
  const uri: Setting | undefined = v.H === undefined ? conf.URI : { value: v.H, source: '-H' };
  const urls = (uri?.value ?? '').split(/[\s,]+/).filter((u) => u !== '');
  if (urls.length === 0) throw new UsageError('-H URI is required (or URI in ldap.conf, or LDAPURI)');
  for (const url of urls) {
    try {
      parseLdapUrl(url);
    } catch (err) {
      const from = uri?.source === '-H' ? '' : ` (from ${uri?.source})`;
      throw new UsageError(`${(err as Error).message.replace(/\.$/, '')}${from}`);
    }
  }
  const base = v.b ?? conf.BASE?.value;
  if (base === undefined) throw new UsageError('-b BASE is required (or BASE in ldap.conf, or LDAPBASE)');
  const scope = (v.s ?? 'sub') as Scope;
  if (!['base', 'one', 'sub'].includes(scope)) throw new UsageError('-s must be base, one or sub');
  const mode = v.mode ?? 'refreshAndPersist';
  if (mode !== 'refreshOnly' && mode !== 'refreshAndPersist') {
    throw new UsageError('--mode must be refreshOnly or refreshAndPersist');
  }
  const level = v.L?.length ?? 0;
  if (level > 0 && v.format !== undefined && v.format !== 'ldif') {
    throw new UsageError(`-L asks for LDIF: drop --format ${v.format}`);
  }
  const format = (v.format ?? (level > 0 ? 'ldif' : 'text')) as OutputFormat;
  if (!['text', 'ndjson', 'ldif'].includes(format)) {
    throw new UsageError('--format must be text, ndjson or ldif');
  }
  const wrap = ldifWrap(v.o ?? []);
  const sizeLimit = limit('-z', v.z);
  const timeLimit = limit('-l', v.l);

  const secrets = [v.w !== undefined && '-w', v.y !== undefined && '-y', v.W && '-W'].filter(
    (f): f is string => typeof f === 'string',
  );
  if (secrets.length > 1) throw new UsageError(`use only one of ${secrets.join(' and ')}`);
  let sasl: SyncreplOptions['sasl'];
  if (v.Y !== undefined) {
    if (v.Y.toUpperCase() !== 'EXTERNAL') {
      throw new UsageError(
        '-Y supports EXTERNAL only (the TLS client certificate); use -D for a simple bind',
      );
    }
    if (v.x) throw new UsageError('use either -x (a simple bind) or -Y EXTERNAL');
    const simple = [...(v.D === undefined ? [] : ['-D']), ...secrets];
    if (simple.length > 0) {
      throw new UsageError(`-Y EXTERNAL binds as the TLS client certificate: drop ${simple.join(' and ')}`);
    }
    sasl = { mechanism: 'EXTERNAL' };
  }

  if (v.store !== undefined && v['cookie-file'] !== undefined) {
    throw new UsageError('--store keeps the cookie with the replica: drop --cookie-file');
  }
  if (v.store !== undefined && v.messages) throw new UsageError('--store works on changes: drop --messages');
  if (v['start-over'] && v.store === undefined) throw new UsageError('--start-over is for --store DIR');
  let password = v.w;
  if (v.y !== undefined) {
    try {
      password = readFileSync(v.y, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(`cannot read the password file: ${errorCode(err)}`);
    }
  }
  const [filter, ...attributes] = parsed.positionals;
  if (filter !== undefined) {
    try {
      encodeFilter(filter);
    } catch (err) {
      throw new UsageError(`bad filter ${JSON.stringify(filter)}: ${(err as Error).message}`);
    }
  }

  // TLS: files named by flags are read at once; those from ldap.conf or the environment only
  // when TLS is used (an ldaps:// URL or -Z), as OpenLDAP's tools do.
  const usesTls = v.Z === true || urls.some((u) => /^ldaps:/i.test(u));
  const file = (flag: 'ca' | 'cert' | 'key', key: 'TLS_CACERT' | 'TLS_CERT' | 'TLS_KEY', what: string) => {
    const named = v[flag];
    if (named !== undefined) return readNamed(what, named);
    const setting = conf[key];
    return usesTls && setting ? readNamed(what, setting.value, setting.source) : undefined;
  };
  const ca = file('ca', 'TLS_CACERT', 'CA file');
  const cert = file('cert', 'TLS_CERT', 'client certificate');
  const key = file('key', 'TLS_KEY', 'client key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      cert === undefined
        ? 'a client key needs its certificate: --cert FILE (or LDAPTLS_CERT)'
        : 'a client certificate needs its key: --key FILE (or LDAPTLS_KEY)',
    );
  }
  let rejectUnauthorized: boolean | undefined;
  if (usesTls && conf.TLS_REQCERT !== undefined) {
    rejectUnauthorized = checksCertificate(conf.TLS_REQCERT.value);
    if (rejectUnauthorized === undefined) {
      const { value, source } = conf.TLS_REQCERT;
      const where = source.startsWith('LDAP') ? source : `TLS_REQCERT in ${source}`;
      throw new UsageError(
        `${where} must be never, allow, try, demand or hard, not ${JSON.stringify(value)}`,
      );
    }
  }
  if (sasl !== undefined && !usesTls) {
    throw new UsageError('-Y EXTERNAL binds as the TLS client certificate: use an ldaps:// URL or -Z');
  }
  if (sasl !== undefined && cert === undefined) {
    throw new UsageError('-Y EXTERNAL needs a client certificate: --cert FILE and --key FILE');
  }
  const tls = {
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(rejectUnauthorized === false ? { rejectUnauthorized } : {}),
  };

  const options = {
    url: urls,
    bindDN: sasl ? undefined : v.D,
    password,
    sasl,
    base,
    scope,
    filter,
    attributes: attributes.length > 0 ? attributes : undefined,
    mode,
    sizeLimit,
    timeLimit,
    startTLS: v.Z,
    binaryAttributes: v.binary,
    reconnect: v.reconnect,
    cookieStore: v['cookie-file'] ? fileCookieStore(v['cookie-file']) : undefined,
    tls: Object.keys(tls).length > 0 ? tls : undefined,
  } satisfies SyncreplOptions;
  return {
    options,
    output: { format, persist: mode === 'refreshAndPersist', ldif: { wrap, level } },
    storeDir: v.store,
    startOver: v['start-over'] ?? false,
    cookieFile: v['cookie-file'],
    messages: v.messages ?? false,
    askPassword: v.W ?? false,
  };
}
