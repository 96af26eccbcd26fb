import { Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { writeBehind } from '../../../packages/client/src/write-behind.js';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('writeBehind (marbles)', () => {
  it('writes one batch per burst, delayMs after its first item', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-ab------c-----|');
      const subs = '      ^--------------!';
      const writes: string[] = [];
      const written = source.pipe(
        writeBehind({
          createBatch: () => [] as string[],
          add: (batch, item) => batch.push(item),
          write: (batch) => {
            writes.push(batch.join(''));
            return cold('---(x|)', { x: batch.join('') });
          },
          delayMs: 2,
        }),
      );
      // a@1 opens a batch written at 3 (done at 6); c@9 one written at 11 (done at 14)
      expectObservable(written).toBe('------x-------y|', { x: 'ab', y: 'c' });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('collects items while a write is in flight and writes them as soon as it completes', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a--bcd------|');
      const written = source.pipe(
        writeBehind({
          createBatch: () => [] as string[],
          add: (batch, item) => batch.push(item),
          write: (batch) => cold('---(x|)', { x: batch.join('') }),
          delayMs: 2,
        }),
      );
      // a written at 3..6; b, c, d arrive meanwhile: one batch written at 6..9
      expectObservable(written).toBe('------x--y---|', { x: 'a', y: 'bcd' });
    });
  });

  it('coalesces by key within a batch (later items replace earlier ones)', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-abAB-|');
      const written = source.pipe(
        writeBehind({
          createBatch: () => new Map<string, string>(),
          add: (batch, item) => batch.set(item.toLowerCase(), item),
          write: (batch) => cold('-(x|)', { x: [...batch.values()].join('') }),
          delayMs: 4,
        }),
      );
      expectObservable(written).toBe('------(x|)', { x: 'AB' });
    });
  });

  it('flushes at once when the source completes, and completes after the last write', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a|');
      const written = source.pipe(
        writeBehind({
          createBatch: () => [] as string[],
          add: (batch, item) => batch.push(item),
          write: (batch) => cold('---(x|)', { x: batch.join('') }),
          delayMs: 100,
        }),
      );
      expectObservable(written).toBe('-----(x|)', { x: 'a' });
    });
  });

  it('completes at once for an empty source, and waits for an in-flight write on completion', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const add = (batch: string[], item: string) => void batch.push(item);
      const write = (batch: string[]) => cold('---(x|)', { x: batch.join('') });
      expectObservable(cold('|').pipe(writeBehind({ createBatch: () => [], add, write, delayMs: 1 }))).toBe(
        '|',
      );
      // a written at 2..5; the source completes at 3; b (at 3) is flushed right after, at 5..8
      expectObservable(
        hot('-a-(b|)').pipe(writeBehind({ createBatch: () => [] as string[], add, write, delayMs: 1 })),
      ).toBe('-----x--(y|)', { x: 'a', y: 'b' });
    });
  });

  it('errors when a write errors, and when the source errors', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const add = (batch: string[], item: string) => void batch.push(item);
      expectObservable(
        hot('-a---b-|').pipe(
          writeBehind({
            createBatch: () => [] as string[],
            add,
            write: () => cold('--#', {}, 'quota'),
            delayMs: 1,
          }),
        ),
      ).toBe('----#', {}, 'quota');
      expectObservable(
        hot('-a-#').pipe(
          writeBehind({
            createBatch: () => [] as string[],
            add,
            write: (b) => cold('-(x|)', { x: b }),
            delayMs: 5,
          }),
        ),
      ).toBe('---#');
    });
  });

  it('an early unsubscribe cancels the pending timer and the write in flight', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-ab--c---|');
      const write = cold('----(x|)', { x: 'w' });
      const written = source.pipe(
        writeBehind({
          createBatch: () => [] as string[],
          add: (b, i) => void b.push(i),
          write: () => write,
          delayMs: 1,
        }),
      );
      expectObservable(written, '^---!').toBe('-----');
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(write.subscriptions).toBe('--^-!');
    });
  });

  it('works with a synchronous source and take(n), and with writes that complete synchronously', async () => {
    const subject = new Subject<string>();
    const results: string[] = [];
    const done = new Promise<void>((resolve) =>
      subject
        .pipe(
          writeBehind({
            createBatch: () => [] as string[],
            add: (b, i) => void b.push(i),
            write: (b) => [b.join('')],
            delayMs: 0,
          }),
          take(2),
        )
        .subscribe({ next: (r) => results.push(r), complete: resolve }),
    );
    subject.next('a');
    subject.next('b');
    await new Promise((r) => setTimeout(r, 5));
    subject.next('c');
    await new Promise((r) => setTimeout(r, 5));
    subject.next('d');
    await done;
    expect(results).toEqual(['ab', 'c']);
  });

  it('is re-entrant: an item pushed from inside a write goes into the next batch', async () => {
    const subject = new Subject<string>();
    const batches: string[] = [];
    const done = new Promise<void>((resolve) =>
      subject
        .pipe(
          writeBehind({
            createBatch: () => [] as string[],
            add: (b, i) => void b.push(i),
            write: (b) => {
              batches.push(b.join(''));
              if (b[0] === 'a') subject.next('z');
              return Promise.resolve(b.length);
            },
            delayMs: 0,
          }),
        )
        .subscribe({ complete: resolve }),
    );
    subject.next('a');
    await new Promise((r) => setTimeout(r, 10));
    subject.complete();
    await done;
    expect(batches).toEqual(['a', 'z']);
  });
});
