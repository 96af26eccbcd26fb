/**
 * The files of an LMDB replica store outside LMDB itself (the store is ./lmdb.ts): the header
 * check that keeps damaged or foreign files away from the native code, the `replica.lock` that
 * makes one process the store's one writer, and moving damaged files aside. Nothing here loads
 * `lmdb`, so the server can check a file without the optional peer.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ReplicaStoreBusyError } from './store.js';

/**
 * A reason not to open `file` with LMDB, or undefined when its header looks sound. Checks the
 * two meta pages (magic 0xBEEFC0DE, page size) and that the file is as long as the newest one
 * says. Reads the MDB_meta layout of LMDB 0.9 as lmdb-js 3 writes it; offsets are relative to
 * the magic, which follows the page header.
 */
export function checkLmdbFile(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const fd = openSync(file, 'r');
  try {
    const length = fstatSync(fd).size;
    if (length === 0) return undefined;
    const MAGIC = 0xbeefc0de;
    const head = Buffer.alloc(256);
    readSync(fd, head, 0, head.length, 0);
    const offset = [16, 24].find((at) => head.readUInt32LE(at) === MAGIC);
    if (offset === undefined) return 'its data file is not an LMDB file';
    const pageSize = head.readUInt32LE(offset + 24);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
      return 'its data file has a bad page size';
    if (length < 2 * pageSize) return 'its data file is cut short';
    const second = Buffer.alloc(256);
    readSync(fd, second, 0, second.length, pageSize);
    if (second.readUInt32LE(offset) !== MAGIC) return 'its second meta page is damaged';
    const metas = [head, second].map((page) => ({
      lastPage: page.readBigUInt64LE(offset + 120),
      txnId: page.readBigUInt64LE(offset + 128),
    }));
    const newest = metas[0]!.txnId >= metas[1]!.txnId ? metas[0]! : metas[1]!;
    if (BigInt(length) < (newest.lastPage + 1n) * BigInt(pageSize)) return 'its data file is cut short';
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export interface Lock {
  release(): void;
}

/** Directories open in this process (real paths). */
const openPaths = new Set<string>();

/**
 * Takes the directory for this process: one store, one writer. Across processes a `replica.lock`
 * file holds the owner's pid; a lock whose process is gone (a crash) is taken over.
 */
export function acquireLock(path: string): Lock {
  const real = realpathSync(path);
  const busy = (who: string): ReplicaStoreBusyError =>
    new ReplicaStoreBusyError(
      `Replica store at ${path} is already open ${who}. A store holds one replica with one writer: ` +
        'close the other one first, or give this replicator its own directory.',
    );
  if (openPaths.has(real)) throw busy('in this process');
  const file = join(path, 'replica.lock');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      // Gone between the two calls: its owner released it.
    }
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) throw busy(`by process ${owner}`);
    writeFileSync(file, String(process.pid));
  }
  openPaths.add(real);
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      openPaths.delete(real);
      rmSync(file, { force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Keeps the damaged files for inspection (one generation) and makes room for a new environment. */
export function moveAside(path: string): void {
  for (const name of ['data.mdb', 'lock.mdb']) {
    const file = join(path, name);
    if (!existsSync(file)) continue;
    if (name === 'lock.mdb') rmSync(file, { force: true });
    else renameSync(file, `${file}.corrupt`);
  }
}
