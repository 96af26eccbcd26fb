#!/usr/bin/env node
/**
 * `syncrepl-rx tail`: prints a syncrepl stream. Flags follow ldapsearch's letters where they exist.
 * Exit codes: 0 done (end of refreshOnly, or a clean stop on Ctrl-C), 1 error, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { syncrepl, type SyncreplOptions } from '../sync/syncrepl.js';
import { fileCookieStore } from '../sync/cookie-store.js';
import { FlowControl } from '../sync/flow.js';
import { SyncreplError } from '../errors.js';
import type { Scope } from '../protocol/pdu.js';
import { formatChange, formatMessage, printable, type OutputFormat } from './format.js';
import { replicate, replicateFrom } from '../replica/replicate.js';
import { LmdbStore } from '../stores/lmdb.js';
import { encodeFilter } from '../protocol/ldapjs.js';

const USAGE = `Usage: syncrepl-rx tail -H URI -b BASE [options] [FILTER [ATTRIBUTE...]]

Follows an LDAP Content Synchronization (RFC 4533) search and prints what changes: add, modify,
rename and delete (with +/- lines per attribute value), ready and reset (a full reload follows:
drop what it does not bring back). With --messages it prints the protocol messages instead, one
line each.

  -H URI          ldap://host:port or ldaps://host:port, or several servers of the same
                  directory separated by spaces or commas ("ldap://a ldap://b"): the first
                  that answers is used, and with --reconnect a failure moves to the next
  -D DN           bind DN (simple bind); omit for anonymous
  -y FILE         read the bind password from FILE (one trailing newline is ignored)
  -w PASSWORD     bind password on the command line (visible to other users: prefer -y)
  -b BASE         search base
  -s SCOPE        base, one or sub (default sub)
  -Z              StartTLS before binding
  -x              simple authentication (the default; accepted for ldapsearch habits)
  --ca FILE       CA certificate(s) to trust for ldaps:// and StartTLS
  --mode MODE     refreshOnly or refreshAndPersist (default refreshAndPersist)
  --store DIR     keep the replica in DIR (LMDB): repeated runs resume and report only what
                  changed meanwhile, with the old values, from any server of the directory
                  (the store belongs to -D, -b, -s, the filter and attributes, not to -H)
  --cookie-file F resume from the cookie in F and keep it up to date there (without --store)
  --messages      print protocol messages (present/add/modify/delete, Sync Info, done)
  --format FMT    text or ndjson (default text)
  --binary ATTR   always print ATTR's values as base64 (repeatable)
  --reconnect     reconnect when the connection is lost: at once to the next server of -H,
                  with backoff once every server failed
  -h, --help      this help
  --version       the version of syncrepl-rx

FILTER defaults to (objectClass=*); ATTRIBUTEs default to all user attributes.
Ctrl-C stops cleanly: a refresh in progress finishes, then the search is cancelled.

Exit codes: 0 done (the end of a refreshOnly search, Ctrl-C, or stdout closed by its reader),
1 an error (the server, the network, the store), 2 bad usage.`;

/** The package's version, from its package.json (two levels above dist/cli and src/cli). */
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

class UsageError extends Error {}

interface Parsed {
  options: SyncreplOptions & { url: readonly string[] };
  format: OutputFormat;
  storeDir: string | undefined;
  messages: boolean;
}

