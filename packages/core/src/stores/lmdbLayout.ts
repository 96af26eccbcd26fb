/**
 * The layout of an LMDB replica store (the store is ./lmdb.ts) and its opening: loading the
 * optional peer `lmdb` on first use, the two databases of one environment, and reading, checking
 * and resetting what they hold.
 *
 *   data.mdb, lock.mdb       one LMDB environment
 *     ├─ db "entries"        entryUUID → the entry's record (stores/codec.ts; binary)
 *     └─ db "meta"           "format" → 2, "identity" → ReplicaIdentity, "cookie" → string,
 *                            "discarded" → why the state before this reload was discarded
 *                            (present until the reload's first batch with a cookie)
 *
 * `lmdb` is imported for its types only, and loaded by `loadLmdb` (MissingPackageError when it is
 * not installed): importing this module does not load it.
 */
import type { Database, RootDatabase, Transaction, open as LmdbOpen } from 'lmdb';
import { MissingPackageError } from '../errors.js';
import { CorruptReplicaError, recordOfStored } from './codec.js';
import { canonicalIdentity, describeIdentity, sameIdentity } from './store.js';
import type { CanonicalIdentity, ReplicaIdentity } from './store.js';

/** The version of the layout above. A store written with another version is discarded, not guessed at. */
export const LMDB_STORE_FORMAT = 2;

export interface Environment {
  root: RootDatabase;
  entries: Database<Buffer, string>;
  meta: Database<unknown, string>;
}

const ENTRIES_OPTIONS = { name: 'entries', encoding: 'binary' } as const;
const META_OPTIONS = { name: 'meta', encoding: 'msgpack', useRecords: false } as const;

let lmdbOpen: typeof LmdbOpen | undefined;

/**
 * Loads lmdb's `open` once, on the first store opened: importing @syncrepl-rx/core stays cheap for
 * the many programs that never open a persistent store, and works without it (an optional peer).
 */
export async function loadLmdb(): Promise<void> {
  lmdbOpen ??= await importLmdb();
}

/** lmdb's `open`; MissingPackageError when the optional peer `lmdb` is not installed. */
async function importLmdb(): Promise<typeof LmdbOpen> {
  try {
    return (await import('lmdb')).open;
  } catch (error) {
    // Only lmdb itself missing: a dependency of lmdb missing, or its native code failing to load,
    // is a broken install and keeps its own error.
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      (error as Error).message.includes("'lmdb'")
    ) {
      throw new MissingPackageError('lmdb', 'LmdbStore', { cause: error });
    }
    throw error;
  }
}

export function openEnvironment(path: string): Environment {
  const open = lmdbOpen!;
  // noSubdir: false: `path` is always a directory, even when its name contains a dot.
  const root = open({ path, noSubdir: false, maxDbs: 4 });
  return {
    root,
    entries: root.openDB<Buffer, string>(ENTRIES_OPTIONS),
    meta: root.openDB<unknown, string>(META_OPTIONS),
  };
}

/** What `load` found; `discarded` as in ReplicaStore. */
export interface Loaded {
  cookie: string | undefined;
  keys: Set<string>;
  discarded: string | undefined;
}

/**
 * Why the stored state cannot be used as it is, or undefined when it can. `info`: there is
 * none yet; `warn`: it is discarded, for `reason`.
 */
export function inspect(
  env: Environment,
  transaction: Transaction,
  identity: CanonicalIdentity,
  path: string,
):
  | { level: 'info'; message: string; other?: undefined }
  | { level: 'warn'; message: string; reason: string; other?: CanonicalIdentity }
  | undefined {
  const format = env.meta.get('format', { transaction });
  const storedIdentity = env.meta.get('identity', { transaction });
  if (format === undefined && storedIdentity === undefined) {
    if (
      env.entries.getKeysCount({ transaction }) === 0 &&
      env.meta.get('cookie', { transaction }) === undefined
    ) {
      return {
        level: 'info',
        message: `Replica store at ${path} created for ${describeIdentity(identity)}.`,
      };
    }
    return warn('it has entries but no format or identity record');
  }
  if (format !== LMDB_STORE_FORMAT) {
    return warn(`it has format version ${JSON.stringify(format)}, this version reads ${LMDB_STORE_FORMAT}`);
  }
  if (!isIdentity(storedIdentity)) return warn('its identity record is malformed');
  // A URL recorded by an older version is not compared (canonicalIdentity leaves it out).
  if (!sameIdentity(storedIdentity, identity)) {
    return {
      level: 'warn',
      other: canonicalIdentity(storedIdentity),
      reason: `it holds a replica of another view: ${describeIdentity(storedIdentity)}`,
      message:
        `Replica store at ${path} holds a replica of ${describeIdentity(storedIdentity)}, ` +
        `not of ${describeIdentity(identity)}: starting from an empty replica (a full refresh follows).`,
    };
  }
  return undefined;

  function warn(why: string): { level: 'warn'; message: string; reason: string } {
    return { level: 'warn', message: discarding(path, why), reason: why };
  }
}

/** Reads the cookie and decodes every entry once, so damage is found now rather than mid-stream. */
export function load(env: Environment, transaction: Transaction): Loaded {
  const cookie = env.meta.get('cookie', { transaction });
  if (cookie !== undefined && typeof cookie !== 'string')
    throw new CorruptReplicaError('the stored cookie is not a string');
  const discarded = env.meta.get('discarded', { transaction });
  const keys = new Set<string>();
  for (const { key, value } of env.entries.getRange({ transaction })) {
    if (typeof key !== 'string') throw new CorruptReplicaError('an entry key is not an entryUUID');
    recordOfStored(value, key);
    keys.add(key);
  }
  return { cookie, keys, discarded: typeof discarded === 'string' ? discarded : undefined };
}

/**
 * Empties both databases and records format and identity (and why the state before was
 * discarded, if it was), in one transaction.
 */
export function reset(env: Environment, identity: CanonicalIdentity, discarded: string | undefined): void {
  env.root.transactionSync(() => {
    env.entries.clearSync();
    env.meta.clearSync();
    void env.meta.put('format', LMDB_STORE_FORMAT);
    void env.meta.put('identity', identity);
    if (discarded !== undefined) void env.meta.put('discarded', discarded);
  });
}

export function discarding(path: string, why: string): string {
  return `Replica store at ${path} cannot be used (${why}): discarding it and starting from an empty replica (a full refresh follows).`;
}

/** A stored identity: current ones have no URL, older ones have one (not compared). */
function isIdentity(value: unknown): value is ReplicaIdentity {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { base?: unknown }).base === 'string' &&
    ['undefined', 'string'].includes(typeof (value as { url?: unknown }).url)
  );
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\.$/, '') : String(error);
}
