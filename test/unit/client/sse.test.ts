import { describe, expect, it } from 'vitest';
import {
  UnauthorizedError,
  eventStream,
  type Connectivity,
  type SseNotice,
} from '../../../packages/client/src/index.js';
import { fakeServer, until } from '../../fixtures/fake-fetch.js';

const FAST = { initialDelay: 1, maxDelay: 5 };

describe('eventStream', () => {
  it('a stream cut mid-way (network error) is a drop: it reconnects with the last id, and does not fail', async () => {
    const server = fakeServer();
    const notices: SseNotice[] = [];
    let failed: unknown;
    const sub = eventStream('http://s.test/realm?subscribe=1', {
      fetch: server.fetch,
      connectivity: null,
      backoff: FAST,
    }).subscribe({ next: (n) => notices.push(n), error: (e: unknown) => (failed = e) });
    await server.request(1);
    server.send('event: ready\nid: c1\ndata: {}\n\n');
    await until(() => notices.some((n) => n.type === 'event'));
    server.cut();
    await server.request(2);
    expect(failed).toBeUndefined();
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c1');
    const dropped = notices.find((n) => n.type === 'dropped');
    expect(dropped).toMatchObject({ type: 'dropped', error: new TypeError('network error') });
    server.send('event: ready\nid: c2\ndata: {}\n\n');
    await until(() => notices.filter((n) => n.type === 'event').length === 2);
    sub.unsubscribe();
  });

  it('sends Last-Event-ID on the FIRST request, and Accept: text/event-stream', async () => {
    const server = fakeServer();
    const sub = eventStream('http://s.test/realm?subscribe=1', {
      fetch: server.fetch,
      lastEventId: 'cookie-1',
      connectivity: null,
    }).subscribe();
    await server.request(1);
    expect(server.requests[0]!.headers).toMatchObject({
      'Last-Event-ID': 'cookie-1',
      Accept: 'text/event-stream',
    });
    expect(server.requests[0]!.url).toBe('http://s.test/realm?subscribe=1');
    sub.unsubscribe();
  });

  it('can send the cookie as the lastEventId query parameter instead, or both', async () => {
    const query = fakeServer();
    const both = fakeServer();
    const a = eventStream('/realm?subscribe=1', {
      fetch: query.fetch,
      lastEventId: 'a b',
      resumeVia: 'query',
      connectivity: null,
    }).subscribe();
    const b = eventStream('http://s.test/realm?subscribe=1&lastEventId=old', {
      fetch: both.fetch,
      lastEventId: 'c1',
      resumeVia: 'both',
      connectivity: null,
    }).subscribe();
    await Promise.all([query.request(1), both.request(1)]);
    expect(query.requests[0]!.url).toBe('/realm?subscribe=1&lastEventId=a+b');
    expect(query.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
    expect(both.requests[0]!.url).toBe('http://s.test/realm?subscribe=1&lastEventId=c1');
    expect(both.requests[0]!.headers['Last-Event-ID']).toBe('c1');
    a.unsubscribe();
    b.unsubscribe();
  });

  it('emits open, then events split across chunks, and reconnects with the last id after the stream ends', async () => {
    const server = fakeServer();
    const notices: SseNotice[] = [];
    const sub = eventStream('http://s.test/s', {
      fetch: server.fetch,
      connectivity: null,
      backoff: FAST,
    }).subscribe((n) => notices.push(n));
    await server.request(1);
    expect(server.requests[0]!.headers['Last-Event-ID']).toBeUndefined();
    server.send('retry: 10\n\nevent: entry\nid: c1\ndata: {"a"');
    server.send(':1}\n\n: heartbeat\n\nevent: reset\ndata: {}\n\n');
    server.end();
    await server.request(2);
    // the reset had no id: the last id is still c1 (WHATWG HTML §9.2.6)
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c1');
    expect(notices.slice(0, 4)).toEqual([
      { type: 'open', lastEventId: undefined },
      { type: 'event', event: { event: 'entry', data: '{"a":1}', id: 'c1' } },
      { type: 'event', event: { event: 'reset', data: '{}', id: undefined } },
      { type: 'dropped', error: undefined },
    ]);
    const reconnect = notices[4] as Extract<SseNotice, { type: 'connecting' }>;
    expect(reconnect.type).toBe('connecting');
    expect(reconnect.delayMs).toBeGreaterThanOrEqual(10); // retry: 10 is the minimum
    sub.unsubscribe();
  });

  it('does not retry a 401: one request, then the Observable errors with UnauthorizedError', async () => {
    const server = fakeServer();
    server.statuses.push(401);
    const error = await new Promise<unknown>((resolve) =>
      eventStream('http://s.test/s', { fetch: server.fetch, connectivity: null, backoff: FAST }).subscribe({
        error: resolve,
      }),
    );
    expect(error).toBeInstanceOf(UnauthorizedError);
    await new Promise((r) => setTimeout(r, 30));
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 503 and reports each failed attempt', async () => {
    const server = fakeServer();
    server.statuses.push(503, 503);
    const notices: SseNotice[] = [];
    const sub = eventStream('http://s.test/s', {
      fetch: server.fetch,
      connectivity: null,
      backoff: FAST,
    }).subscribe((n) => notices.push(n));
    await server.request(3);
    await until(() => notices.some((n) => n.type === 'open'));
    expect(notices.map((n) => n.type)).toEqual(['connecting', 'connecting', 'open']);
    sub.unsubscribe();
  });

  it('rejects a 200 that is not text/event-stream', async () => {
    const error = await new Promise<unknown>((resolve) =>
      eventStream('http://s.test/s', {
        fetch: async () => new Response('[]', { headers: { 'Content-Type': 'application/json' } }),
        connectivity: null,
      }).subscribe({ error: resolve }),
    );
    expect((error as Error).name).toBe('NotAnEventStreamError');
    expect((error as Error).message).toMatch(/application\/json.*subscribe=1/);
  });

  it('makes no request while offline, drops the connection when going offline, resumes on online', async () => {
    let online = false;
    const listeners = new Set<(online: boolean) => void>();
    const connectivity: Connectivity = {
      isOnline: () => online,
      watch: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const setOnline = (value: boolean) => {
      online = value;
      for (const l of listeners) l(value);
    };
    const server = fakeServer();
    const notices: SseNotice[] = [];
    const sub = eventStream('http://s.test/s', {
      fetch: server.fetch,
      connectivity,
      backoff: FAST,
    }).subscribe((n) => notices.push(n));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests).toHaveLength(0);
    expect(notices).toEqual([{ type: 'offline' }]);
    setOnline(true);
    await server.request(1);
    server.send('id: c7\ndata: x\n\n');
    await until(() => notices.some((n) => n.type === 'event'));
    setOnline(false);
    await until(() => notices.filter((n) => n.type === 'offline').length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests).toHaveLength(1);
    setOnline(true);
    await server.request(2);
    expect(server.requests[1]!.headers['Last-Event-ID']).toBe('c7');
    expect(notices.map((n) => n.type)).toEqual([
      'offline',
      'connecting',
      'open',
      'event',
      'dropped',
      'offline',
      'connecting',
    ]);
    sub.unsubscribe();
    expect(listeners.size).toBe(0);
  });

  it('unsubscribing aborts the request in flight', async () => {
    const server = fakeServer();
    let aborted = false;
    const sub = eventStream('http://s.test/s', {
      fetch: (url, init) => {
        init?.signal?.addEventListener('abort', () => (aborted = true));
        return server.fetch(url, init);
      },
      connectivity: null,
    }).subscribe();
    await server.request(1);
    sub.unsubscribe();
    expect(aborted).toBe(true);
  });
});
