#!/usr/bin/env node
/**
 * `syncrepl-rx tail`: prints a syncrepl stream. Flags follow ldapsearch's letters where they exist,
 * and so do the defaults it takes from ldap.conf and LDAP* variables (./config.ts).
 * Exit codes: 0 done (end of refreshOnly, or a clean stop on Ctrl-C), 1 error, 2 bad usage,
 * 3 a --store of another search.
 *
 * This file runs the command: the store, the output, the exit codes and the signals. The
 * arguments and usage are in ./args.ts, the notices on stderr in ./notices.ts, the changes of a
 * run without --store in ./deletes.ts.
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import { syncrepl } from '../sync/syncrepl.js';
import { FlowControl } from '../sync/flow.js';
import { SyncreplError } from '../errors.js';
import type { Change } from '../replica/changes.js';
import { cliWording, formatMessage, printable, writeChange, type UnknownDelete } from './format.js';
import { ldifHeader } from './ldif.js';
import { ChunkedOutput } from './output.js';
import { ldapDefaults } from './config.js';
import { readPassword } from './password.js';
import { replicateFrom } from '../replica/replicate.js';
import { LmdbStore } from '../stores/lmdb.js';
import { ReplicaIdentityError, viewIdentity } from '../stores/store.js';
import { parse, UsageError, type Parsed } from './args.js';
import { replicateTellingDeletes } from './deletes.js';
import { identityDifferences, Progress, reconnectNotices } from './notices.js';

async function main(): Promise<void> {
  let parsed: Parsed;
  try {
    parsed = parse(process.argv.slice(2), () => ldapDefaults());
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`syncrepl-rx: ${printable(err.message)}\nTry 'syncrepl-rx --help'.\n`);
      process.exit(2);
    }
    throw err;
  }
  const { options, output, storeDir, messages } = parsed;
  // Messages carry what servers said (diagnostic messages, URLs): escaped for the terminal.
  const say = (line: string) => process.stderr.write(`syncrepl-rx: ${printable(cliWording(line))}\n`);
  const fail = (code: number, message: string): never => {
    say(message);
    process.exit(code);
  };
  if (parsed.askPassword) options.password = await readPassword();

  let store: LmdbStore | undefined;
  if (storeDir) {
    // What the replica holds is the directory's data: files only this user can read (0600), as
    // the cookie file. The mask covers what LMDB creates; chmod, stores of earlier versions.
    process.umask(0o077);
    try {
      store = await LmdbStore.open(storeDir, {
        // The view of the directory, not the server: any provider or replica of it resumes the store.
        identity: viewIdentity(options),
        otherIdentity: 'refuse',
        startOver: parsed.startOver,
        logger: { info: say, warn: say },
      });
    } catch (err) {
      if (err instanceof ReplicaIdentityError) {
        fail(
          3,
          `--store ${storeDir} holds the replica of another search (${identityDifferences(err)}): ` +
            'use another directory, or add --start-over to discard it',
        );
      }
      fail(1, err instanceof Error ? err.message : String(err));
    }
    for (const name of ['data.mdb', 'lock.mdb', 'replica.lock']) {
      try {
        chmodSync(join(storeDir, name), 0o600);
      } catch {
        // not there (lock.mdb on some platforms) or not ours to change: nothing more to do
      }
    }
  }

  // Without --store, a resume knows nothing of the entries as they were: say once what that means
  // for typed changes (--messages prints what the server sends, which is all there is).
  const resuming =
    parsed.cookieFile !== undefined &&
    !store &&
    !messages &&
    (await options.cookieStore?.load()) !== undefined;
  if (resuming) {
    say(
      `resuming from the cookie in ${parsed.cookieFile} without --store, which alone knows the entries as they ` +
        'were: an entry changed meanwhile (or later) prints as add, without old values, a rename as an add of ' +
        'its new DN, and a delete made meanwhile by its entryUUID alone (no DN), only if the server names it ' +
        '(from its session log)',
    );
  }

  const stop = new AbortController();
  const progress = process.stderr.isTTY ? new Progress() : undefined;
  let interrupted = 0;
  // A slow reader of stdout (a pipe) pauses the LDAP socket instead of growing this process.
  const flow = new FlowControl();
  const out = process.stdout;
  // Lines gather into 64 KiB chunks (./output.ts), handed over at the latest once per turn;
  // whatever is still held when the process exits another way is written on the way out.
  const chunks = new ChunkedOutput(out, flow);
  process.on('exit', () => chunks.flushSync(1));
  process.on('SIGINT', () => {
    interrupted++;
    if (interrupted > 1) {
      chunks.flushSync(1);
      process.exit(130);
    }
    stop.abort();
  });
  process.on('SIGTERM', () => stop.abort());
  // A reader that goes away (`| head -1`) ends the run quietly, as for ldapsearch.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stop.abort();
    process.exit(0);
  });
  const print = (text: string) => chunks.write(text);
  if (output.format === 'ldif') print(ldifHeader(output.ldif));
  const reconnect = options.reconnect === true;
  // Problems go to stderr; which server is followed, only when -H names several. With
  // --reconnect, the notices of each retry (they carry a code) give way to two lines from the
  // status: the connection lost, the connection back.
  const logger = {
    warn: (message: string, fields?: Record<string, unknown>) => {
      if (reconnect && fields?.code !== undefined) return;
      say(message);
    },
    ...(options.url.length > 1 ? { info: (message: string) => say(message) } : {}),
  };
  const onStatus = reconnect ? reconnectNotices(say) : undefined;
  const connect = (cookie?: string) =>
    syncrepl({ ...options, ...(cookie ? { cookie } : {}), stop: stop.signal, flow, logger, onStatus });
  const done = async (code: number, error?: unknown) => {
    chunks.flush();
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
        print(formatMessage(message, output));
      },
    });
    return;
  }
  const changes$: Observable<Change | UnknownDelete> = store
    ? replicateFrom(store, (cookie) => connect(cookie))
    : replicateTellingDeletes(connect(), {
        // Expected after a resume without the replica (said once above), not worth a warning.
        logger: {
          info: () => {},
          warn: (m) => (resuming && /presented \d+ entries/.test(m) ? undefined : say(m)),
        },
      });
  changes$.subscribe({
    ...observer,
    next(change) {
      progress?.count(change.type, change.type === 'ready');
      writeChange(change, output, chunks);
    },
  });
}

void main();
