/**
 * What tabs say to each other (packages/client/src/tab-messages.ts), alone: statuses survive the
 * structured clone of a BroadcastChannel as plain data (an Error subclass would not), and
 * positions compare by value (SPEC.md M2, M3).
 */
import { describe, expect, it } from 'vitest';
import { UnauthorizedError, type LeaderStatus } from '../../../packages/client/src/index.js';
import { EMPTY_POSITION, fromWire, samePosition, toWire } from '../../../packages/client/src/tab-messages.js';

/** Through a structured clone, as a BroadcastChannel passes it. */
const overTheChannel = (status: LeaderStatus) => fromWire(structuredClone(toWire(status)));

describe('tab messages', () => {
  it('every leader status crosses the channel as itself; errors keep their name and message', () => {
    const plain: LeaderStatus[] = [
      { kind: 'live' },
      { kind: 'offline' },
      { kind: 'replaying', full: true },
      { kind: 'replaying', full: false },
      { kind: 'connecting', attempt: 3, retryInMs: 800, lastError: undefined },
    ];
    for (const status of plain) expect(overTheChannel(status)).toEqual(status);

    const failed = overTheChannel({
      kind: 'error',
      error: new UnauthorizedError('http://s.test/x', 'no token'),
    });
    expect(failed.kind).toBe('error');
    const error = (failed as Extract<LeaderStatus, { kind: 'error' }>).error;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('UnauthorizedError');
    expect(error.message).toContain('401');

    const retrying = overTheChannel({
      kind: 'connecting',
      attempt: 1,
      retryInMs: 5,
      lastError: 'socket hang up',
    });
    expect(retrying).toMatchObject({ kind: 'connecting', attempt: 1, retryInMs: 5 });
    const lastError = (retrying as Extract<LeaderStatus, { kind: 'connecting' }>).lastError as Error;
    expect([lastError.name, lastError.message]).toEqual(['Error', 'socket hang up']);
  });

  it('positions are the same by epoch and seq; an unknown position is the same as none', () => {
    expect(samePosition({ epoch: 'e', seq: 2 }, { epoch: 'e', seq: 2 })).toBe(true);
    expect(samePosition({ epoch: 'e', seq: 2 }, { epoch: 'e', seq: 3 })).toBe(false);
    expect(samePosition({ epoch: 'e', seq: 0 }, EMPTY_POSITION)).toBe(false);
    expect(samePosition({ epoch: '', seq: 0 }, EMPTY_POSITION)).toBe(true);
    expect(samePosition(undefined, undefined)).toBe(false);
    expect(samePosition(EMPTY_POSITION, undefined)).toBe(false);
  });
});
