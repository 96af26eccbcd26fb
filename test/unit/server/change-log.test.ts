/**
 * The server's change log: bounded history, directory positions, crash detection.
 */
import { afterEach, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeLog } from '../../../packages/server/src/change-log.js';

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

const csn = (s: number, sid = 1) =>
  `20261205120000.${String(s).padStart(6, '0')}Z#000000#${sid.toString(16).padStart(3, '0')}#000000`.toLowerCase();

test('directory positions: the floor of a new history, floors that eviction carries into the base', async () => {
  const log = await ChangeLog.open({ capacity: 2, base: csn(0) });
  expect(log.floorAt(0)).toBe(csn(0));
  log.append({ entryUUID: 'a', new: entry, csn: csn(1), floor: csn(1) });
  log.append({ entryUUID: 'b', new: entry, csn: csn(2), floor: csn(2) });
  expect([log.floorAt(0), log.floorAt(1), log.floorAt(2)]).toEqual([csn(0), csn(1), csn(2)]);
  log.append({ entryUUID: 'c', new: entry, csn: csn(3), floor: csn(3) });
  // seq 1 left the window: the base is now the floor after it.
  expect(log.first).toBe(2);
  expect(log.floorAt(1)).toBe(csn(1));
  // A cookie without a change of its own raises the newest change's floor.
  log.raiseFloor(csn(4));
  expect(log.floorAt(3)).toBe(csn(4));
});

test('the cover of a new history over a stored replica is unknown until a refresh ends (the replica may be ahead of its cookie)', async () => {
  const log = await ChangeLog.open({ capacity: 10, base: csn(0) });
  expect(log.floorAt(0)).toBe(csn(0));
  expect(log.cover).toBeUndefined();
  log.append({ entryUUID: 'a', new: entry, csn: csn(2), floor: csn(0) });
  log.coverUnknown(csn(3));
  expect(log.cover).toBe(csn(3));
  // An empty history whose refresh ended: the directory at that cookie, floor and cover.
  const empty = await ChangeLog.open({ capacity: 10 });
  empty.raiseFloor(csn(5));
  expect([empty.floorAt(0), empty.cover]).toEqual([csn(5), csn(5)]);
});

test("the cover is an upper bound: a refresh's changes leaving the window carry their CSNs, not the floor from before the refresh", async () => {
  const log = await ChangeLog.open({ capacity: 2 });
  log.raiseFloor(csn(1));
  // A refresh from csn 1: its entries come in no CSN order, with the floor from before it.
  log.append({ entryUUID: 'a', new: entry, csn: csn(7), floor: csn(1) });
  log.append({ entryUUID: 'b', new: entry, csn: csn(4), floor: csn(1) });
  log.append({ entryUUID: 'c', new: entry, csn: csn(5), floor: csn(1) });
  // 'a' left the window: a client at csn 1 lacks it, and no record says so any more.
  expect(log.floorAt(1)).toBe(csn(1));
  expect(log.cover).toBe(csn(7));
  // Several serverIDs: the cover takes each one's newest.
  log.append({ entryUUID: 'd', new: entry, csn: csn(2, 2), floor: csn(1) });
  log.append({ entryUUID: 'e', new: entry, csn: csn(8), floor: csn(8) });
  log.append({ entryUUID: 'f', new: entry, csn: csn(9), floor: csn(9) });
  expect(log.cover).toBe(`${csn(7)};${csn(2, 2)}`);
});

