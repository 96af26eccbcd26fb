/**
 * The stored form of an entry, shared by the stores: its record.
 *
 * A record is the entry as one BER string, the content of an LDAP SearchResultEntry:
 *
 *   OCTET STRING dn, SEQUENCE { SEQUENCE { OCTET STRING name, SET { value, … } }, … }
 *
 * where a value tagged [0] is bytes and an OCTET STRING is text when it is UTF-8 (else bytes,
 * as on the wire; protocol/pdu.ts, `scanEntry`). It is kept as a latin1 string, one character per
 * byte, which V8 stores flat: about the size of the entry's values, with no object per attribute
 * or value for the garbage collector to trace.
 *
 * An entry that arrives straight from `syncrepl()` already is a record: the decoder checks the
 * entry and copies its bytes out instead of decoding them (see `withEntryRecords` and the
 * batch's `records`), so a store keeps it without encoding anything, and `recordEntry` decodes
 * its attributes only if somebody reads them. `encodeEntryRecord` writes the same form for
 * entries built any other way.
 *
 * Reading is the wire decoder's work on the record, so a stored entry comes back exactly as
 * the wire gave it. Stored state can be damaged (a disk error, another tool, an older format):
 * `decodeRecord` turns anything that is not a record into CorruptReplicaError, which a store
 * answers by discarding its state, never by crashing a consumer later.
 */
import { decodeEntryRecord, recordDn } from '../protocol/pdu.js';
import type { Entry } from '../replica/changes.js';
import type { Attributes } from '../sync/messages.js';

/** Stored state that cannot be read back; the store discards its state when it meets one. */
export class CorruptReplicaError extends Error {
  constructor(reason: string) {
    super(`Stored replica state is corrupt: ${reason}.`);
    this.name = 'CorruptReplicaError';
  }
}

const OCTET_STRING = 0x04;
const BYTES = 0x80;
const SEQUENCE = 0x30;
const SET = 0x31;
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The record of `entry`, as a latin1 string. Throws a TypeError for a dn that is not a string or
 * a value that is neither a string nor a Uint8Array.
 */
export function encodeEntryRecord(entry: Entry): string {
  if (typeof entry.dn !== 'string') throw new TypeError('An entry needs a string dn.');
  let list = '';
  for (const name of Object.keys(entry.attributes)) {
    const values: unknown = entry.attributes[name];
    if (!Array.isArray(values)) throw notValues(name, entry.dn);
    let set = '';
    for (const value of values as unknown[]) {
      if (typeof value === 'string') set += element(OCTET_STRING, utf8Of(value));
      else if (value instanceof Uint8Array) set += element(BYTES, latin1Of(value));
      else throw notValues(name, entry.dn);
    }
    list += element(SEQUENCE, element(OCTET_STRING, utf8Of(name)) + element(SET, set));
  }
  return element(OCTET_STRING, utf8Of(entry.dn)) + element(SEQUENCE, list);
}

/** The entry a record holds, decoded now. Throws CorruptReplicaError when `record` is not a record. */
export function decodeRecord(record: string | Uint8Array, entryUUID: string): Entry {
  try {
    return decodeEntryRecord(bytesOf(record));
  } catch (error) {
    throw corrupt(entryUUID, error);
  }
}

/**
 * The entry a record holds, with its attributes decoded on first read: a change or an `old`
 * entry nobody looks into costs no decode. `attributes` is an own, enumerable property (a getter
 * and a setter), so spreading, `JSON.stringify`, `structuredClone` and assignment all behave as
 * with a plain object, and the entry is a plain object (its prototype is Object.prototype). `dn`,
 * when known, saves reading it from the record.
 *
 * The record must be readable: one the wire decoder checked (`scanEntry`), one
 * `encodeEntryRecord` wrote, or one a store validated when it loaded it.
 */
export function recordEntry(record: string, entryUUID: string, dn?: string): Entry {
  const entry = { dn: dn ?? recordDnOf(record, entryUUID) };
  LazyAttributes.attach(entry, record, entryUUID);
  return entry as Entry;
}

/** Its constructor returns the object it is given, so a subclass's private fields land on that object. */
class Stamp {
  constructor(target: object) {
    return target;
  }
}

/**
 * The state behind a lazy `attributes`, kept in private fields stamped onto a plain entry object:
 * invisible to spreading, `Object.keys`, `JSON.stringify`, `structuredClone` and deep equality.
 *
 * Why not a getter and a setter in an object literal: those are two new closures per entry, and
 * V8 gives each such object its own accessor pair, kept alive from the old generation until a full
 * collection; that keeps young objects alive too, and a 100k-entry refresh then peaked ~50 MB
 * higher (and ran slower). Shared accessors on one hidden class avoid both.
 */
class LazyAttributes extends Stamp {
  #record: string;
  #entryUUID: string;
  /** Decoded from the record on first read, or assigned. */
  #attributes: Attributes | undefined = undefined;

  private constructor(entry: { dn: string }, record: string, entryUUID: string) {
    super(entry);
    this.#record = record;
    this.#entryUUID = entryUUID;
  }

  static attach(entry: { dn: string }, record: string, entryUUID: string): void {
    new LazyAttributes(entry, record, entryUUID);
    Object.defineProperty(entry, 'attributes', LazyAttributes.#descriptor);
  }

  static readonly #descriptor: PropertyDescriptor = {
    get(this: LazyAttributes): Attributes {
      return (this.#attributes ??= decodeRecord(this.#record, this.#entryUUID).attributes);
    },
    set(this: LazyAttributes, value: Attributes) {
      this.#attributes = value;
    },
    enumerable: true,
    configurable: true,
  };
}

function recordDnOf(record: string, entryUUID: string): string {
  try {
    return recordDn(bytesOf(record));
  } catch (error) {
    throw corrupt(entryUUID, error);
  }
}

function bytesOf(record: string | Uint8Array): Buffer {
  return typeof record === 'string'
    ? Buffer.from(record, 'latin1')
    : Buffer.from(record.buffer, record.byteOffset, record.byteLength);
}

function corrupt(entryUUID: string, error: unknown): CorruptReplicaError {
  return new CorruptReplicaError(`entry ${entryUUID} is not a readable record (${(error as Error).message})`);
}

/** A BER element: tag, definite length, content (all one character per byte). */
function element(tag: number, content: string): string {
  const n = content.length;
  if (n < 0x80) return String.fromCharCode(tag, n) + content;
  if (n < 0x100) return String.fromCharCode(tag, 0x81, n) + content;
  if (n < 0x10000) return String.fromCharCode(tag, 0x82, n >>> 8, n & 0xff) + content;
  if (n < 0x1000000) return String.fromCharCode(tag, 0x83, n >>> 16, (n >>> 8) & 0xff, n & 0xff) + content;
  return String.fromCharCode(tag, 0x84, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff) + content;
}

/** The UTF-8 bytes of `text`, one character per byte. */
function utf8Of(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

function latin1Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function notValues(name: string, dn: string): TypeError {
  return new TypeError(
    `Attribute ${JSON.stringify(name)} of ${dn} must be an array of strings or Uint8Arrays.`,
  );
}
