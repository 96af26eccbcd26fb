/**
 * Where a resumed stream continues (packages/server/src/resume.ts), as pure logic over a change
 * log: the same-instance fast path, catch-ups by directory position, waits and resets. The
 * real-server proofs (several instances, providers, kill -9) are in
 * integration/topology-server.test.ts.
 */
import { expect, test } from 'vitest';
import type { Entry } from '@syncrepl-rx/core';
import { ChangeLog } from '../../../packages/server/src/change-log.js';
import { Frames } from '../../../packages/server/src/frames.js';
import { CompiledResource } from '../../../packages/server/src/resource.js';
import { Resumer } from '../../../packages/server/src/resume.js';
import {
  MAX_RESUME_COOKIE_BYTES,
  ResumeCookieCodec,
  type ResumePosition,
} from '../../../packages/server/src/resume-cookie.js';
import { MAX_POSITION_SIDS, parsePosition } from '../../../packages/server/src/position.js';
import type { Upstream } from '../../../packages/server/src/source.js';
import { View } from '../../../packages/server/src/view.js';

const csn = (t: number, sid: number) =>
  `20261205120000.${String(t).padStart(6, '0')}z#000000#${sid.toString(16).padStart(3, '0')}#000000`;
const pos = (...csns: string[]) => csns.join(';');
const person = (uid: string, description: string, ou = 'people'): Entry => ({
  dn: `uid=${uid},ou=${ou},dc=example`,
  attributes: { uid: [uid], description: [description], ou: [ou] },
});

const resource = new CompiledResource({
  name: 'people',
  source: 'dir',
  path: '/people',
  match: (e) => e.attributes.ou?.[0] === 'people',
  id: (e) => e.attributes.uid?.[0] as string,
  body: (e) => ({ description: e.attributes.description?.[0] }),
});
const view = new View(resource, { params: {}, filters: [] });

/** A source at some position with a log and a replica, as resume.ts sees it. */
async function source(base: string, capacity = 100) {
  // The log of a source whose first refresh ended at `base`.
  const log = await ChangeLog.open({ capacity });
  log.raiseFloor(base);
  const entries = new Map<string, Entry>();
  const upstream = {
    ready: true,
    state: 'live',
    position: parsePosition(base),
    log,
    store: { get: (u: string) => entries.get(u) },
  } as unknown as Upstream & { position: ReturnType<typeof parsePosition> };
  const frames = new Frames(new ResumeCookieCodec('0123456789abcdef-secret'), 'src', upstream);
  const resumer = new Resumer(upstream, frames, 'src');
  /** Applies a change: replica, log and position, as the Upstream does. */
  const change = (entryUUID: string, entry: Entry | undefined, at: string | undefined, floor: string) => {
    const old = entries.get(entryUUID);
    if (entry) entries.set(entryUUID, entry);
    else entries.delete(entryUUID);
    log.append({
      entryUUID,
      ...(old ? { old } : {}),
      ...(entry ? { new: entry } : {}),
      ...(at ? { csn: at } : {}),
      floor,
    });
    upstream.position = parsePosition(floor);
  };
  const at = (p: string, inst = ''): ResumePosition => ({
    src: 'src',
    view: view.fingerprint,
    inst,
    seq: 0,
    pos: p,
  });
  return { log, upstream, resumer, change, at, entries };
}

const events = (d: ReturnType<Resumer['decide']>) =>
  d.kind === 'catchUp'
    ? [...d.catchUp.chunks.join('').matchAll(/data: (.*)/g)].map((m) => {
        const data = JSON.parse(m[1]!) as {
          syncOp: string;
          body: { _url: string; description?: string };
        };
        return `${data.syncOp} ${data.body._url.split('/').pop()} ${data.body.description ?? ''}`.trim();
      })
    : d.kind;

test('a client of another instance gets exactly the entries whose changes its position lacks, then the log', async () => {
  const s = await source(pos(csn(0, 1), csn(0, 2)));
  s.change('u1', person('ann', 'a1'), csn(1, 1), pos(csn(1, 1), csn(0, 2)));
  s.change('u2', person('bob', 'b1'), csn(1, 2), pos(csn(1, 1), csn(1, 2)));
  s.change('u1', person('ann', 'a2'), csn(2, 1), pos(csn(2, 1), csn(1, 2)));
  s.change('u3', person('cy', 'c1'), csn(3, 1), pos(csn(3, 1), csn(1, 2)));
  // The client saw sid 1 up to csn 2 (another provider's order) and nothing of sid 2.
  const d = s.resumer.decide(s.at(pos(csn(2, 1), csn(0, 2))), view);
  expect(d.kind).toBe('catchUp');
  expect(events(d)).toEqual(['add bob b1', 'add cy c1']);
  expect(d.kind === 'catchUp' && d.from).toBe(4);
  // A client that has everything gets nothing but the log's end.
  expect(events(s.resumer.decide(s.at(pos(csn(3, 1), csn(1, 2))), view))).toEqual([]);
});

