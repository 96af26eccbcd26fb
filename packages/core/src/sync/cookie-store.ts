/**
 * Where `syncrepl()` keeps the replication cookie between runs. Small on purpose: anything that
 * can load and save one string works (a file, a database row, a key in Redis).
 *
 * `save` is called every time the cookie advances, including by a Sync Info newcookie while the
 * stream is otherwise idle (RFC 4533 §2.5), and only after the message that carried it has been
 * delivered to the subscriber. Cookies are strings holding one character per byte (latin1).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface CookieStore {
  load(): Promise<string | undefined> | string | undefined;
  save(cookie: string): Promise<void> | void;
}

/** Keeps the cookie in memory only: useful in tests and as a default. */
export function memoryCookieStore(initial?: string): CookieStore & { readonly cookie: string | undefined } {
  let cookie = initial;
  return {
    get cookie() {
      return cookie;
    },
    load: () => cookie,
    save: (c) => {
      cookie = c;
    },
  };
}

/**
 * Keeps the cookie in a file. Writes go to a temporary file that is renamed over the old one,
 * so a crash leaves either the old cookie or the new one, never half of one. Mode 0600.
 */
export function fileCookieStore(path: string): CookieStore {
  return {
    async load() {
      try {
        const text = await readFile(path, 'latin1');
        const cookie = text.replace(/\r?\n$/, '');
        return cookie === '' ? undefined : cookie;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async save(cookie) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${cookie}\n`, { encoding: 'latin1', mode: 0o600 });
      await rename(tmp, path);
    },
  };
}