test("a refresh's change of unknown CSN leaving the window makes the cover unknown until a refresh ends", async () => {
  const log = await ChangeLog.open({ capacity: 10, base: csn(0) });
  log.coverUnknown(csn(0));
  log.append({ entryUUID: 'a', new: entry, csn: csn(1), floor: csn(1) });
  log.append({ entryUUID: 'b', old: entry, floor: csn(1) }); // a refresh's delete: no CSN
  log.append({ entryUUID: 'c', new: entry, csn: csn(5), floor: csn(1) });
  log.coverUnknown(csn(6));
  expect(log.get(1)?.upper).toBeUndefined();
  expect(log.get(2)?.upper).toBe(csn(6));
  expect(log.get(3)?.upper).toBeUndefined(); // its own CSN says more

  const small = await ChangeLog.open({ capacity: 1 });
  small.raiseFloor(csn(1));
  small.append({ entryUUID: 'x', old: entry, floor: csn(1) }); // no CSN, refresh not ended
  small.append({ entryUUID: 'y', new: entry, csn: csn(3), floor: csn(1) });
  expect(small.cover).toBeUndefined();
  small.coverUnknown(csn(4));
  expect(small.cover).toBe(csn(4));
});

test('floors and the base survive a clean close', async () => {
  const dir = await tempDir();
  const first = await ChangeLog.open({ capacity: 2, dir, base: csn(0) });
  for (let i = 1; i <= 3; i++) first.append({ entryUUID: `u${i}`, new: entry, csn: csn(i), floor: csn(i) });
  await first.close();
  const reopened = await ChangeLog.open({ capacity: 2, dir });
  expect([reopened.first, reopened.last]).toEqual([2, 3]);
  expect([reopened.floorAt(1), reopened.floorAt(2), reopened.floorAt(3)]).toEqual([csn(1), csn(2), csn(3)]);
  await reopened.close();
});

test('a log closed cleanly keeps its history and instance; after a crash its history goes on under a new instance', async () => {
  const dir = await tempDir();
  const first = await ChangeLog.open({ capacity: 10, dir });
  first.append({ entryUUID: 'a', new: entry });
  first.append({ entryUUID: 'b', new: entry });
  await first.close();
  const reopened = await ChangeLog.open({ capacity: 10, dir });
  expect(reopened.instance).toBe(first.instance);
  expect([reopened.first, reopened.last]).toEqual([1, 2]);
  reopened.append({ entryUUID: 'c', new: entry, csn: csn(3), floor: csn(3) });
  await reopened.flushed();
  // No close(): the process "crashed". Sequence numbers after what was written may have been
  // seen by clients for other changes: a new instance; the records written are kept.
  const afterCrash = await ChangeLog.open({ capacity: 10, dir });
  expect(afterCrash.instance).not.toBe(first.instance);
  expect(afterCrash.last).toBe(3);
  expect(afterCrash.get(3)?.csn).toBe(csn(3));
  expect(afterCrash.canResumeFrom(3)).toBe(true);
  await afterCrash.close();
});

test('after a crash, and with a larger or smaller capacity, the base is the one of the window kept', async () => {
  const dir = await tempDir();
  const log = await ChangeLog.open({ capacity: 2, dir });
  log.raiseFloor(csn(0));
  for (let i = 1; i <= 5; i++) log.append({ entryUUID: `u${i}`, new: entry, csn: csn(i), floor: csn(i) });
  await log.flushed();
  const afterCrash = await ChangeLog.open({ capacity: 2, dir });
  expect([afterCrash.first, afterCrash.last]).toEqual([4, 5]);
  expect([afterCrash.floorAt(3), afterCrash.cover]).toEqual([csn(3), csn(3)]);
  afterCrash.append({ entryUUID: 'u6', new: entry, csn: csn(6), floor: csn(6) });
  await afterCrash.flushed();
  // A larger capacity after a crash: the window is what was kept, with its own base.
  const larger = await ChangeLog.open({ capacity: 10, dir });
  expect([larger.first, larger.last]).toEqual([5, 6]);
  expect([larger.floorAt(4), larger.cover]).toEqual([csn(4), csn(4)]);
  await larger.close();
  // A smaller one: the records beyond it leave the window as they are loaded.
  const smaller = await ChangeLog.open({ capacity: 1, dir });
  expect([smaller.first, smaller.last]).toEqual([6, 6]);
  expect([smaller.floorAt(5), smaller.cover]).toEqual([csn(5), csn(5)]);
  await smaller.close();
});
