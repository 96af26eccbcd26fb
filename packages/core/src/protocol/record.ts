/**
 * Records: the compact form in which replicas keep an entry.
 *
 * A record is a latin1 string (one character per byte, which V8 stores flat and never looks
 * into), about the size of the entry's DN and values:
 *
 *   varint dnLength, dn                          (UTF-8)
 *   then per attribute, to the end:
 *     varint name      k > 0: `RECORD_NAMES.names[k - 1]` (./attributes.ts); 0: varint nameLength, name
 *     varint count
 *     count × (varint length·2 + bytes, value)
 *
 * with LEB128 varints (7 bits a byte, low group first). A value with bytes = 1 is bytes; with 0
 * it is text when it is valid UTF-8, else bytes: the wire's rule for an attribute not in
 * `binaryAttributes`. A 13-attribute person entry takes 239 bytes, against 396 in BER, which
 * spends more on tags, lengths and attribute names than on values.
 *
 * Name numbers index this process's table of attribute names (append-only), so a record does
 * not leave the process as it is: a persistent store keeps the BER form instead, the content of
 * an LDAP SearchResultEntry with values that are bytes tagged [0] (`recordToBer`, `berToRecord`).
 *
 * The wire decoder writes records straight from the PDU (`scanEntry` in ./pdu.ts), so keeping an
 * entry from the wire is a copy, not an encode. Both directions here work on bytes in one scratch
 * buffer: reading a string character by character is slow, while writing a string into a buffer
 * and slicing one out are each a single native call.
 */
import {
  RECORD_NAMES,
  decodeValue,
  latin1,
  setOwn,
  utf8,
  valuesOf,
  type AttributeValue,
  type Attributes,
} from './attributes.js';
import { BerReader, OCTET_STRING, SEQUENCE, SET, elementSize, lengthSize, writeHeader } from './ber.js';

/** In a record's BER form, the tag of a value that is bytes ([0]); a text value is an OCTET STRING. */
export const BYTES = 0x80;

/** A record or its BER form that cannot be read. */
export class RecordError extends Error {
  constructor(reason: string) {
    super(`Not an entry record: ${reason}.`);
    this.name = 'RecordError';
  }
}

// ---------------------------------------------------------------- scratch and varints

/** Scratch space for one record; grown for a huge one, and shrunk back after it. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * Where records are written before they become strings. Each wire decoder owns one (./pdu.ts);
 * `berToRecord` and `recordToBer`, the stores' side, share `storeScratch`.
 */
export class RecordScratch {
  private buf = Buffer.allocUnsafeSlow(SCRATCH_BYTES);

  /** The scratch buffer, at least `bytes` long; when it grows, its first `keep` bytes move along. */
  room(bytes: number, keep = 0): Buffer {
    if (this.buf.length < bytes) {
      const grown = Buffer.allocUnsafeSlow(bytes);
      this.buf.copy(grown, 0, 0, keep);
      this.buf = grown;
    }
    return this.buf;
  }

  /** buf[start, end) as a string; the scratch buffer is then free again. */
  take(start: number, end: number): string {
    const text = latin1(this.buf, start, end);
    if (this.buf.length > SCRATCH_BYTES) this.buf = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    return text;
  }
}

const storeScratch = new RecordScratch();

