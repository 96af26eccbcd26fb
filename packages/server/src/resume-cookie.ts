/**
 * Resume cookies: the SSE `id:` of every event (seed 004, "Resuming a dropped stream").
 *
 * A resume cookie is the server's own opaque position for one stream, authenticated with
 * HMAC-SHA256 so that nothing a client sends reaches LDAP or the change log unchecked
 * (DESIGN.md "Words"). It names:
 *   - the source (a fingerprint of the upstream search and the deployment secret),
 *   - the view (resource, route params, filter_* values, authorization scope),
 *   - the change log instance and the sequence number of the last change delivered,
 *   - the LDAP cookie at that change, so another instance replicating the same directory can
 *     find the same position (DESIGN.md "Scale"),
 *   - whether the stream was still replaying the initial state.
 *
 * Format: base64url(JSON payload) "." base64url(first 16 bytes of the HMAC). Printable ASCII,
 * well under the 1024-byte limit for any realistic LDAP cookie.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Seed 004: cookies over 1024 bytes or with control characters get 400. */
export const MAX_RESUME_COOKIE_BYTES = 1024;

export interface ResumePosition {
  /** Source fingerprint. */
  src: string;
  /** View fingerprint. */
  view: string;
  /** Change log instance. */
  inst: string;
  /** Sequence number of the last change delivered (or of the replay snapshot). */
  seq: number;
  /** The LDAP cookie the replica was at after that change, when known. */
  ldap?: string;
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

export class ResumeCookieCodec {
  private readonly key: Buffer;

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
        (p.ldap !== undefined && typeof p.ldap !== 'string')
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
