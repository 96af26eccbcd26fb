import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Change, Entry } from '../../../../packages/core/src/replica/changes.js';
import { replicate, replicateFrom } from '../../../../packages/core/src/replica/replicate.js';
import {
  LmdbStore,
  checkLmdbFile,
  type LmdbStoreOptions,
} from '../../../../packages/core/src/stores/lmdb.js';
import { ReplicaIdentityError, ReplicaStoreBusyError } from '../../../../packages/core/src/stores/store.js';
import type {
  ReplicaBatch,
  ReplicaIdentity,
  ReplicaStore,
} from '../../../../packages/core/src/stores/store.js';
import type { SyncMessage } from '../../../../packages/core/src/sync/messages.js';
import { withCommit } from '../../../fixtures/store-commit.js';

const identity: ReplicaIdentity = {
  url: 'ldap://127.0.0.1:3890',
  bindDN: 'cn=reader,dc=example',
  base: 'ou=people,dc=example',
  scope: 'sub',
  filter: '(objectClass=inetOrgPerson)',
  attributes: ['cn', 'mail', 'jpegPhoto'],
};

/** The `lmdb` package as core resolves it (the test package does not depend on it), for tampering. */
interface RawDatabase {
  putSync(key: string, value: unknown): boolean;
}
interface RawRoot {
  openDB(options: { name: string; encoding: 'binary' | 'msgpack'; useRecords?: boolean }): RawDatabase;
  close(): Promise<void>;
}
const { open } = createRequire(new URL('../../../../packages/core/package.json', import.meta.url))(
  'lmdb',
) as {
  open(options: { path: string; noSubdir: boolean; maxDbs: number }): RawRoot;
};

const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const U3 = 'cccccccc-0000-4000-8000-000000000003';
const photo = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]);
const ann: Entry = { dn: 'uid=ann,ou=people,dc=example', attributes: { cn: ['Ann'], jpegPhoto: [photo] } };
const bob: Entry = { dn: 'uid=bob,ou=people,dc=example', attributes: { cn: ['Bob'], mail: ['bob@example'] } };
const cat: Entry = { dn: 'uid=cat,ou=people,dc=example', attributes: { cn: ['Cat'] } };

let dir: string;
let logger: { info: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn> };
const opened: LmdbStore[] = [];

async function openStore(
  options: Partial<Omit<LmdbStoreOptions, 'logger'>> & { identity?: ReplicaIdentity } = {},
): Promise<LmdbStore> {
  const store = await LmdbStore.open(dir, { ...options, identity: options.identity ?? identity, logger });
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'syncrepl-rx-lmdb-'));
  logger = { info: vi.fn(), warn: vi.fn() };
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const batch = (entries: [string, Entry | null][], cookie: string | undefined): ReplicaBatch => ({
  mutations: new Map(entries),
  cookie,
});

