/**
 * Records, the form in which stores keep entries (protocol/record.ts), for the stores.
 *
 * A record is a compact latin1 string: the DN and the values as the wire gave them, with the
 * attribute names as numbers into this process's name table. An entry that arrives straight from
 * `syncrepl()` already is a record: the decoder checks the entry and writes its record instead
 * of decoding it (see `withEntryRecords` and the batch's `records`), so a store keeps it without
 * encoding anything, and `recordEntry` decodes its attributes only if somebody reads them.
 * `encodeEntryRecord` writes the same form for entries built any other way.
 *
 * A persistent store keeps the BER form of each record (`storedRecord`, `recordOfStored`):
 * standard LDAP, and free of this process's name numbers. Stored state can be damaged (a disk
 * error, another tool, an older format): `recordOfStored` and `decodeRecord` turn anything that is
 * not a record into CorruptReplicaError, which a store answers by discarding its state, never by
 * crashing a consumer later.
 */
import { BerWriter, OCTET_STRING, SEQUENCE, SET } from '../protocol/ber.js';
import { BYTES, berToRecord, decodeRecord as readRecord, recordDn, recordToBer } from '../protocol/record.js';
import type { Entry } from './store.js';
import type { Attributes } from '../sync/messages.js';

/** Stored state that cannot be read back; the store discards its state when it meets one. */
export class CorruptReplicaError extends Error {
  constructor(reason: string) {
    super(`Stored replica state is corrupt: ${reason}.`);
    this.name = 'CorruptReplicaError';
  }
}

/**
 * The record of `entry`. Throws a TypeError for a dn that is not a string or a value that is
 * neither a string nor a Uint8Array.
 */
export function encodeEntryRecord(entry: Entry): string {
  return berToRecord(encodeBer(entry));
}

/** The BER form of `entry`'s record. */
function encodeBer(entry: Entry): Buffer {
  if (typeof entry.dn !== 'string') throw new TypeError('An entry needs a string dn.');
  const w = new BerWriter(1024).bytes(OCTET_STRING, entry.dn).start(SEQUENCE);
  for (const name of Object.keys(entry.attributes)) {
    const values: unknown = entry.attributes[name];
    if (!Array.isArray(values)) throw notValues(name, entry.dn);
    w.start(SEQUENCE).bytes(OCTET_STRING, name).start(SET);
    for (const value of values as unknown[]) {
      if (typeof value === 'string') w.bytes(OCTET_STRING, value);
      else if (value instanceof Uint8Array) w.bytes(BYTES, value);
      else throw notValues(name, entry.dn);
    }
    w.end().end();
  }
  return w.end().toBuffer();
}

/** The entry a record holds, decoded now. Throws CorruptReplicaError when `record` is not a record. */
export function decodeRecord(record: string, entryUUID: string): Entry {
  try {
    return readRecord(record);
  } catch (error) {
    throw corrupt(entryUUID, error);
  }
}

/**
 * The stored (BER) form of a record, for a persistent store: a view of scratch space, valid until
 * the next call into this module (copy it out at once).
 */
export function storedRecord(record: string): Buffer {
  return recordToBer(record);
}

/**
 * The record of a stored (BER) form, checked. Throws CorruptReplicaError when `stored` is not
 * the BER form of a record.
 */
export function recordOfStored(stored: Uint8Array, entryUUID: string): string {
  try {
    // (`length`, not `byteLength`: lmdb-js hands out one reused buffer with its length set.)
    return berToRecord(
      Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.length),
    );
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

/**
 * The record an entry from recordEntry() still stands for, or undefined (its attributes were read
 * or assigned, or it is not such an entry): for writers that can work from the record's bytes.
 */
export function entryRecord(entry: Entry): string | undefined {
  return LazyAttributes.recordOf(entry);
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

  /** The record behind an entry's attributes, while they are still its record (not decoded, not assigned). */
  static recordOf(entry: object): string | undefined {
    return #record in entry && entry.#attributes === undefined ? entry.#record : undefined;
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
    return recordDn(record);
  } catch (error) {
    throw corrupt(entryUUID, error);
  }
}

function corrupt(entryUUID: string, error: unknown): CorruptReplicaError {
  return new CorruptReplicaError(`entry ${entryUUID} is not a readable record (${(error as Error).message})`);
}

function notValues(name: string, dn: string): TypeError {
  return new TypeError(
    `Attribute ${JSON.stringify(name)} of ${dn} must be an array of strings or Uint8Arrays.`,
  );
}