/** Writes a varint at `o`; returns the position after it. */
export function writeVarint(b: Buffer, o: number, value: number): number {
  while (value >= 0x80) {
    b[o++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  b[o++] = value;
  return o;
}

/** The bytes `value` takes as a varint. */
function varintLength(value: number): number {
  let size = 1;
  for (; value >= 0x80; size++) value = Math.floor(value / 0x80);
  return size;
}

/** Copies from[s, e) to b at `o`; returns the position after it. */
export function copyBytes(b: Buffer, o: number, from: Buffer, s: number, e: number): number {
  if (e - s > 32) return o + from.copy(b, o, s, e);
  while (s < e) b[o++] = from[s++]!;
  return o;
}

/**
 * Puts `count` at `at`, where one byte was reserved for it, moving b[at + 1, end) along when it
 * needs more; returns the new end.
 */
export function placeCount(b: Buffer, at: number, end: number, count: number): number {
  if (count < 0x80) {
    b[at] = count;
    return end;
  }
  const size = varintLength(count);
  b.copyWithin(at + size, at + 1, end);
  writeVarint(b, at, count);
  return end + size - 1;
}

/**
 * Reads a record where it lives, a one-byte string (one character per byte), checking every
 * bound. Reading it in place costs no copy: most values are ASCII, and an ASCII value is the
 * record's own characters (`slice`, which V8 answers with a view of the record for longer ones);
 * only other values go through bytes.
 */
class Reader {
  at = 0;
  constructor(readonly s: string) {}

  varint(): number {
    const { s } = this;
    // The common case first: a number under 128, one byte.
    const first = s.charCodeAt(this.at);
    if (first < 0x80) {
      this.at++;
      return first;
    }
    let value = 0;
    let scale = 1;
    for (let k = 0; k < 5; k++) {
      if (this.at >= s.length) throw new RecordError('it ends inside a number');
      const byte = s.charCodeAt(this.at++);
      if (byte > 0xff) throw new RecordError('it is not a byte string');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new RecordError('a number is too long');
  }

  /** Skips `length` bytes and returns where they start. */
  skip(length: number): number {
    const start = this.at;
    if (length > this.s.length - start) throw new RecordError(`${length} bytes at ${start} run past the end`);
    this.at += length;
    return start;
  }

  /** Text [start, end): UTF-8 bytes, as a string. */
  text(start: number, end: number): string {
    return this.ascii(start, end) ? this.s.slice(start, end) : utf8(this.bytes(start, end), 0, end - start);
  }

  /** A value [start, end): text when it is ASCII, else as decodeValue reads its bytes. */
  value(start: number, end: number, binary: boolean): AttributeValue {
    if (!binary && this.ascii(start, end)) return this.s.slice(start, end);
    return decodeValue(this.bytes(start, end), 0, end - start, binary);
  }

  /** The name of the attribute reference that follows: [name, lower-case name]. */
  name(): [string, string] {
    const number = this.varint();
    if (number > 0) {
      const an = RECORD_NAMES.names[number - 1];
      if (an === undefined) throw new RecordError(`attribute name ${number} is unknown`);
      return [an.name, an.lower];
    }
    const length = this.varint();
    const start = this.skip(length);
    const name = this.text(start, start + length);
    return [name, name.toLowerCase()];
  }

  private ascii(start: number, end: number): boolean {
    const { s } = this;
    let i = start;
    while (i < end && s.charCodeAt(i) < 0x80) i++;
    return i === end;
  }

  private bytes(start: number, end: number): Buffer {
    // latin1 would keep the low byte of a wider character: a record is one byte per character.
    for (let i = start; i < end; i++)
      if (this.s.charCodeAt(i) > 0xff) throw new RecordError('it is not a byte string');
    return Buffer.from(this.s.slice(start, end), 'latin1');
  }
}

// ---------------------------------------------------------------- reading

/** The entry a record holds. Throws RecordError when it is not a record. */
export function decodeRecord(record: string): { dn: string; attributes: Attributes } {
  const r = new Reader(record);
  const dnLength = r.varint();
  const dnStart = r.skip(dnLength);
  const dn = r.text(dnStart, dnStart + dnLength);
  const attributes: Attributes = {};
  const lowers: string[] = [];
  while (r.at < record.length) {
    const [name, lower] = r.name();
    let values = valuesOf(attributes, name, lower, lowers);
    for (let count = r.varint(); count > 0; count--) {
      const tagged = r.varint();
      const length = Math.floor(tagged / 2);
      const start = r.skip(length);
      const value = r.value(start, start + length, tagged % 2 === 1);
      if (values === undefined) setOwn(attributes, name, (values = [value]));
      else values.push(value);
    }
    if (values === undefined) setOwn<AttributeValue[]>(attributes, name, []);
  }
  return { dn, attributes };
}

/** Only the DN of a record. Throws RecordError when it does not start like one. */
export function recordDn(record: string): string {
  const r = new Reader(record);
  const length = r.varint();
  const start = r.skip(length);
  return r.text(start, start + length);
}

// ---------------------------------------------------------------- the BER form

/**
 * The record of an entry in BER form: OCTET STRING dn, SEQUENCE { SEQUENCE { OCTET STRING name,
 * SET { value, … } }, … }, where a value tagged [0] is bytes. Read with the wire's BerReader:
 * throws MalformedBerError (or RecordError) for anything else, including indefinite or 5-byte
 * lengths and bytes after the attribute list.
 */
export function berToRecord(ber: Buffer): string {
  const r = new BerReader(ber);
  // A record is never longer than the BER it comes from: every varint replaces a BER header at
  // least as long, and an attribute's count stands in for its SEQUENCE header.
  const b = storeScratch.room(ber.length + 16);
  let [start, end] = r.readRaw(OCTET_STRING, 'dn');
  let o = writeVarint(b, 0, end - start);
  o = copyBytes(b, o, ber, start, end);
  const listEnd = r.enter(SEQUENCE, 'attribute list');
  if (listEnd !== ber.length) throw new RecordError('bytes after the attribute list');
  let hint = 0;
  while (r.pos < listEnd) {
    const attributeEnd = r.enter(SEQUENCE, 'attribute');
    [start, end] = r.readRaw(OCTET_STRING, 'attribute name');
    const index = RECORD_NAMES.find(ber, start, end, hint);
    hint = index + 1;
    if (index >= 0) o = writeVarint(b, o, index + 1);
    else {
      b[o++] = 0;
      o = writeVarint(b, o, end - start);
      o = copyBytes(b, o, ber, start, end);
    }
    const setEnd = r.enter(SET, 'attribute values');
    const countAt = o++;
    let count = 0;
    for (; r.pos < setEnd; count++) {
      const bytes = r.peekTag() === BYTES ? 1 : 0;
      [start, end] = r.readRaw(bytes === 1 ? BYTES : OCTET_STRING, 'attribute value');
      o = writeVarint(b, o, (end - start) * 2 + bytes);
      o = copyBytes(b, o, ber, start, end);
    }
    o = placeCount(b, countAt, o, count);
    if (r.pos !== attributeEnd) throw new RecordError('unexpected element in an attribute');
  }
  return storeScratch.take(0, o);
}

/**
 * The BER form of a record (lengths in their shortest form), in the scratch buffer: valid until
 * the next call into this module. Throws RecordError when `record` is not a record.
 */
export function recordToBer(record: string): Buffer {
  const n = record.length;
  let b = storeScratch.room(n);
  b.write(record, 0, 'latin1');
  const r = new Reader(record);
  // First pass: the content length of every value set, and of the attribute list.
  const dnLength = r.varint();
  const dnStart = r.skip(dnLength);
  const listStart = r.at;
  const setLengths: number[] = [];
  let listLength = 0;
  while (r.at < n) {
    const nameLength = nameLengthAt(r);
    let setLength = 0;
    for (let count = r.varint(); count > 0; count--) {
      const length = Math.floor(r.varint() / 2);
      r.skip(length);
      setLength += 1 + lengthSize(length) + length;
    }
    setLengths.push(setLength);
    listLength += elementSize(attributeSize(nameLength, setLength));
  }
  // Second pass: the BER, after the record.
  const total = elementSize(dnLength) + elementSize(listLength);
  b = storeScratch.room(n + total, n);
  let o = writeHeader(b, n, OCTET_STRING, dnLength);
  o = copyBytes(b, o, b, dnStart, dnStart + dnLength);
  o = writeHeader(b, o, SEQUENCE, listLength);
  const w = new Reader(record);
  w.at = listStart;
  for (const setLength of setLengths) {
    const number = w.varint();
    const name = number > 0 ? RECORD_NAMES.names[number - 1]!.bytes : undefined;
    const nameLength = name === undefined ? w.varint() : name.length;
    const nameStart = name === undefined ? w.skip(nameLength) : 0;
    o = writeHeader(b, o, SEQUENCE, attributeSize(nameLength, setLength));
    o = writeHeader(b, o, OCTET_STRING, nameLength);
    if (name === undefined) o = copyBytes(b, o, b, nameStart, nameStart + nameLength);
    else for (let k = 0; k < nameLength; k++) b[o++] = name[k]!;
    o = writeHeader(b, o, SET, setLength);
    for (let count = w.varint(); count > 0; count--) {
      const tagged = w.varint();
      const length = Math.floor(tagged / 2);
      const start = w.skip(length);
      o = writeHeader(b, o, tagged % 2 === 1 ? BYTES : OCTET_STRING, length);
      o = copyBytes(b, o, b, start, start + length);
    }
  }
  return b.subarray(n, o);
}

/** Reads an attribute's name reference; returns the name's length in bytes. */
function nameLengthAt(r: Reader): number {
  const number = r.varint();
  if (number > 0) {
    const an = RECORD_NAMES.names[number - 1];
    if (an === undefined) throw new RecordError(`attribute name ${number} is unknown`);
    return an.bytes.length;
  }
  const length = r.varint();
  r.skip(length);
  return length;
}

/** The content length of a PartialAttribute. */
function attributeSize(nameLength: number, setLength: number): number {
  return elementSize(nameLength) + elementSize(setLength);
}