test("an entry changed after the client's position is sent once, in its current state", async () => {
  const s = await source(pos(csn(0, 1)));
  s.change('u1', person('ann', 'a1'), csn(1, 1), pos(csn(1, 1)));
  s.change('u1', person('ann', 'a2'), csn(2, 1), pos(csn(2, 1)));
  s.change('u1', person('ann', 'a3'), csn(3, 1), pos(csn(3, 1)));
  expect(events(s.resumer.decide(s.at(pos(csn(1, 1))), view))).toEqual(['modify ann a3']);
});

test('deletes, moves out of the view and renames are caught up; an add and delete both missed cost nothing', async () => {
  const s = await source(pos(csn(0, 1)));
  s.change('u1', person('ann', 'a'), csn(1, 1), pos(csn(1, 1)));
  s.change('u2', person('bob', 'b'), csn(2, 1), pos(csn(2, 1)));
  s.change('u3', person('cy', 'c'), csn(3, 1), pos(csn(3, 1)));
  // the client is here
  s.change('u1', undefined, csn(4, 1), pos(csn(4, 1)));
  s.change('u2', person('bob', 'b', 'retired'), csn(5, 1), pos(csn(5, 1)));
  s.change('u3', person('cyrus', 'c'), csn(6, 1), pos(csn(6, 1)));
  s.change('u4', person('dee', 'd'), csn(7, 1), pos(csn(7, 1)));
  s.change('u4', undefined, csn(8, 1), pos(csn(8, 1)));
  expect(events(s.resumer.decide(s.at(pos(csn(3, 1))), view))).toEqual([
    'delete ann',
    'delete bob',
    'delete cy',
    'add cyrus c',
  ]);
});

test("a refresh's change of unknown CSN is sent unless the cookie that ended its refresh is covered", async () => {
  const s = await source(pos(csn(0, 1)));
  s.change('u1', person('ann', 'a'), csn(1, 1), pos(csn(1, 1)));
  s.change('u1', undefined, undefined, pos(csn(1, 1))); // a refresh's delete: no CSN
  expect(events(s.resumer.decide(s.at(pos(csn(1, 1))), view))).toEqual(['delete ann']);
  s.log.coverUnknown(pos(csn(5, 1)));
  s.upstream.position = parsePosition(pos(csn(5, 1)));
  expect(events(s.resumer.decide(s.at(pos(csn(4, 1))), view))).toEqual(['delete ann']);
  expect(events(s.resumer.decide(s.at(pos(csn(5, 1))), view))).toEqual([]);
});

test('waits while the source is not ready or behind the client; resets a client older than the log', async () => {
  const s = await source(pos(csn(5, 1)));
  s.change('u1', person('ann', 'a'), csn(6, 1), pos(csn(6, 1)));
  expect(s.resumer.decide(s.at(pos(csn(7, 1))), view)).toEqual({ kind: 'wait', why: 'behind the client' });
  expect(s.resumer.decide(s.at(pos(csn(6, 1), csn(1, 2))), view)).toEqual({
    kind: 'wait',
    why: 'behind the client',
  });
  expect(s.resumer.decide(s.at(pos(csn(4, 1))), view)).toEqual({ kind: 'replay', reset: true });
  (s.upstream as { ready: boolean }).ready = false;
  expect(s.resumer.decide(s.at(pos(csn(6, 1))), view)).toEqual({ kind: 'wait', why: 'not ready' });
  expect(s.resumer.decide(undefined, view)).toEqual({ kind: 'wait', why: 'not ready' });
});

test("this instance's own position resumes by sequence number; other views, sources and replays reset", async () => {
  const s = await source(pos(csn(0, 1)));
  s.change('u1', person('ann', 'a'), csn(1, 1), pos(csn(1, 1)));
  s.change('u2', person('bob', 'b'), csn(2, 1), pos(csn(2, 1)));
  const own: ResumePosition = { ...s.at(pos(csn(1, 1))), inst: s.log.instance, seq: 1 };
  expect(s.resumer.decide(own, view)).toEqual({ kind: 'resume', from: 1 });
  const reset = { kind: 'replay', reset: true };
  expect(s.resumer.decide({ ...own, src: 'other' }, view)).toEqual(reset);
  expect(s.resumer.decide({ ...own, view: 'other' }, view)).toEqual(reset);
  expect(s.resumer.decide({ ...own, replay: true }, view)).toEqual(reset);
  const { pos: _, ...noPosition } = { ...own, inst: 'gone' };
  expect(s.resumer.decide(noPosition, view)).toEqual(reset);
});

test('clients at the same position share one catch-up', async () => {
  const s = await source(pos(csn(0, 1)));
  for (let i = 1; i <= 50; i++) s.change(`u${i}`, person(`p${i}`, 'x'), csn(i, 1), pos(csn(i, 1)));
  const a = s.resumer.decide(s.at(pos(csn(10, 1))), view);
  const b = s.resumer.decide(s.at(pos(csn(10, 1))), view);
  expect(a.kind === 'catchUp' && a.catchUp.events).toBe(40);
  expect(a.kind === 'catchUp' && [...a.catchUp.counts]).toEqual([['add', 40]]);
  expect(a.kind === 'catchUp' && b.kind === 'catchUp' && a.catchUp === b.catchUp).toBe(true);
});

