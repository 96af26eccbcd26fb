/**
 * The server's change log: bounded history, exact cross-instance lookups, crash detection.
 */
import { afterEach, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeLog } from '../../packages/server/src/change-log.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'changelog-'));
  dirs.push(d);
  return d;
}
const entry = { dn: 'cn=a', attributes: { cn: ['a'] } };

test('keeps the last `capacity` changes; a cursor older than that cannot resume', async () => {
  const log = await ChangeLog.open({ capacity: 3 });
  for (let i = 0; i < 5; i++) log.append({ entryUUID: `u${i}`, new: entry });
  expect([log.first, log.last]).toEqual([3, 5]);
  expect(log.canResumeFrom(2)).toBe(true);
  expect(log.canResumeFrom(1)).toBe(false);
  expect(log.canResumeFrom(6)).toBe(false);
  expect(log.get(3)?.entryUUID).toBe('u2');
});

test('an LDAP cookie resolves only when exactly one change carries it', async () => {
  const log = await ChangeLog.open({ capacity: 10 });
  log.append({ entryUUID: 'a', new: entry, ldap: 'c1' });
  log.append({ entryUUID: 'b', new: entry, ldap: 'c2' });
  log.append({ entryUUID: 'c', new: entry, ldap: 'c2' });
  expect(log.seqOfLdapCookie('c1')).toBe(1);
  expect(log.seqOfLdapCookie('c2')).toBeUndefined(); // ambiguous: a reset, never a skip
  expect(log.seqOfLdapCookie('c3')).toBeUndefined();
});

test('a log closed cleanly keeps its history and instance; after a crash it starts a new one', async () => {
  const dir = await tempDir();
  const first = await ChangeLog.open({ capacity: 10, dir });
  first.append({ entryUUID: 'a', new: entry });
  first.append({ entryUUID: 'b', new: entry });
  await first.close();
  const reopened = await ChangeLog.open({ capacity: 10, dir });
  expect(reopened.instance).toBe(first.instance);
  expect([reopened.first, reopened.last]).toEqual([1, 2]);
  reopened.append({ entryUUID: 'c', new: entry });
  // No close(): the process "crashed". Its records and the replica's may disagree now.
  await new Promise((r) => setTimeout(r, 50));
  const afterCrash = await ChangeLog.open({ capacity: 10, dir });
  expect(afterCrash.instance).not.toBe(first.instance);
  expect(afterCrash.last).toBe(0);
  await afterCrash.close();
});
