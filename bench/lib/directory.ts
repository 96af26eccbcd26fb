/**
 * The directory our benchmarks read: a temporary slapd (mdb + syncprov, test/fixtures/slapd.ts) loaded
 * offline with slapadd, and the reader identity's password in a 0600 file for `-y` and for children,
 * so no password ever appears in an argv (docs/design.md invariant 6).
 */
import { statSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peopleLdif } from '../../test/fixtures/ldif.js';
import type { Directory } from '../../test/fixtures/directory.js';
import { startDs389 } from '../../test/fixtures/ds389.js';
import { startSlapd } from '../../test/fixtures/slapd.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = join(REPO_ROOT, 'bench');

export interface PeopleDirectory {
  /** The server: OpenLDAP's slapd, or 389-ds (`server: '389ds'`). */
  slapd: Directory;
  /** `ou=people,<suffix>`: the search base. */
  base: string;
  /** The reader's password, in a file inside slapd.dir (deleted by close()). */
  readerPasswordFile: string;
  /** What a subtree search of `base` returns: the people plus ou=people itself. */
  expectedEntries: number;
  /** Generating the LDIF, slapadd and the first start. */
  loadMs: number;
  close(): Promise<void>;
}

/**
 * Starts a slapd (or a 389-ds instance, loaded online over LDAPI: it has no offline load that keeps
 * entryUUIDs) holding `count` inetOrgPerson entries (test/fixtures/ldif.ts) under ou=people.
 */
export async function startPeopleDirectory(
  count: number,
  server: 'openldap' | '389ds' = 'openldap',
): Promise<PeopleDirectory> {
  const started = performance.now();
  const base = 'ou=people,dc=example,dc=com';
  const slapd =
    server === '389ds'
      ? await startDs389({ ldif: peopleLdif(count, base), startTimeoutMs: 120_000 })
      : await startSlapd({ ldif: peopleLdif(count, base) });
  const readerPasswordFile = join(slapd.dir, 'reader.pw');
  // ldapsearch -y takes the whole file as the password: no trailing newline.
  await writeFile(readerPasswordFile, slapd.readerPassword, { mode: 0o600 });
  return {
    slapd,
    base,
    readerPasswordFile,
    expectedEntries: count + 1,
    loadMs: performance.now() - started,
    close: () => slapd.close(),
  };
}

/**
 * Children import @syncrepl-rx/core from packages/core/dist. Throws when it is missing and returns
 * the source files newer than the build (others may be editing core while we measure).
 */
export function checkCoreBuild(): string[] {
  const core = join(REPO_ROOT, 'packages', 'core');
  try {
    statSync(join(core, 'dist', 'index.js'));
  } catch {
    throw new Error('packages/core/dist is missing: run `pnpm -s build` at the repository root first.');
  }
  // tsc -b leaves outputs whose text did not change untouched, so dist/ mtimes say little; the
  // build info file is rewritten on every build that had something to do.
  let built = 0;
  for (const marker of ['tsconfig.tsbuildinfo', join('dist', 'index.js')]) {
    try {
      built = Math.max(built, statSync(join(core, marker)).mtimeMs);
    } catch {
      // not there
    }
  }
  const newer: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        /\.ts$/.test(entry.name) &&
        !/\.test\.ts$/.test(entry.name) &&
        statSync(path).mtimeMs > built
      ) {
        newer.push(path.slice(REPO_ROOT.length + 1));
      }
    }
  };
  walk(join(core, 'src'));
  return newer;
}