function parse(argv: string[]): Parsed {
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
        b: { type: 'string' },
        s: { type: 'string' },
        Z: { type: 'boolean' },
        x: { type: 'boolean' },
        ca: { type: 'string' },
        mode: { type: 'string' },
        'cookie-file': { type: 'string' },
        store: { type: 'string' },
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
  // As ldapsearch -H: a list of URIs separated by white space or commas.
  const urls = (v.H ?? '').split(/[\s,]+/).filter((u) => u !== '');
  if (urls.length === 0) throw new UsageError('-H URI is required');
  if (v.b === undefined) throw new UsageError('-b BASE is required');
  const scope = (v.s ?? 'sub') as Scope;
  if (!['base', 'one', 'sub'].includes(scope)) throw new UsageError('-s must be base, one or sub');
  const mode = v.mode ?? 'refreshAndPersist';
  if (mode !== 'refreshOnly' && mode !== 'refreshAndPersist') {
    throw new UsageError('--mode must be refreshOnly or refreshAndPersist');
  }
  const format = (v.format ?? 'text') as OutputFormat;
  if (format !== 'text' && format !== 'ndjson') throw new UsageError('--format must be text or ndjson');
  if (v.w !== undefined && v.y !== undefined) throw new UsageError('use either -w or -y, not both');
  if (v.store !== undefined && v['cookie-file'] !== undefined) {
    throw new UsageError('--store keeps the cookie with the replica: drop --cookie-file');
  }
  if (v.store !== undefined && v.messages) throw new UsageError('--store works on changes: drop --messages');
  let password = v.w;
  if (v.y !== undefined) {
    try {
      password = readFileSync(v.y, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(
        `cannot read the password file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
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
  let ca: Buffer | undefined;
  if (v.ca !== undefined) {
    try {
      ca = readFileSync(v.ca);
    } catch (err) {
      throw new UsageError(
        `cannot read the CA file ${v.ca}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  const options = {
    url: urls,
    bindDN: v.D,
    password,
    base: v.b,
    scope,
    filter,
    attributes: attributes.length > 0 ? attributes : undefined,
    mode,
    startTLS: v.Z,
    binaryAttributes: v.binary,
    reconnect: v.reconnect,
    cookieStore: v['cookie-file'] ? fileCookieStore(v['cookie-file']) : undefined,
    tls: ca ? { ca } : undefined,
  } satisfies SyncreplOptions;
  return { options, format, storeDir: v.store, messages: v.messages ?? false };
}

async function main(): Promise<void> {
  let parsed: Parsed;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`syncrepl-rx: ${printable(err.message)}\nTry 'syncrepl-rx --help'.\n`);
      process.exit(2);
    }
    throw err;
  }
  const { options, format, storeDir, messages } = parsed;
  const stop = new AbortController();
  const progress = process.stderr.isTTY ? new Progress() : undefined;
  let interrupted = 0;
  process.on('SIGINT', () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    stop.abort();
  });
  process.on('SIGTERM', () => stop.abort());
  // Messages carry what servers said (diagnostic messages, URLs): escaped for the terminal.
  const say = (line: string) => process.stderr.write(`syncrepl-rx: ${printable(line)}\n`);
  const store = storeDir
    ? await LmdbStore.open(storeDir, {
        // The view of the directory, not the server: any provider or replica of it resumes the store.
        identity: {
          bindDN: options.bindDN,
          base: options.base,
          scope: options.scope,
          filter: options.filter,
          attributes: options.attributes,
        },
        logger: { info: say, warn: say },
      })
    : undefined;
  // A slow reader of stdout (a pipe) pauses the LDAP socket instead of growing this process.
  const flow = new FlowControl();
  const out = process.stdout;
  // A reader that goes away (`| head -1`) ends the run quietly, as for ldapsearch.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stop.abort();
    process.exit(0);
  });
  const print = (text: string) => {
    if (!out.write(text) && !flow.paused) {
      flow.pause();
      out.once('drain', () => flow.resume());
    }
  };
  // Problems (a lost server, the next one tried) always go to stderr; which server is followed,
  // only when -H names several.
  const logger = {
    warn: (message: string) => say(message),
    ...(options.url.length > 1 ? { info: (message: string) => say(message) } : {}),
  };
  const connect = (cookie?: string) =>
    syncrepl({ ...options, ...(cookie ? { cookie } : {}), stop: stop.signal, flow, logger });
  const done = async (code: number, error?: unknown) => {
    progress?.clear();
    if (error !== undefined) say(error instanceof SyncreplError ? error.message : String(error));
    await store?.close();
    process.exitCode = code;
  };
  const observer = {
    error: (err: unknown) => void done(1, err),
    complete: () => void done(0),
  };
  if (messages) {
    connect().subscribe({
      ...observer,
      next(message) {
        progress?.count(message.type, 'refreshDone' in message && message.refreshDone === true);
        print(formatMessage(message, format));
      },
    });
    return;
  }
  const changes$ = store ? replicateFrom(store, (cookie) => connect(cookie)) : connect().pipe(replicate());
  changes$.subscribe({
    ...observer,
    next(change) {
      progress?.count(change.type, change.type === 'ready');
      print(formatChange(change, format));
    },
  });
}

/** A progress line on stderr while a long refresh runs (only when stderr is a terminal). */
class Progress {
  private entries = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined = setInterval(() => this.draw(), 250);

  count(type: string, refreshDone: boolean): void {
    if (type === 'present' || type === 'add' || type === 'modify') this.entries++;
    if (type === 'done' || refreshDone) this.clear();
  }

  private draw(): void {
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? Math.round(this.entries / secs) : 0;
    process.stderr.write(`\r\x1b[Krefreshing: ${this.entries} entries, ${rate}/s`);
  }

  clear(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.stderr.write('\r\x1b[K');
  }
}

void main();
