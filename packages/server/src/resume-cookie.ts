/**
 * Resume cookies: the SSE `id:` of every event (docs/stream-contract.md §K).
 *
 * A resume cookie is the server's own opaque position for one stream, authenticated with
 * HMAC-SHA256 so that nothing a client sends reaches LDAP or the change log unchecked
 * (docs/design.md "Words"). It names:
 *   - the source (a fingerprint of the upstream search's view: bind DN, base, scope, filter,
 *     attributes; the cookie's MAC is what ties it to the deployment's secret),
 *   - the view (resource, route params, filter_* values, authorization scope),
 *   - the change log instance and the sequence number of the last change delivered: this
 *     instance's fast path,
 *   - the directory position at that change (its CSN set, see position.ts), the same on every
 *     instance, provider and replica: any instance with the same secret that follows the same
 *     directory view continues from it, also after a crash (resume.ts),
 *   - whether the stream was still replaying the initial state.
 *
 * Format: base64url(JSON payload) "." base64url(first 16 bytes of the HMAC). Printable ASCII:
 * with the 16 serverIDs a position may hold at most, about 1,000 bytes; 2 serverIDs take ~260.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parsePosition } from './position.js';

/** Cookies over 1024 bytes or with control characters get 400 (docs/stream-contract.md §K4). */
export const MAX_RESUME_COOKIE_BYTES = 1024;

export interface ResumePosition {
  /** Source fingerprint. */
  src: string;
  /** View fingerprint. */
  view: string;
  /** Change log instance; empty for a position in the directory alone (a catch-up's events). */
  inst: string;
  /** Sequence number of the last change delivered (or of the replay snapshot). */
  seq: number;
  /** The directory position (formatted, see position.ts) the stream's state covers, when known. */
  pos?: string;
  /** Set on events of the initial replay: resuming from one means replaying again. */
  replay?: true;
}

export type ParsedResumeCookie =
  | { kind: 'none' }
  /** Over 1024 bytes or with control characters: the request gets 400. */
  | { kind: 'malformed'; reason: string }
  /** Well-formed but not ours, tampered with, or unreadable: a reset and full replay. */
  | { kind: 'untrusted' }
  | { kind: 'position'; position: ResumePosition };

/** Verified cookies remembered: the clients of a dead instance arrive with a few ids between them. */
const VERIFIED_CACHE = 1024;

export class ResumeCookieCodec {
  private readonly key: Buffer;
  /** Cookies that passed every check, by their exact text (a cookie's text fixes its result). */
  private readonly verified = new Map<string, ParsedResumeCookie>();

  constructor(secret: string | Uint8Array) {
    // Derive a dedicated key so the configured secret is never used directly.
    this.key = createHash('sha256').update('syncrepl-rx resume cookie v1\0').update(secret).digest();
  }

  encode(position: ResumePosition): string {
    const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** Checks size and characters first (400), then the MAC and shape (reset if wrong). */
  parse(raw: string | undefined): ParsedResumeCookie {
    if (raw === undefined || raw === '') return { kind: 'none' };
    if (Buffer.byteLength(raw) > MAX_RESUME_COOKIE_BYTES) {
      return { kind: 'malformed', reason: `longer than ${MAX_RESUME_COOKIE_BYTES} bytes` };
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(raw))
      return { kind: 'malformed', reason: 'contains control characters' };
    const known = this.verified.get(raw);
    if (known) return known;
    const parsed = this.verify(raw);
    if (parsed.kind === 'position') {
      Object.freeze(parsed.position);
      if (this.verified.size >= VERIFIED_CACHE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(raw, parsed);
    }
    return parsed;
  }

  /** The MAC and the payload's shape. */
  private verify(raw: string): ParsedResumeCookie {
    const dot = raw.indexOf('.');
    if (dot <= 0) return { kind: 'untrusted' };
    const payload = raw.slice(0, dot);
    const given = Buffer.from(raw.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { kind: 'untrusted' };
    try {
      const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<ResumePosition>;
      if (
        typeof p.src !== 'string' ||
        typeof p.view !== 'string' ||
        typeof p.inst !== 'string' ||
        typeof p.seq !== 'number' ||
        !Number.isSafeInteger(p.seq) ||
        (p.pos !== undefined && (typeof p.pos !== 'string' || parsePosition(p.pos) === undefined))
      ) {
        return { kind: 'untrusted' };
      }
      return { kind: 'position', position: p as ResumePosition };
    } catch {
      return { kind: 'untrusted' };
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, 16).toString('base64url');
  }
}

/** A short, stable fingerprint of anything JSON-serialisable. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest().subarray(0, 9).toString('base64url');
}
