/**
 * The compact stored form of an entry, shared by the stores.
 *
 * An entry is stored as one flat array, `[dn, name1, values1, name2, values2, …]`: no per-entry
 * key names, no per-entry object shape, which keeps 100k cached entries small (a few hundred
 * bytes each) and keeps msgpack from recording a structure per attribute set.
 *
 * `fromStored` validates what it reads: stored state can be damaged (a crash of another tool,
 * a disk error, an older format), and a store must turn that into a clear "discarded" warning,
 * not into a crash later in a consumer.
 */
import type { AttributeValue, Attributes } from '../sync/messages.js';
import type { Entry } from '../replica/changes.js';
import { setOwn } from '../replica/records.js';

/** `[dn, name1, values1, name2, values2, …]` */
export type StoredEntry = (string | AttributeValue[])[];

/** Stored state that cannot be read back; the store discards its state when it meets one. */
export class CorruptReplicaError extends Error {
  constructor(reason: string) {
    super(`Stored replica state is corrupt: ${reason}.`);
    this.name = 'CorruptReplicaError';
  }
}

/** The stored form of `entry`. Throws a TypeError for a value that is not a string or bytes. */
export function toStored(entry: Entry): StoredEntry {
  if (typeof entry.dn !== 'string') throw new TypeError('An entry needs a string dn.');
  const stored: StoredEntry = [entry.dn];
  for (const name of Object.keys(entry.attributes)) {
    const values = entry.attributes[name];
    if (!Array.isArray(values) || !values.every(isAttributeValue)) {
      throw new TypeError(
        `Attribute ${JSON.stringify(name)} of ${entry.dn} must be an array of strings or Uint8Arrays.`,
      );
    }
    stored.push(name, values);
  }
  return stored;
}

/** The entry a stored value holds. Throws CorruptReplicaError when it is not one. */
export function fromStored(stored: unknown, entryUUID: string): Entry {
  if (!Array.isArray(stored) || stored.length % 2 !== 1 || typeof stored[0] !== 'string') {
    throw new CorruptReplicaError(`entry ${entryUUID} is not in the stored entry format`);
  }
  const attributes: Attributes = {};
  for (let i = 1; i < stored.length; i += 2) {
    const name: unknown = stored[i];
    const values: unknown = stored[i + 1];
    if (typeof name !== 'string' || !Array.isArray(values)) {
      throw new CorruptReplicaError(`entry ${entryUUID} has a malformed attribute`);
    }
    const out: AttributeValue[] = [];
    for (const value of values as unknown[]) {
      if (typeof value === 'string') out.push(value);
      // Buffer (what lmdb's msgpack decoder returns) is a Uint8Array; hand out a plain view.
      else if (value instanceof Uint8Array) out.push(plainBytes(value));
      else throw new CorruptReplicaError(`entry ${entryUUID} has a value that is neither text nor bytes`);
    }
    setOwn(attributes, name, out);
  }
  return { dn: stored[0], attributes };
}

/**
 * The in-memory form of entries: one JSON string per entry, `[shape, dn, slot1, slot2, …]`.
 * `shape` indexes a table of attribute-name lists that all entries of one store share (entries
 * of one object class mostly have one list), so names are not repeated per entry; a slot is the
 * value itself for a single-valued attribute, else the array of values; bytes are written as
 * `{"b":"<base64>"}`. V8 keeps an ASCII/Latin-1 string at one byte per character, so an entry
 * costs about the size of its values. Decoding is one native `JSON.parse`.
 */
export class EntryCodec {
  #shapes: string[][] = [];
  #shapeIds = new Map<string, number>();

  /** The string form of `entry`. Throws a TypeError for a value that is not a string or bytes. */
  encode(entry: Entry): string {
    if (typeof entry.dn !== 'string') throw new TypeError('An entry needs a string dn.');
    const names = Object.keys(entry.attributes);
    const slots: unknown[] = [0, entry.dn];
    for (const name of names) {
      const values = entry.attributes[name];
      if (!Array.isArray(values)) throw notValues(name, entry.dn);
      if (values.length === 1) {
        const v: unknown = values[0];
        if (typeof v === 'string') slots.push(v);
        else if (v instanceof Uint8Array) slots.push({ b: toBase64(v) });
        else throw notValues(name, entry.dn);
      } else {
        const boxed = new Array<string | { b: string }>(values.length);
        for (let i = 0; i < values.length; i++) {
          const v: unknown = values[i];
          if (typeof v === 'string') boxed[i] = v;
          else if (v instanceof Uint8Array) boxed[i] = { b: toBase64(v) };
          else throw notValues(name, entry.dn);
        }
        slots.push(boxed);
      }
    }
    // Names cannot contain NUL (RFC 4512 §2.5), so the joined list is a faithful key.
    const key = names.join('\u0000');
    let shape = this.#shapeIds.get(key);
    if (shape === undefined) {
      shape = this.#shapes.length;
      this.#shapes.push(names);
      this.#shapeIds.set(key, shape);
    }
    slots[0] = shape;
    return JSON.stringify(slots);
  }

  /** The entry `encode` wrote. Throws CorruptReplicaError when `text` is not one. */
  decode(text: string, entryUUID: string): Entry {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CorruptReplicaError(`entry ${entryUUID} is not valid JSON`);
    }
    const slots: unknown[] = Array.isArray(parsed) ? parsed : [];
    const [shape, dn] = slots;
    const names = typeof shape === 'number' ? this.#shapes[shape] : undefined;
    if (names === undefined || typeof dn !== 'string' || slots.length !== names.length + 2) {
      throw new CorruptReplicaError(`entry ${entryUUID} is not in the in-memory entry format`);
    }
    const attributes: Attributes = {};
    for (let i = 0; i < names.length; i++) {
      const slot = slots[i + 2];
      const values = Array.isArray(slot)
        ? slot.map((value) => unbox(value, entryUUID))
        : [unbox(slot, entryUUID)];
      setOwn(attributes, names[i]!, values);
    }
    return { dn, attributes };
  }
}

function notValues(name: string, dn: string): TypeError {
  return new TypeError(
    `Attribute ${JSON.stringify(name)} of ${dn} must be an array of strings or Uint8Arrays.`,
  );
}

function unbox(value: unknown, entryUUID: string): AttributeValue {
  if (typeof value === 'string') return value;
  if (isBase64Box(value)) return fromBase64(value.b);
  throw new CorruptReplicaError(`entry ${entryUUID} has a value that is neither text nor bytes`);
}

function isAttributeValue(value: unknown): value is AttributeValue {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function isBase64Box(value: unknown): value is { b: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { b?: unknown }).b === 'string' &&
    Object.keys(value).length === 1
  );
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(text: string): Uint8Array {
  return plainBytes(Buffer.from(text, 'base64'));
}

function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