describe('LmdbStore', () => {
  it('starts empty in a new directory and says so', async () => {
    const store = await openStore();
    expect(store.size).toBe(0);
    expect(store.cookie).toBeUndefined();
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringMatching(/created for base="ou=people,dc=example"/),
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('keeps entries (bytes as bytes) and the cookie across a reopen', async () => {
    const store = await openStore();
    await store.commit(
      batch(
        [
          [U1, ann],
          [U2, bob],
          [U3, cat],
        ],
        'c1',
      ),
    );
    await store.commit(batch([[U3, null]], 'c2'));
    await store.close();

    const again = await openStore();
    expect(again.cookie).toBe('c2');
    expect(again.size).toBe(2);
    expect(again.get(U1)).toEqual(ann);
    expect(again.get(U1)!.attributes.jpegPhoto![0]!.constructor).toBe(Uint8Array);
    expect(again.has(U3)).toBe(false);
    expect(new Map(again.entries())).toEqual(
      new Map([
        [U1, ann],
        [U2, bob],
      ]),
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('reads its own writes before the transaction commits', async () => {
    const store = await openStore();
    await store.commit(batch([[U1, ann]], 'c1'));
    const pending = store.commit(
      batch(
        [
          [U1, null],
          [U2, bob],
        ],
        'c2',
      ),
    );
    expect(store.has(U1)).toBe(false);
    expect(store.get(U2)).toEqual(bob);
    expect(store.size).toBe(1);
    expect(store.cookie).toBe('c2');
    expect([...store.entryUUIDs()]).toEqual([U2]);
    await pending;
    expect([...store.entryUUIDs()]).toEqual([U2]);
    expect(store.size).toBe(1);
  });

  it('reads back every queued batch, of any size, while their transactions are pending and after', async () => {
    // Batches are queued without waiting, so several wait for the writer at once, and their byte
    // buffers are reused once committed: each must still read back its own records.
    const store = await openStore();
    const expected = new Map<string, Entry>();
    const pending: Promise<void>[] = [];
    for (let b = 0; b < 12; b++) {
      const mutations: [string, Entry | null][] = [];
      const count = b % 3 === 0 ? 1 : 200;
      for (let i = 0; i < count; i++) {
        const entryUUID = `00000000-0000-4000-8000-${String(b * 1000 + i).padStart(12, '0')}`;
        // Batch 4 holds one record larger than a 64 KiB buffer step.
        const size = b === 4 && i === 0 ? 200_000 : 10 + ((b * 7 + i) % 50);
        // Batch 7's entries have many long names and short values: their BER (what is stored) is
        // about ten times their record, more than the batch buffer is first sized for.
        const attributes =
          b === 7
            ? Object.fromEntries(
                Array.from({ length: 40 }, (_, k) => [`x-a-rather-long-name-${k}`, [`${i}`]]),
              )
            : { description: ['x'.repeat(size) + b] };
        const entry: Entry = { dn: `cn=e${b}-${i},dc=example`, attributes };
        mutations.push([entryUUID, entry]);
        expected.set(entryUUID, entry);
      }
      // Every other batch also deletes the first entry of the batch before it.
      if (b % 2 === 1) {
        const gone = `00000000-0000-4000-8000-${String((b - 1) * 1000).padStart(12, '0')}`;
        expect(expected.delete(gone)).toBe(true);
        mutations.push([gone, null]);
      }
      pending.push(store.commit(batch(mutations, `c${b}`)));
      for (const [entryUUID, entry] of expected) expect(store.get(entryUUID)).toEqual(entry);
    }
    await Promise.all(pending);
    expect(store.size).toBe(expected.size);
    for (const [entryUUID, entry] of expected) expect(store.get(entryUUID)).toEqual(entry);
    expect(new Map([...store.entries()])).toEqual(expected);
    await store.close();
    const reopened = await openStore();
    expect(new Map([...reopened.entries()])).toEqual(expected);
    expect(reopened.cookie).toBe('c11');
  });

  it('rejects a batch with an invalid value before anything changes', async () => {
    const store = await openStore();
    await store.commit(batch([[U1, ann]], 'c1'));
    const bad = { dn: 'x', attributes: { cn: [7] } } as unknown as Entry;
    expect(() =>
      store.commit(
        batch(
          [
            [U1, null],
            [U2, bad],
          ],
          'c2',
        ),
      ),
    ).toThrow(TypeError);
    expect(store.get(U1)).toEqual(ann);
    expect(store.cookie).toBe('c1');
    await store.close();
    expect((await openStore()).cookie).toBe('c1');
  });

  describe('identity', () => {
    it('starts empty, with a warning, when opened for another view of the directory', async () => {
      const store = await openStore();
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();

      const other = await openStore({ identity: { ...identity, filter: '(objectClass=person)' } });
      expect(other.size).toBe(0);
      expect(other.cookie).toBeUndefined();
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /holds a replica of .*filter=\(objectClass=inetOrgPerson\).*not of .*filter=\(objectClass=person\).*empty replica/,
        ),
      );
      await other.close();

      // and it now belongs to the new identity
      logger.warn.mockClear();
      const same = await openStore({ identity: { ...identity, filter: '(objectClass=person)' } });
      expect(logger.warn).not.toHaveBeenCalled();
      expect(same.size).toBe(0);
    });

    it('is the view of the directory, not the server: another URL (or none) reuses the store', async () => {
      const store = await openStore({ identity: { ...identity, url: 'ldap://provider-a.example:389' } });
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();
      for (const url of [
        'ldap://provider-b.example:389',
        ['ldap://replica.example', 'ldap://a'],
        undefined,
      ]) {
        const again = await openStore({ identity: { ...identity, url } });
        expect(again.size).toBe(1);
        expect(again.cookie).toBe('c1');
        expect(again.discarded).toBeUndefined();
        await again.close();
      }
      expect(logger.warn).not.toHaveBeenCalled();
      // and the URL is not recorded, nor said
      const text = readFileSync(join(dir, 'data.mdb'));
      expect(text.includes(Buffer.from('provider-a.example'))).toBe(false);
      expect(JSON.stringify(logger.info.mock.calls)).not.toContain('provider-');
    });

    it('reuses a store recorded with a URL in its identity (older versions) when the rest matches', async () => {
      const store = await openStore();
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();
      // What versions that kept the URL in the identity wrote.
      const root = open({ path: dir, noSubdir: false, maxDbs: 4 });
      root
        .openDB({ name: 'meta', encoding: 'msgpack', useRecords: false })
        .putSync('identity', { url: 'ldap://old-provider.example:389', ...identity, scope: 'sub' });
      await root.close();

      const again = await openStore({ identity: { ...identity, url: 'ldap://new-provider.example:389' } });
      expect(again.size).toBe(1);
      expect(again.cookie).toBe('c1');
      expect(again.discarded).toBeUndefined();
      expect(logger.warn).not.toHaveBeenCalled();
      await again.close();

      // but a real difference in the view still discards it
      const root2 = open({ path: dir, noSubdir: false, maxDbs: 4 });
      root2.openDB({ name: 'meta', encoding: 'msgpack', useRecords: false }).putSync('identity', {
        url: 'ldap://old-provider.example:389',
        ...identity,
        base: 'ou=other,dc=example',
      });
      await root2.close();
      const other = await openStore();
      expect(other.size).toBe(0);
      expect(other.discarded).toMatch(/another view: base="ou=other,dc=example"/);
    });

    it('says it discarded its state until a reload completed (a batch with a cookie), across reopens', async () => {
      const store = await openStore();
      expect(store.discarded).toBeUndefined(); // a new store discarded nothing
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();

      const view = { ...identity, filter: '(objectClass=person)' };
      const other = await openStore({ identity: view });
      expect(other.discarded).toMatch(/another view: .*filter=\(objectClass=inetOrgPerson\)/);
      await other.commit(batch([[U2, bob]], undefined)); // a reload batch: no cookie yet
      expect(other.discarded).toBeDefined();
      await other.close();

      const interrupted = await openStore({ identity: view }); // the reload never completed
      expect(interrupted.discarded).toMatch(/another view/);
      await interrupted.commit(batch([[U3, cat]], 'c9'));
      expect(interrupted.discarded).toBeUndefined();
      await interrupted.close();

      const done = await openStore({ identity: view });
      expect(done.discarded).toBeUndefined();
      expect(done.cookie).toBe('c9');
    });

    it("otherIdentity: 'refuse' leaves a replica of another view as it is, and says what differs", async () => {
      const store = await openStore();
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();

      const view = { ...identity, filter: '(objectClass=person)', attributes: ['cn'] };
      const refused = await openStore({ identity: view, otherIdentity: 'refuse' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ReplicaIdentityError);
      const error = refused as ReplicaIdentityError;
      expect(error.differences).toEqual(['filter', 'attributes']);
      expect(error.stored.filter).toBe('(objectClass=inetOrgPerson)');
      expect(error.requested.filter).toBe('(objectClass=person)');
      expect(logger.warn).not.toHaveBeenCalled();

      // untouched, and not left locked: the same view (another URL too) still resumes it
      const again = await openStore({ identity: { ...identity, url: 'ldap://b' }, otherIdentity: 'refuse' });
      expect([again.size, again.cookie, again.discarded]).toEqual([1, 'c1', undefined]);
    });

    it('startOver discards what the store holds, for the same view or another, and a new store has nothing to discard', async () => {
      const fresh = await openStore({ startOver: true });
      expect(fresh.discarded).toBeUndefined();
      await fresh.commit(batch([[U1, ann]], 'c1'));
      await fresh.close();

      const same = await openStore({ startOver: true, otherIdentity: 'refuse' });
      expect([same.size, same.cookie]).toEqual([0, undefined]);
      expect(same.discarded).toMatch(/start over/);
      await same.commit(batch([[U2, bob]], 'c2'));
      await same.close();

      const other = await openStore({
        identity: { ...identity, base: 'ou=other,dc=example' },
        startOver: true,
        otherIdentity: 'refuse',
      });
      expect([other.size, other.cookie]).toEqual([0, undefined]);
      expect(other.discarded).toMatch(/another view/);
    });

    it('ignores the order and case of the attribute list', async () => {
      const store = await openStore();
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();
      const again = await openStore({ identity: { ...identity, attributes: ['JPEGPHOTO', 'cn', 'mail'] } });
      expect(again.size).toBe(1);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('never stores a password passed along with the identity', async () => {
      const secret = 'S3cret-Passw0rd-1234';
      const withPassword = { ...identity, password: secret, bindPassword: secret } as ReplicaIdentity;
      const store = await openStore({ identity: withPassword });
      await store.commit(batch([[U1, ann]], 'c1'));
      await store.close();
      for (const name of readdirSync(dir)) {
        expect(readFileSync(join(dir, name)).includes(Buffer.from(secret))).toBe(false);
      }
      expect(JSON.stringify([...logger.info.mock.calls, ...logger.warn.mock.calls])).not.toContain(secret);
    });
  });

  describe('one writer', () => {
    it('refuses a second open of the same directory in this process', async () => {
      await openStore();
      await expect(LmdbStore.open(dir, { identity, logger })).rejects.toThrow(ReplicaStoreBusyError);
    });

    it('refuses a directory another live process holds, and takes over after a crash', async () => {
      writeFileSync(join(dir, 'replica.lock'), String(process.ppid));
      await expect(LmdbStore.open(dir, { identity, logger })).rejects.toThrow(
        /in use|already open by process/,
      );
      writeFileSync(join(dir, 'replica.lock'), '999999999');
      const store = await openStore();
      expect(readFileSync(join(dir, 'replica.lock'), 'utf8')).toBe(String(process.pid));
      await store.close();
      expect(existsSync(join(dir, 'replica.lock'))).toBe(false);
    });
  });

  describe('damaged state', () => {
    async function seed(): Promise<void> {
      const store = await LmdbStore.open(dir, { identity, logger: { info: () => {}, warn: () => {} } });
      await store.commit(
        batch(
          [
            [U1, ann],
            [U2, bob],
          ],
          'c1',
        ),
      );
      await store.close();
    }

    /** Writes raw bytes into the store's databases, as another tool (or a bug) could. */
    async function tamper(write: (dbs: { entries: RawDatabase; meta: RawDatabase }) => void): Promise<void> {
      const root = open({ path: dir, noSubdir: false, maxDbs: 4 });
      write({
        entries: root.openDB({ name: 'entries', encoding: 'binary' }),
        meta: root.openDB({ name: 'meta', encoding: 'binary' }),
      });
      await root.close();
    }

    it('discards undecodable entries with a warning and starts empty', async () => {
      await seed();
      await tamper(({ entries }) => entries.putSync(U2, Buffer.from([0xc1, 0xc1, 0xc1])));
      const store = await openStore();
      expect(store.size).toBe(0);
      expect(store.cookie).toBeUndefined();
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(/cannot be used .*starting from an empty replica/),
      );
    });

    it('discards entries that decode to the wrong shape', async () => {
      await seed();
      const root = open({ path: dir, noSubdir: false, maxDbs: 4 });
      root.openDB({ name: 'entries', encoding: 'binary' }).putSync(U2, Buffer.from('not a record'));
      await root.close();
      const store = await openStore();
      expect(store.size).toBe(0);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/is not a readable record/));
    });

    it('discards a store written in another format version', async () => {
      await seed();
      const root = open({ path: dir, noSubdir: false, maxDbs: 4 });
      root.openDB({ name: 'meta', encoding: 'msgpack' }).putSync('format', 99);
      await root.close();
      const store = await openStore();
      expect(store.size).toBe(0);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(/format version 99, this version reads 2/),
      );
    });

    it('discards a cookie that is not a string', async () => {
      await seed();
      await tamper(({ meta }) => meta.putSync('cookie', Buffer.from([0x93, 0x01, 0x02, 0x03])));
      const store = await openStore();
      expect(store.size).toBe(0);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/cookie is not a string/));
    });

    it('moves a data file that is not LMDB aside instead of crashing on it', async () => {
      writeFileSync(join(dir, 'data.mdb'), Buffer.alloc(20_000, 7));
      expect(checkLmdbFile(join(dir, 'data.mdb'))).toMatch(/not an LMDB file/);
      const store = await openStore();
      expect(store.size).toBe(0);
      expect(existsSync(join(dir, 'data.mdb.corrupt'))).toBe(true);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/not an LMDB file/));
      await store.commit(batch([[U1, ann]], 'c1'));
      expect(store.get(U1)).toEqual(ann);
    });

    it('moves a truncated data file aside instead of crashing on it', async () => {
      await seed();
      rmSync(join(dir, 'lock.mdb'));
      truncateSync(join(dir, 'data.mdb'), 4096);
      const store = await openStore();
      expect(store.size).toBe(0);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/cut short/));
    });

    it('accepts a sound file', async () => {
      await seed();
      expect(checkLmdbFile(join(dir, 'data.mdb'))).toBeUndefined();
    });
  });
});

