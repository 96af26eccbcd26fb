/**
 * The client in Node, where there is no IndexedDB: the default store falls back to memory and the
 * status says so in words (not a storage-quota error), and the stream still goes live.
 * (No `fake-indexeddb` here, on purpose.)
 */
import { describe, expect, it } from 'vitest';
import { collection, type CollectionStatus } from '../../../packages/client/src/index.js';

const UUID = '00000000-0000-4000-8000-000000000001';

/** A fetch answering one SSE stream: one entry, then ready; it stays open until aborted. */
const fetchOnce = async (_url: string, init?: RequestInit): Promise<Response> => {
  const text =
    `event: entry\ndata: ${JSON.stringify({ entryUUID: UUID, syncOp: 'present', body: { id: 'ann', _url: '/s/ann' } })}\n\n` +
    'event: ready\nid: c1\ndata: {}\n\n';
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      c.enqueue(new TextEncoder().encode(text));
      init?.signal?.addEventListener('abort', () => c.error(init.signal?.reason));
    },
  });
  return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
};

describe('the client without IndexedDB', () => {
  it('keeps state in memory and says "no IndexedDB here" instead of a storage error', async () => {
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined');
    const c = collection<{ id: string }>('http://s.test/s?subscribe=1', {
      fetch: fetchOnce,
      connectivity: null,
    });
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
