/**
 * A lean BER reader for LDAP responses (RFC 4511 §5.1: definite lengths only, no
 * indefinite form). It works on a Buffer window without copying; callers copy what they keep.
 * Every malformation throws MalformedBerError with the offset, never a RangeError or TypeError.
 */
import { MalformedBerError } from '../errors.js';

export class BerReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  peekTag(): number {
    if (this.pos >= this.end) throw new MalformedBerError('unexpected end of data', this.pos);
    return this.buf[this.pos]!;
  }

  /** Reads a tag byte; high-tag-number forms do not occur in LDAP and are rejected. */
  readTag(): number {
    const tag = this.peekTag();
    if ((tag & 0x1f) === 0x1f)
      throw new MalformedBerError('high-tag-number form is not used by LDAP', this.pos);
    this.pos++;
    return tag;
  }

  /** Reads a definite length and checks that the content fits in the enclosing window. */
  readLength(): number {
    const buf = this.buf;
    if (this.pos >= this.end) throw new MalformedBerError('missing length', this.pos);
    let len = buf[this.pos++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0) throw new MalformedBerError('indefinite length is not allowed in LDAP', this.pos - 1);
      if (n > 4) throw new MalformedBerError(`length of ${n} bytes is too large`, this.pos - 1);
      if (this.pos + n > this.end) throw new MalformedBerError('truncated length', this.pos);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[this.pos++]!;
    }
    if (this.pos + len > this.end) {
      throw new MalformedBerError(`length ${len} runs past the end of its container`, this.pos);
    }
    return len;
  }

  /** Reads a tag, checks it, and returns the end offset of its content. */
  enter(expectedTag: number, what: string): number {
    const at = this.pos;
    const tag = this.readTag();
    if (tag !== expectedTag) {
      throw new MalformedBerError(`expected ${what} (tag 0x${hex(expectedTag)}), got tag 0x${hex(tag)}`, at);
    }
    const len = this.readLength();
    return this.pos + len;
  }

  /** Reads an element with the given tag; returns [start, end) of its content. */
  readRaw(expectedTag: number, what: string): [number, number] {
    const end = this.enter(expectedTag, what);
    const start = this.pos;
    this.pos = end;
    return [start, end];
  }

  /** Reads any element; returns its tag and content window. */
  readAny(): { tag: number; start: number; end: number } {
    const tag = this.readTag();
    const len = this.readLength();
    const start = this.pos;
    this.pos += len;
    return { tag, start, end: this.pos };
  }

  readInteger(expectedTag: number, what: string): number {
    const [start, end] = this.readRaw(expectedTag, what);
    const len = end - start;
    if (len < 1 || len > 6) throw new MalformedBerError(`${what} has a length of ${len}`, start);
    let value = this.buf[start]! & 0x80 ? -1 : 0;
    for (let i = start; i < end; i++) value = value * 256 + this.buf[i]!;
    return value;
  }

  readBoolean(expectedTag: number, what: string): boolean {
    const [start, end] = this.readRaw(expectedTag, what);
    if (end - start !== 1) throw new MalformedBerError(`${what} is not one byte`, start);
    return this.buf[start] !== 0;
  }

  /** An OCTET STRING (or a primitive with that tag) read as UTF-8 text. */
  readString(expectedTag: number, what: string): string {
    const [start, end] = this.readRaw(expectedTag, what);
    return this.buf.toString('utf8', start, end);
  }

  /** An OCTET STRING copied out as bytes (the caller may keep it). */
  readBytes(expectedTag: number, what: string): Buffer {
    const [start, end] = this.readRaw(expectedTag, what);
    return Buffer.from(this.buf.subarray(start, end));
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Returns the total length (header + content) of the BER element starting at `offset`, or -1 if
 * the header itself is not complete yet. Used to frame LDAPMessages on a byte stream.
 */
export function elementLength(buf: Buffer, offset: number): number {
  if (buf.length - offset < 2) return -1;
  if (buf[offset] !== 0x30) throw new MalformedBerError('an LDAPMessage must be a SEQUENCE', offset);
  let len = buf[offset + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new MalformedBerError('indefinite length is not allowed in LDAP', offset + 1);
    if (n > 4) throw new MalformedBerError(`length of ${n} bytes is too large`, offset + 1);
    if (buf.length - offset < 2 + n) return -1;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    header += n;
  }
  return header + len;
}
