/**
 * The client in Node, where there is no IndexedDB: the default store falls back to memory and the
 * status says so in words (not a storage-quota error), and the stream still goes live.
 * (No `fake-indexeddb` here, on purpose.)
 */
import { describe, expect, it } from 'vitest';
import { collection, type CollectionStatus } from '../../../packages/client/src/index.js';
import { entry, fakeServer, ready } from '../../fixtures/fake-fetch.js';

describe('the client without IndexedDB', () => {
  it('keeps state in memory and says "no IndexedDB here" instead of a storage error', async () => {
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined');
    // One SSE stream: one entry, then ready; it stays open until aborted.
    const server = fakeServer();
    const c = collection<{ id: string }>('http://s.test/s?subscribe=1', {
      fetch: server.fetch,
      connectivity: null,
    });
    void server
      .request(1)
      .then(() => server.send(entry('present', 1, { id: 'ann', _url: '/s/ann' }) + ready('c1')));
    const statuses: CollectionStatus[] = [];
    c.status$.subscribe((s) => statuses.push(s));
    const live = await new Promise<CollectionStatus>((resolve) =>
      c.status$.subscribe((s) => s.kind === 'live' && resolve(s)),
    );
    expect(live).toEqual({
      kind: 'live',
      local: { kind: 'off', detail: 'no IndexedDB here, state is in memory' },
    });
    expect([...c.getSnapshot().values()].map((b) => b.id)).toEqual(['ann']);
    expect(statuses.some((s) => JSON.stringify(s).includes('storage'))).toBe(false);
    await c.close();
  });
});
