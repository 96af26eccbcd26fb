/**
 * The wire contract (docs/stream-contract.md) is defined once: packages/server/src/wire.ts and
 * packages/client/src/wire.ts are one file kept twice, because neither package may depend on the
 * other (the client runs in browsers; the server must not pull in IndexedDB code). This test
 * fails when the copies drift, and when either side stops using the shared names.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import * as clientWire from '../../../packages/client/src/wire.js';
import * as serverWire from '../../../packages/server/src/wire.js';
import * as clientConstants from '../../../packages/client/src/constants.js';
import { entryData } from '../../../packages/server/src/view.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(ROOT + path, 'utf8');

test('server and client compile the same wire.ts, byte for byte', () => {
  expect(read('packages/client/src/wire.ts')).toBe(read('packages/server/src/wire.ts'));
  expect(clientWire).toEqual(serverWire);
});

test('the names are the contract of docs/stream-contract.md', () => {
  expect({ ...serverWire }).toEqual({
    LAST_EVENT_ID_HEADER: 'Last-Event-ID',
    RESUME_QUERY_PARAMETER: 'lastEventId',
    EVENT_ENTRY: 'entry',
    EVENT_READY: 'ready',
    EVENT_RESET: 'reset',
    SYNC_OPS: ['present', 'add', 'modify', 'delete'],
  });
  // The client's constants are the wire's, not copies.
  expect(clientConstants.LAST_EVENT_ID_HEADER).toBe(clientWire.LAST_EVENT_ID_HEADER);
  expect(clientConstants.RESUME_QUERY_PARAMETER).toBe(clientWire.RESUME_QUERY_PARAMETER);
  expect([clientConstants.EVENT_ENTRY, clientConstants.EVENT_READY, clientConstants.EVENT_RESET]).toEqual([
    'entry',
    'ready',
    'reset',
  ]);
});

test("the server's entry data has the EntryData fields, in order", () => {
  const data = JSON.parse(
    entryData({ syncOp: 'modify', entryUUID: 'u1', json: '{"id":"a","_url":"/x/a"}' }),
  ) as clientWire.EntryData;
  expect(Object.keys(data)).toEqual(['entryUUID', 'syncOp', 'body']);
  expect(data).toEqual({ entryUUID: 'u1', syncOp: 'modify', body: { id: 'a', _url: '/x/a' } });
});

test('both packages name the wire values through wire.ts, not by literal', () => {
  const server = ['middleware.ts', 'frames.ts', 'resume.ts', 'stream.ts'].map((f) =>
    read(`packages/server/src/${f}`),
  );
  for (const text of server) {
    expect(text).not.toMatch(/frame\('(entry|ready|reset)'/);
    expect(text).not.toContain("'Last-Event-ID'");
    expect(text).not.toContain("= 'lastEventId'");
  }
  expect(read('packages/client/src/sse.ts')).not.toContain("'Last-Event-ID'");
});