// --- with replicate -------------------------------------------------------------------------

const add = (entryUUID: string, entry: Entry, cookie?: string): SyncMessage => ({
  type: 'add',
  entryUUID,
  dn: entry.dn,
  attributes: entry.attributes,
  ...(cookie !== undefined && { cookie }),
});

describe('LmdbStore with replicate', () => {
  it('resumes after a restart: the cookie comes from the store, old entries come from disk', async () => {
    const first = await openStore();
    const initial = await lastValueFrom(
      from<SyncMessage[]>([
        add(U1, ann),
        add(U2, bob),
        add(U3, cat),
        { type: 'refreshDelete', refreshDone: true, cookie: 'c1' },
      ]).pipe(replicate({ store: first }), toArray()),
    );
    expect(initial.map((c) => c.type)).toEqual(['add', 'add', 'add', 'ready']);
    await first.close();

    // The process restarts. While it was down, bob got a mail change and cat was deleted.
    const store = await openStore();
    expect(store.cookie).toBe('c1');
    const bobChanged: Entry = { dn: bob.dn, attributes: { cn: ['Bob'], mail: ['robert@example'] } };
    const connect = vi.fn((cookie: string | undefined) =>
      from<SyncMessage[]>([
        { type: 'present', entryUUID: U1, dn: ann.dn, attributes: {} },
        add(U2, bobChanged),
        { type: 'refreshPresent', refreshDone: true, cookie: cookie === 'c1' ? 'c2' : 'wrong' },
      ]),
    );
    const changes = await lastValueFrom(replicateFrom(store, connect).pipe(toArray()));
    expect(connect).toHaveBeenCalledWith('c1');
    expect(changes).toEqual<Change[]>([
      {
        type: 'modify',
        entryUUID: U2,
        dn: bob.dn,
        old: bob,
        new: bobChanged,
        diff: { mail: { added: ['robert@example'], removed: ['bob@example'] } },
      },
      { type: 'delete', entryUUID: U3, dn: cat.dn, old: cat },
      { type: 'ready', cookie: 'c2' },
    ]);
    await store.close();
    const after = await openStore();
    expect(after.cookie).toBe('c2');
    expect(new Map(after.entries())).toEqual(
      new Map([
        [U1, ann],
        [U2, bobChanged],
      ]),
    );
  });

  it('begins with reset when the store discarded its state, and reloads from no cookie', async () => {
    const first = await openStore();
    await lastValueFrom(
      from<SyncMessage[]>([add(U1, ann), { type: 'refreshDelete', refreshDone: true, cookie: 'c1' }]).pipe(
        replicate({ store: first }),
        toArray(),
      ),
    );
    await first.close();

    const store = await openStore({ identity: { ...identity, attributes: ['cn'] } });
    const connect = vi.fn((_cookie: string | undefined) =>
      from<SyncMessage[]>([add(U2, bob), { type: 'refreshDelete', refreshDone: true, cookie: 'c2' }]),
    );
    const changes = await lastValueFrom(replicateFrom(store, connect).pipe(toArray()));
    expect(connect).toHaveBeenCalledWith(undefined);
    expect(changes.map((c) => c.type)).toEqual(['reset', 'add', 'ready']);
    expect(changes[0]).toEqual({ type: 'reset', reason: 'storeDiscarded' });
    expect(store.discarded).toBeUndefined();

    // the next subscription resumes: no reset
    const again = await lastValueFrom(
      replicateFrom(store, () =>
        from<SyncMessage[]>([{ type: 'refreshDelete', refreshDone: true, cookie: 'c3' }]),
      ).pipe(toArray()),
    );
    expect(again).toEqual([{ type: 'ready', cookie: 'c3' }]);
  });

  it('never stores a cookie ahead of its entries when the process dies before a batch is written', async () => {
    const store = await openStore();
    /** Forwards the first `alive` batches, then "crashes": later batches are never written. */
    const crashing = (inner: LmdbStore, alive: number): ReplicaStore => {
      let count = 0;
      return withCommit(inner, (b) => (++count <= alive ? inner.commit(b) : new Promise<void>(() => {})));
    };
    const uuids = Array.from(
      { length: 10 },
      (_, i) => `eeeeeeee-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
    );
    const entry = (i: number): Entry => ({ dn: `uid=u${i},dc=example`, attributes: { cn: [`u${i}`] } });
    const messages: SyncMessage[] = [
      ...uuids.slice(0, 4).map((u, i) => add(u, entry(i))),
      { type: 'refreshDelete', refreshDone: true, cookie: 'c1' }, // batch 1: 4 entries + c1
      ...uuids.slice(4).map((u, i) => add(u, entry(i + 4), `c${i + 2}`)), // persist: one batch each
    ];
    const subscription = from(messages)
      .pipe(replicate({ store: crashing(store, 3) }))
      .subscribe();
    subscription.unsubscribe();
    await store.close();

    const after = await openStore();
    // Batches 1-3 landed: 4 + 2 entries, and the cookie of the last batch that landed.
    expect(after.cookie).toBe('c3');
    expect(after.size).toBe(6);
    expect([...after.entryUUIDs()].sort()).toEqual(uuids.slice(0, 6));
  });
});

describe('LmdbStore beforeWrite', () => {
  it('writes each batch only after its barrier resolved, in order; reads see the batch at once', async () => {
    const order: string[] = [];
    let barriers = 0;
    const store = await LmdbStore.open(dir, {
      identity,
      logger,
      beforeWrite: () => {
        const n = ++barriers;
        order.push(`barrier ${n}`);
        // The first barrier resolves later than the second would: batches stay in order anyway.
        return new Promise<void>((resolve) =>
          setTimeout(
            () => {
              order.push(`released ${n}`);
              resolve();
            },
            n === 1 ? 30 : 0,
          ),
        );
      },
    });
    opened.push(store);
    const entry = (cn: string): Entry => ({ dn: `cn=${cn}`, attributes: { cn: [cn] } });
    const one = store.commit({ mutations: new Map([['u1', entry('one')]]), cookie: 'c1' });
    const two = store.commit({ mutations: new Map([['u2', entry('two')]]), cookie: 'c2' });
    expect(store.get('u1')?.dn).toBe('cn=one'); // at once, before any barrier resolved
    void one.then(() => order.push('committed 1'));
    void two.then(() => order.push('committed 2'));
    await Promise.all([one, two]);
    const at = (step: string) => order.indexOf(step);
    // Each batch is written after its barrier resolved; the second barrier is asked for after
    // the first resolved; the batches commit in order.
    expect(at('released 1')).toBeLessThan(at('committed 1'));
    expect(at('released 2')).toBeLessThan(at('committed 2'));
    expect(at('released 1')).toBeLessThan(at('barrier 2'));
    expect(at('committed 1')).toBeLessThan(at('committed 2'));
    expect(order.filter((o) => o.startsWith('barrier'))).toEqual(['barrier 1', 'barrier 2']);
    await store.close();
    const reopened = await openStore();
    expect([reopened.cookie, reopened.size]).toEqual(['c2', 2]);
  });
});

// --- a real crash ---------------------------------------------------------------------------

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const lmdbStoreModule = fileURLToPath(
  new URL('../../../../packages/core/src/stores/lmdb.ts', import.meta.url),
);
const hasTsx = ((): boolean => {
  try {
    createRequire(join(repoRoot, 'package.json')).resolve('tsx');
    return true;
  } catch {
    return false;
  }
})();
const BATCH = 2000;

describe.skipIf(!hasTsx)('LmdbStore under SIGKILL', () => {
  /**
   * A writer process that commits batches b<k> of BATCH entries with cookie c<k>, k = 1, 2, …,
   * keeping two in flight and printing c<k> once batch k is committed, until it is killed (or gives up after 300 batches, so that a writer
   * the test failed to kill cannot fill the disk).
   */
  const writerScript = `
    import { LmdbStore } from ${JSON.stringify(lmdbStoreModule)};
    const store = await LmdbStore.open(process.argv[2], {
      identity: ${JSON.stringify(identity)},
      logger: { info() {}, warn() {} },
    });
    let k = Number((store.cookie ?? 'c0').slice(1));
    process.stdout.write('open\\n');
    for (let n = 0; n < 300; n++) {
      k++;
      const mutations = new Map();
      for (let i = 0; i < ${BATCH}; i++) {
        mutations.set('b' + k + '-' + i, { dn: 'cn=' + k + '-' + i, attributes: { cn: [String(i)], description: ['x'.repeat(300)] } });
      }
      const batch = k;
      const done = store.commit({ mutations, cookie: 'c' + k }).then(() => process.stdout.write('c' + batch + '\\n'));
      if (k % 2 === 0) await done;
    }
    process.exit(3);
  `;

  /**
   * Runs the writer until it has reported `commits` more committed batches, kills it at once
   * (the next batch is in flight then) and answers the last batch it reported committed.
   */
  async function runAndKill(script: string, commits: number): Promise<number> {
    // node itself runs the script (tsx as a loader), so the pid we kill is the writer's.
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let last = 0;
    try {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      let seen = 0;
      let pending = '';
      const reported = new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            if (!/^c\d+$/.test(line)) continue;
            last = Number(line.slice(1));
            if (++seen === commits) {
              child.kill('SIGKILL'); // at once, from the data handler: the next batch is in flight
              resolve();
            }
          }
        }),
      );
      const early = exited.then((code) => {
        throw new Error(`writer exited early (${code}): ${stderr}`);
      });
      early.catch(() => {});
      await Promise.race([reported, early]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    return last;
  }

  it('leaves exactly the batches up to the stored cookie, whole', async () => {
    const script = join(dir, 'writer.mts');
    writeFileSync(script, writerScript);
    let previous = 0;
    for (const commits of [1, 3, 2]) {
      const acknowledged = await runAndKill(script, commits);
      const store = await LmdbStore.open(dir, { identity, logger: { info: () => {}, warn: () => {} } });
      const k = Number((store.cookie ?? 'c0').slice(1));
      // Every batch up to the cookie is there, whole, and nothing of a later one.
      expect(store.size).toBe(k * BATCH);
      for (let j = 1; j <= k; j++) {
        expect(store.has(`b${j}-0`) && store.has(`b${j}-${BATCH - 1}`)).toBe(true);
      }
      expect(store.has(`b${k + 1}-0`)).toBe(false);
      expect(k).toBeGreaterThanOrEqual(acknowledged); // a commit it reported is durable
      expect(acknowledged).toBeGreaterThan(previous);
      previous = k;
      await store.close();
    }
    expect(previous).toBeGreaterThan(0);
  }, 60_000);
});
