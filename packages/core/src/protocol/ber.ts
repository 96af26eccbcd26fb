/**
 * The one BER layer (X.690, under the restrictions of RFC 4511 §5.1: definite lengths only, no
 * high-tag-number form) for the wire, the control values and the stores: the universal tags, a
 * reader and a writer.
 *
 * Reading works on a byte window without copying; callers copy what they keep. Every
 * malformation throws MalformedBerError with the offset, never a RangeError or TypeError.
 * Writing always gives the shortest definite lengths.
 */
import { MalformedBerError } from '../errors.js';

// Universal tags (X.680 §8.4) as their first identifier octet; LDAP's own tags live with the
// PDUs (./pdu.ts), the records (./record.ts) and the Sync values (./controls.ts).
export const BOOLEAN = 0x01;
export const INTEGER = 0x02;
export const OCTET_STRING = 0x04;
export const ENUMERATED = 0x0a;
export const SEQUENCE = 0x30;
export const SET = 0x31;

// ---------------------------------------------------------------- reading

/**
 * Reads the definite length at `pos` (just after a tag) and checks that its content fits before
 * `end`. The content starts at `lengthEnd(bytes, pos)`.
 */
export function readLength(bytes: Uint8Array, pos: number, end: number): number {
  if (pos >= end) throw new MalformedBerError('missing length', pos);
  let len = bytes[pos++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new MalformedBerError('indefinite length is not allowed (RFC 4511 §5.1)', pos - 1);
    if (n > 4) throw new MalformedBerError(`a length field of ${n} bytes is too large`, pos - 1);
    if (pos + n > end) throw new MalformedBerError('truncated length', pos - 1);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[pos++]!;
  }
  if (pos + len > end) {
    throw new MalformedBerError(`length ${len} runs past the end of its container`, pos);
  }
  return len;
}

/** The offset just after the (already checked) length field at `pos`. */
export function lengthEnd(bytes: Uint8Array, pos: number): number {
  const first = bytes[pos]!;
  return first < 0x80 ? pos + 1 : pos + 1 + (first & 0x7f);
}

/** One element: its identifier octet, where it starts, and its content window. */
export interface BerElement {
  tag: number;
  /** Offset of the identifier octet, for error messages. */
  at: number;
  start: number;
  end: number;
}

/** The element at `pos` (< `end`), which must fit before `end`. */
export function readElement(bytes: Uint8Array, pos: number, end: number): BerElement {
  const tag = bytes[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new MalformedBerError('high-tag-number form is not used by LDAP', pos);
  const len = readLength(bytes, pos + 1, end);
  const start = lengthEnd(bytes, pos + 1);
  return { tag, at: pos, start, end: start + len };
}

/** A cursor over a window of a Buffer, for structures read front to back. */
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
    const pos = this.pos;
    const first = pos < this.end ? this.buf[pos]! : 0x80; // (a missing length: readLength says so)
    if (first < 0x80 && pos + 1 + first <= this.end) {
      this.pos = pos + 1; // the common case: a short length that fits
      return first;
    }
    const len = readLength(this.buf, pos, this.end);
    this.pos = lengthEnd(this.buf, pos);
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
  if (buf[offset] !== SEQUENCE) throw new MalformedBerError('an LDAPMessage must be a SEQUENCE', offset);
  let len = buf[offset + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new MalformedBerError('indefinite length is not allowed (RFC 4511 §5.1)', offset + 1);
    if (n > 4) throw new MalformedBerError(`a length field of ${n} bytes is too large`, offset + 1);
    if (buf.length - offset < 2 + n) return -1;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    header += n;
  }
  return header + len;
}

// ---------------------------------------------------------------- writing

/** The bytes a definite length takes after the tag. */
export function lengthSize(length: number): number {
  return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
}

/** The size of an element with `length` bytes of content. */
export function elementSize(length: number): number {
  return 1 + lengthSize(length) + length;
}

/** Writes a tag and a definite length at `o` (room checked by the caller); returns the position after them. */
export function writeHeader(b: Uint8Array, o: number, tag: number, length: number): number {
  b[o++] = tag;
  if (length < 0x80) {
    b[o++] = length;
    return o;
  }
  const size = lengthSize(length) - 1;
  b[o++] = 0x80 | size;
  for (let k = size - 1; k >= 0; k--) b[o++] = Math.floor(length / 0x100 ** k) % 0x100;
  return o;
}

/**
 * Builds one BER value front to back into a growing buffer. A constructed element is opened with
 * `start(tag)` and closed with `end()`, which writes its length in the shortest form.
 */
export class BerWriter {
  #buf: Buffer;
  #pos = 0;
  /** Content start of each open constructed element (one length byte reserved before it). */
  readonly #open: number[] = [];

  constructor(size = 256) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  #room(bytes: number): void {
    const need = this.#pos + bytes;
    if (need <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  /** Opens a constructed element. */
  start(tag: number): this {
    this.#room(2);
    this.#buf[this.#pos++] = tag;
    this.#pos++; // the length, when short; `end` makes room for a longer one
    this.#open.push(this.#pos);
    return this;
  }

  /** Closes the innermost open element. */
  end(): this {
    const start = this.#open.pop();
    if (start === undefined) throw new Error('BerWriter.end() without start()');
    const length = this.#pos - start;
    const extra = lengthSize(length) - 1;
    if (extra > 0) {
      this.#room(extra);
      this.#buf.copyWithin(start + extra, start, this.#pos);
      this.#pos += extra;
    }
    writeHeader(this.#buf, start - 2, this.#buf[start - 2]!, length);
    return this;
  }

  /** A primitive element with `content` (bytes, or text written as UTF-8). */
  bytes(tag: number, content: Uint8Array | string): this {
    if (typeof content === 'string') {
      const length = Buffer.byteLength(content, 'utf8');
      this.#room(6 + length);
      this.#pos = writeHeader(this.#buf, this.#pos, tag, length);
      this.#pos += this.#buf.write(content, this.#pos, 'utf8');
    } else {
      this.#room(6 + content.length);
      this.#pos = writeHeader(this.#buf, this.#pos, tag, content.length);
      this.#buf.set(content, this.#pos);
      this.#pos += content.length;
    }
    return this;
  }

  /** An INTEGER (or ENUMERATED, with its tag) in its shortest two's-complement form. */
  integer(value: number, tag = INTEGER): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`Not an integer: ${value}`);
    let size = 1;
    while (size < 7 && (value < -(2 ** (8 * size - 1)) || value >= 2 ** (8 * size - 1))) size++;
    this.#room(2 + size);
    this.#buf[this.#pos++] = tag;
    this.#buf[this.#pos++] = size;
    for (let k = size - 1; k >= 0; k--) {
      this.#buf[this.#pos++] = Math.floor(value / 2 ** (8 * k)) & 0xff;
    }
    return this;
  }

  /** A BOOLEAN: 0xff for TRUE (RFC 4511 §5.1), 0x00 for FALSE. */
  boolean(value: boolean, tag = BOOLEAN): this {
    this.#room(3);
    this.#buf[this.#pos++] = tag;
    this.#buf[this.#pos++] = 1;
    this.#buf[this.#pos++] = value ? 0xff : 0x00;
    return this;
  }

  /** Bytes that already are BER (e.g. an encoded filter), as they are. */
  raw(ber: Uint8Array): this {
    this.#room(ber.length);
    this.#buf.set(ber, this.#pos);
    this.#pos += ber.length;
    return this;
  }

  /** A copy of what was written; every element must be closed. */
  toBuffer(): Buffer {
    if (this.#open.length > 0) throw new Error('BerWriter: an element is still open');
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }
}
