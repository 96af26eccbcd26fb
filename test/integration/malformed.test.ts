/**
 * Bad input from the network: the consumer reports a typed error, closes the socket, and the
 * process goes on. A scripted TCP peer sends what a real server would not.
 */
import { afterEach, expect, test } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import {
  MalformedBerError,
  ProtocolError,
  TimeoutError,
  TlsError,
  InvalidOptionsError,
  memoryCookieStore,
  syncrepl,
  type SyncMessage,
} from '@syncrepl-rx/core';
import {
  bindResponse,
  fakeServer,
  searchDone,
  searchEntry,
  syncStateControl,
  tlv,
  int,
  message,
} from '../fixtures/fake-ldap.js';

const UUID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function against(
  answer: (req: { id: number; tag: number }) => Buffer | undefined,
  chunk = 0,
  timeout = 2000,
) {
  const server = await fakeServer((req) => answer(req), chunk);
  close = server.close;
  const result = await firstValueFrom(
    syncrepl({ url: server.url, base: 'dc=x', mode: 'refreshOnly', timeout }).pipe(toArray()),
  ).then(
    (messages) => ({ messages, error: undefined as unknown }),
    (error: unknown) => ({ messages: [] as SyncMessage[], error }),
  );
  // The consumer closed its socket whatever happened.
  for (let i = 0; i < 100 && server.connections() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(server.connections()).toBe(0);
  return result;
}

const entry = (id: number, n: number) =>
  searchEntry(
    id,
    `cn=e${n},dc=x`,
    { cn: [`e${n}`], blob: [Buffer.from([0xff, 0x00, n])] },
    syncStateControl(1, UUID, `c${n}`),
  );

test('messages split into 1-byte TCP chunks, and many in one chunk, decode the same', async () => {
  const script = (req: { id: number; tag: number }) =>
    req.tag === 0x60
      ? bindResponse(req.id)
      : req.tag === 0x63
        ? Buffer.concat([entry(req.id, 1), entry(req.id, 2), searchDone(req.id, 0, 'final')])
        : undefined;
  const whole = await against(script, 0);
  const bytewise = await against(script, 1);
  expect(whole.error).toBeUndefined();
  expect(bytewise.messages).toEqual(whole.messages);
  expect(whole.messages.map((m) => m.type)).toEqual(['add', 'add', 'done']);
  const first = whole.messages[0];
  if (first?.type !== 'add') throw new Error('expected add');
  expect(first.entryUUID).toBe('01234567-89ab-cdef-0123-456789abcdef');
  expect(first.attributes.blob?.[0]).toEqual(new Uint8Array([0xff, 0x00, 1]));
});

test.each([
  ['garbage instead of a BindResponse', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')],
  ['an indefinite length', Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00])],
  ['a length that runs past its container', tlv(0x30, int(0x02, 1), Buffer.from([0x61, 0x7f, 0x0a]))],
  ['a 2 GiB announced length', Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])],
])('%s is a MalformedBerError', async (_name, bytes) => {
  const r = await against((req) => (req.tag === 0x60 ? bytes : undefined));
  expect(r.error).toBeInstanceOf(MalformedBerError);
  expect((r.error as Error).message).toMatch(/Malformed BER/);
});

test('a syncUUID of 15 bytes is a ProtocolError, not a truncated UUID', async () => {
  const r = await against((req) =>
    req.tag === 0x60
      ? bindResponse(req.id)
      : req.tag === 0x63
        ? searchEntry(req.id, 'cn=a,dc=x', {}, syncStateControl(1, UUID.subarray(0, 15)))
        : undefined,
  );
  expect(r.error).toBeInstanceOf(ProtocolError);
});

test('an entry without a Sync State control is a ProtocolError', async () => {
  const r = await against((req) =>
    req.tag === 0x60
      ? bindResponse(req.id)
      : req.tag === 0x63
        ? message(req.id, tlv(0x64, tlv(0x04, Buffer.from('cn=a')), tlv(0x30)))
        : undefined,
  );
  expect(r.error).toBeInstanceOf(ProtocolError);
});

test('a server that accepts the connection and never answers is a TimeoutError', async () => {
  const t0 = Date.now();
  const r = await against(() => undefined, 0, 300);
  expect(r.error).toBeInstanceOf(TimeoutError);
  expect((r.error as Error).message).toMatch(/within 300 ms while binding/);
  expect(Date.now() - t0).toBeLessThan(2000);
});

test('a cookie that would move a serverID CSN backwards is never passed on or stored', async () => {
  const csn = (t: string, sid: string) => `${t}.000000Z#000000#${sid}#000000`;
  const newer = `rid=000,csn=${csn('20260101000000', '001')};${csn('20260101000000', '002')}`;
  // sid 001 goes back in time while sid 002 moves on: still refused as a whole.
  const older = `rid=000,csn=${csn('20250101000000', '001')};${csn('20270101000000', '002')}`;
  const server = await fakeServer((req) =>
    req.tag === 0x60
      ? bindResponse(req.id)
      : req.tag === 0x63
        ? Buffer.concat([
            searchEntry(req.id, 'cn=a,dc=x', { cn: ['a'] }, syncStateControl(1, UUID, older)),
            searchDone(req.id, 0, older),
          ])
        : undefined,
  );
  close = server.close;
  const store = memoryCookieStore(newer);
  const messages = await firstValueFrom(
    syncrepl({ url: server.url, base: 'dc=x', mode: 'refreshOnly', cookieStore: store }).pipe(toArray()),
  );
  expect(messages.map((m) => m.type)).toEqual(['add', 'done']);
  expect(messages.some((m) => 'cookie' in m && m.cookie !== undefined)).toBe(false);
  await new Promise((r) => setTimeout(r, 20));
  expect(store.cookie).toBe(newer);
});

test('a 2 GiB length header split over two reads is refused at once', async () => {
  const r = await against(
    (req) => (req.tag === 0x60 ? Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01]) : undefined),
    2,
  );
  expect(r.error).toBeInstanceOf(MalformedBerError);
});

test('a refused StartTLS is a TlsError and leaves no socket behind', async () => {
  const server = await fakeServer((req) =>
    req.tag === 0x77 ? message(req.id, tlv(0x78, int(0x0a, 52), tlv(0x04), tlv(0x04))) : undefined,
  );
  close = server.close;
  const err = await firstValueFrom(
    syncrepl({ url: server.url, base: 'dc=x', startTLS: true, timeout: 2000 }).pipe(toArray()),
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TlsError);
  for (let i = 0; i < 100 && server.connections() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(server.connections()).toBe(0);
});

test('credentials put in an LDAP URL never appear in the error', async () => {
  const err = await firstValueFrom(
    syncrepl({ url: 'ldap://cn=admin:Sup3r-Secret@ldap.example.com', base: 'dc=x' }),
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidOptionsError);
  expect((err as Error).message).not.toContain('Sup3r-Secret');
  expect((err as Error).message).toContain('***@');
});