test('a resume cookie with the most serverIDs a position may hold stays within the 1024 bytes of docs/stream-contract.md §K4; more are not carried', async () => {
  const codec = new ResumeCookieCodec('0123456789abcdef-secret');
  const sids = Array.from({ length: MAX_POSITION_SIDS }, (_, i) => csn(999_999, 0xff0 + i));
  const cookie = codec.encode({
    src: 'AAAAAAAAAAAA',
    view: 'BBBBBBBBBBBB',
    inst: 'CCCCCCCCCCCC',
    seq: 2 ** 40,
    pos: pos(...sids),
  });
  expect(Buffer.byteLength(cookie)).toBeLessThanOrEqual(MAX_RESUME_COOKIE_BYTES);
  expect(codec.parse(cookie)).toMatchObject({ kind: 'position', position: { pos: pos(...sids) } });
  expect(parsePosition(pos(...sids, csn(1, 0xfff)))).toBeUndefined();
  // What a client sends is checked: a position that is not CSNs, even signed, is not trusted.
  expect(
    codec.parse(codec.encode({ src: 's', view: 'v', inst: '', seq: 0, pos: 'rid=001,csn=x' })).kind,
  ).toBe('untrusted');
  const s = await source(pos(csn(0, 1)));
  s.change('u1', person('ann', 'a'), csn(1, 1), pos(...sids, csn(1, 0xfff)));
  const frames = new Frames(codec, 'src', s.upstream);
  const payload = (c: string) =>
    JSON.parse(Buffer.from(c.split('.')[0]!, 'base64url').toString()) as ResumePosition;
  expect(payload(frames.cookie(view, 1, false)).pos).toBeUndefined();
  expect(payload(frames.cookie(view, 0, false)).pos).toBe(pos(csn(0, 1)));
});

test('a verified cookie is remembered by its exact text: a forged variant of it is still untrusted', () => {
  const codec = new ResumeCookieCodec('0123456789abcdef-secret');
  const cookie = codec.encode({
    src: 's',
    view: 'v',
    inst: 'i',
    seq: 7,
    pos: '20261205000000.000000z#000000#001#000000',
  });
  const first = codec.parse(cookie);
  expect(first.kind).toBe('position');
  expect(codec.parse(cookie)).toBe(first); // the second parse is the remembered result
  expect(first.kind === 'position' && Object.isFrozen(first.position)).toBe(true);
  const [payload, mac] = cookie.split('.') as [string, string];
  const forged = Buffer.from(
    JSON.stringify({
      src: 's',
      view: 'v',
      inst: 'i',
      seq: 8,
      pos: '20261205000000.000000z#000000#001#000000',
    }),
  ).toString('base64url');
  expect(codec.parse(`${forged}.${mac}`)).toEqual({ kind: 'untrusted' });
  expect(codec.parse(`${payload}.${mac.slice(1)}A`)).toEqual({ kind: 'untrusted' });
  expect(new ResumeCookieCodec('another-secret-0123456789').parse(cookie)).toEqual({ kind: 'untrusted' });
});

test('a client whose position covers the floor before the window but not a change that left it gets a reset, not a catch-up that misses it', async () => {
  const s = await source(pos(csn(1, 1)), 2);
  // A refresh from csn 1 logs its entries in no CSN order, each with the floor from before it.
  s.change('u1', person('ann', 'a1'), csn(9, 1), pos(csn(1, 1)));
  s.change('u2', person('bob', 'b1'), csn(3, 1), pos(csn(1, 1)));
  s.change('u3', person('cy', 'c1'), csn(4, 1), pos(csn(9, 1)));
  // ann's change left the window; the floor before the window is still csn 1.
  expect(s.log.floorAt(s.log.first - 1)).toBe(pos(csn(1, 1)));
  expect(s.resumer.decide(s.at(pos(csn(1, 1))), view)).toEqual({ kind: 'replay', reset: true });
  // A client that has ann's change is caught up with what it lacks.
  expect(events(s.resumer.decide(s.at(pos(csn(9, 1))), view))).toEqual([]);
});

test('a large catch-up is written in chunks of about 64 KB (under backpressure), holding every event once', async () => {
  const s = await source(pos(csn(0, 1)), 400);
  const long = 'x'.repeat(1000);
  for (let i = 1; i <= 300; i++) s.change(`u${i}`, person(`p${i}`, long), csn(i, 1), pos(csn(i, 1)));
  const d = s.resumer.decide(s.at(pos(csn(0, 1))), view);
  if (d.kind !== 'catchUp') throw new Error(`expected a catch-up, got ${d.kind}`);
  expect(d.catchUp.chunks.length).toBeGreaterThan(3);
  for (const chunk of d.catchUp.chunks) expect(chunk.length).toBeLessThan(64 * 1024 + 2000);
  expect(d.catchUp.chunks.join('').match(/^event: entry$/gm)?.length).toBe(300);
  expect(d.catchUp.events).toBe(300);
});
