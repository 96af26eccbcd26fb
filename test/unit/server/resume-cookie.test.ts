/**
 * Resume cookies (packages/server/src/resume-cookie.ts, docs/stream-contract.md §K): what a client
 * sends back as Last-Event-ID is size- and character-checked (400), then MAC- and shape-checked
 * (a forged, foreign or damaged cookie is untrusted: a reset, never an error or a crash).
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_RESUME_COOKIE_BYTES,
  ResumeCookieCodec,
  fingerprint,
  type ResumePosition,
} from '../../../packages/server/src/resume-cookie.js';

const SECRET = 'a secret of sixteen characters or more';
const position: ResumePosition = { src: 'S', view: 'V', inst: 'I', seq: 42 };

describe('ResumeCookieCodec', () => {
  it('round-trips a position, and the cookie carries no secret', () => {
    const codec = new ResumeCookieCodec(SECRET);
    const cookie = codec.encode(position);
    expect(codec.parse(cookie)).toEqual({ kind: 'position', position });
    expect(cookie).not.toContain(SECRET);
    expect(Buffer.from(cookie.split('.')[0]!, 'base64url').toString()).not.toContain(SECRET);
  });

  it('no cookie is none; oversized or control characters are malformed (400)', () => {
    const codec = new ResumeCookieCodec(SECRET);
    expect(codec.parse(undefined)).toEqual({ kind: 'none' });
    expect(codec.parse('')).toEqual({ kind: 'none' });
    expect(codec.parse('x'.repeat(MAX_RESUME_COOKIE_BYTES + 1))).toMatchObject({ kind: 'malformed' });
    // 1024 bytes of multi-byte characters is over, though fewer characters
    expect(codec.parse('é'.repeat(MAX_RESUME_COOKIE_BYTES / 2 + 1))).toMatchObject({ kind: 'malformed' });
    for (const c of ['\n', '\r', '\0', '\x1b', '\x7f', '\u0085']) {
      expect(codec.parse(`${codec.encode(position)}${c}`)).toMatchObject({ kind: 'malformed' });
    }
  });

  it('forged, foreign, truncated or re-signed-elsewhere cookies are untrusted, never thrown', () => {
    const codec = new ResumeCookieCodec(SECRET);
    const cookie = codec.encode(position);
    const [payload, mac] = cookie.split('.') as [string, string];
    const other = new ResumeCookieCodec('another secret of sixteen or more');
    const raised = Buffer.from(JSON.stringify({ ...position, seq: 43 })).toString('base64url');
    for (const bad of [
      `${raised}.${mac}`, // payload changed, old MAC
      `${payload}.${mac.slice(0, -2)}`, // MAC cut
      `${payload}.`,
      `.${mac}`,
      payload, // no MAC at all
      other.encode(position), // another directory's secret
      'not-base64!.also-not',
      'a.b.c',
    ]) {
      expect(codec.parse(bad), bad).toEqual({ kind: 'untrusted' });
    }
  });

  it('a correctly signed payload of the wrong shape is untrusted', () => {
    const codec = new ResumeCookieCodec(SECRET);
    for (const shape of [
      { ...position, seq: 1.5 },
      { ...position, seq: '42' },
      { ...position, src: undefined },
      { ...position, pos: 'not a position' },
      [],
      null,
    ]) {
      const cookie = codec.encode(shape as unknown as ResumePosition);
      expect(codec.parse(cookie), JSON.stringify(shape)).toEqual({ kind: 'untrusted' });
    }
  });

  it('a parsed position is frozen: no caller can change what a cached cookie means', () => {
    const codec = new ResumeCookieCodec(SECRET);
    const parsed = codec.parse(codec.encode(position));
    if (parsed.kind !== 'position') throw new Error('expected a position');
    expect(Object.isFrozen(parsed.position)).toBe(true);
    expect(codec.parse(codec.encode(position))).toEqual(parsed);
  });
});

describe('fingerprint', () => {
  it('is short, stable, and differs for different values', () => {
    const a = fingerprint({ base: 'dc=x', filter: '(a=1)' });
    expect(a).toBe(fingerprint({ base: 'dc=x', filter: '(a=1)' }));
    expect(a).not.toBe(fingerprint({ base: 'dc=x', filter: '(a=2)' }));
    expect(a).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });
});
