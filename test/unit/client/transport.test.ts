/**
 * The transport part of a collection alone (packages/client/src/transport.ts): a fake server
 * behind fetch; what goes out (the cookie of each connect, T1) and what comes back (wire events,
 * connection states as the status machine takes them, and the failure that ends it, T3).
 */
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../../packages/client/src/index.js';
import { transport, type TransportNotice } from '../../../packages/client/src/transport.js';
import { fakeServer, until } from '../../fixtures/fake-fetch.js';

const URL_ = 'http://s.test/realm/r1/subscriber?subscribe=1';

function setup() {
  const server = fakeServer();
  const notices: TransportNotice[] = [];
  const link = transport(
    URL_,
    { fetch: server.fetch, connectivity: null, backoff: { initialDelay: 1, maxDelay: 5 } },
    (n) => notices.push(n),
  );
  return { server, notices, link, types: () => notices.map((n) => n.type) };
}

describe('transport', () => {
  it('connects with the given cookie, reports open (resumed), events, and a drop then a reconnect with the last id: (T1)', async () => {
    const { server, notices, link, types } = setup();
    link.connect('c0');
    await until(() => types().includes('open'));
    expect(server.requests[0]!.headers['Last-Event-ID']).toBe('c0');
    expect(notices[0]).toEqual({ type: 'open', resumed: true });
    server.send('event: entry\nid: c1\ndata: {"x":1}\n\n');
    await until(() => types().includes('event'));
    expect(notices[1]).toEqual({ type: 'event', event: { event: 'entry', data: '{"x":1}', id: 'c1' } });
    server.end();
    await until(() => server.requests.length === 2 && types().filter((t) => t === 'open').length === 2);
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c1');
    expect(types().slice(2)).toEqual(['dropped', 'connecting', 'open']);
    const connecting = notices[3] as Extract<TransportNotice, { type: 'connecting' }>;
    expect(connecting).toMatchObject({ attempt: 0, error: undefined });
    expect(typeof connecting.retryInMs).toBe('number');
    link.disconnect();
  });

  it('without a cookie the request carries none and open says not resumed', async () => {
    const { server, notices, link } = setup();
    link.connect(undefined);
    await until(() => notices.length > 0);
    expect(server.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
    expect(notices[0]).toEqual({ type: 'open', resumed: false });
    link.disconnect();
  });

  it('a 401 is failed, once, not retried (T3)', async () => {
    const { server, notices, link } = setup();
    server.statuses.push(401);
    link.connect('c0');
    await until(() => notices.length > 0);
    expect(notices).toEqual([{ type: 'failed', error: expect.any(UnauthorizedError) as unknown }]);
    expect(server.requests).toHaveLength(1);
  });

  it('connect() again drops the current connection first; disconnect() aborts it (T5)', async () => {
    const { server, notices, link } = setup();
    link.connect('c0');
    await until(() => notices.length === 1);
    link.connect('c5');
    await until(() => notices.length === 2);
    expect(server.requests[0]!.aborted()).toBe(true);
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c5');
    link.disconnect();
    expect(server.requests[1]!.aborted()).toBe(true);
    // The connection connect() replaced reports nothing more (no drop, no reconnect).
    expect(notices.map((n) => n.type)).toEqual(['open', 'open']);
  });
});
