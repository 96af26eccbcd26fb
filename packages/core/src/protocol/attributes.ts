/**
 * Decoding attributes, shared by the wire decoder (./pdu.ts) and records (./record.ts): the
 * types of an entry's attributes (re-exported by ../sync/messages.ts, and from the package),
 * tables of attribute names (one per wire decoder, one for records), the rule that makes a value text or bytes, merging
 * a name repeated in another spelling, and building records keyed by attribute names.
 */
import { isUtf8 } from 'node:buffer';

/** One attribute value: a string when the bytes are valid UTF-8 and the attribute
 * was not declared binary, otherwise the exact bytes. */
export type AttributeValue = string | Uint8Array;

/**
 * Attributes of an entry, keyed by the attribute description as the server spelled it
 * the first time (e.g. `objectClass`). Names are case-insensitive in LDAP: use
 * `getAttribute` (../sync/messages.ts) to look one up regardless of case. Values keep the
 * server's order.
 */
export type Attributes = Record<string, AttributeValue[]>;

/**
 * Sets `record[key] = value` as an own, enumerable property, even for a key such as `__proto__`,
 * which a plain assignment would turn into a prototype change instead. Keys of records built
 * here come from the server. Internal: not exported from the package.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  // Plain assignment is the fast path; only `__proto__` needs defining.
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

/** An attribute description as the server spelled it, decoded once. */
export interface AttributeName {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly lower: string;
  /** Whether values are bytes, for the `binaryAttributes` of the table that holds this name. */
  readonly binary: boolean;
  /** Its number in records (`RECORD_NAMES` index + 1), or 0: records spell it out. */
  readonly record: number;
}

const MAX_NAMES = 256;

/**
 * Attribute names repeat in every entry, in the same order: a table decodes each spelling once
 * and finds it again by its bytes, starting where the previous attribute's name was found.
 * Bounded (256); a name past the bound is decoded each time and held in `overflow` until the next
 * lookup. Append-only, so an index names the same spelling for good.
 *
 * Each wire decoder owns one (./pdu.ts), with its `binaryAttributes`; `RECORD_NAMES` is the one
 * records share.
 */
export class NameTable {
  readonly names: AttributeName[] = [];
  overflow: AttributeName | undefined = undefined;

  /** `binary`: the lower-case names whose values are bytes; absent for `RECORD_NAMES`. */
  constructor(private readonly binary?: ReadonlySet<string>) {}

  /**
   * The index in `names` of the name in buf[s, e), added if new; -1 past the bound (then
   * `overflow` holds it). The search starts at index `hint`.
   */
  find(buf: Buffer, s: number, e: number, hint: number): number {
    const names = this.names;
    const len = e - s;
    const count = names.length;
    for (let k = 0; k < count; k++) {
      const at = (hint + k) % count;
      const bytes = names[at]!.bytes;
      if (bytes.length !== len) continue;
      let i = 0;
      while (i < len && bytes[i] === buf[s + i]) i++;
      if (i === len) return at;
    }
    const name = buf.toString('utf8', s, e);
    const lower = name.toLowerCase();
    const binary = this.binary;
    const entry: AttributeName = {
      bytes: new Uint8Array(buf.subarray(s, e)),
      name,
      lower,
      binary: binary !== undefined && (binary.has(lower) || lower.endsWith(';binary')),
      // The shared table numbers its own names; a decoder's table takes the shared number.
      record:
        binary === undefined ? (count < MAX_NAMES ? count + 1 : 0) : RECORD_NAMES.find(buf, s, e, 0) + 1,
    };
    if (count < MAX_NAMES) {
      names.push(entry);
      return count;
    }
    this.overflow = entry;
    return -1;
  }
}

/**
 * The names records refer to by number (./record.ts): one table for the process, because a
 * record outlives the connection it came from. Append-only and immutable entries: a number,
 * once given, names the same spelling for good. The wire decoders only look names up in it the
 * first time they meet one.
 */
export const RECORD_NAMES = new NameTable();

/**
 * The values the entry being built already has under `name` in any spelling, or undefined (and
 * `lower` is noted in `lowers`, the lower-case names of the entry so far, in order): LDAP names
 * are case-insensitive (RFC 4512 §2.5), so a repeated name, however spelled, merges into the
 * first one's values.
 */
export function valuesOf(
  attributes: Attributes,
  name: string,
  lower: string,
  lowers: string[],
): AttributeValue[] | undefined {
  // (`__proto__` is looked up as an own property: anything else would read the prototype.)
  const values: AttributeValue[] | undefined =
    name === '__proto__' ? Object.getOwnPropertyDescriptor(attributes, name)?.value : attributes[name];
  if (values !== undefined) return values;
  const prior = lowers.indexOf(lower);
  if (prior >= 0) return attributes[Object.keys(attributes)[prior]!]!;
  lowers.push(lower);
  return undefined;
}

/**
 * Text when the bytes are valid UTF-8 (ASCII checked first: the fast, common path), else an
 * exact copy of the bytes. Never a lossy decode.
 */
export function decodeValue(buf: Buffer, s: number, e: number, binary: boolean): AttributeValue {
  if (!binary) {
    let i = s;
    while (i < e && buf[i]! < 0x80) i++;
    if (i === e) return latin1(buf, s, e);
    if (isUtf8(buf.subarray(s, e))) return utf8(buf, s, e);
  }
  return new Uint8Array(buf.subarray(s, e));
}

// Buffer's own slicers, called directly: Buffer#toString(encoding, start, end) reaches the same
// native code through an encoding lookup and two wrappers, a cost paid for every value.
interface Slicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const direct = typeof (Buffer.prototype as unknown as Partial<Slicers>).latin1Slice === 'function';

/** `buf`'s bytes [s, e) as a latin1 string (one character per byte). */
export function latin1(buf: Buffer, s: number, e: number): string {
  return direct ? (buf as unknown as Slicers).latin1Slice(s, e) : buf.toString('latin1', s, e);
}

/** `buf`'s bytes [s, e) decoded as UTF-8. */
export function utf8(buf: Buffer, s: number, e: number): string {
  return direct ? (buf as unknown as Slicers).utf8Slice(s, e) : buf.toString('utf8', s, e);
}
