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
      throw new TypeError(`Attribute ${JSON.stringify(name)} of ${entry.dn} must be an array of strings or Uint8Arrays.`);
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
    Object.defineProperty(attributes, name, { value: out, enumerable: true, writable: true, configurable: true });
  }
  return { dn: stored[0], attributes };
}

/**
 * One string per entry, for the in-memory store: V8 keeps an ASCII/Latin-1 string at one byte
 * per character, which is about the size of the LDIF. Bytes are written as `{"b":"<base64>"}`.
 */
export function encodeEntry(entry: Entry): string {
  const json: unknown[] = toStored(entry);
  for (let i = 2; i < json.length; i += 2) {
    const values = json[i] as AttributeValue[];
    if (values.some((value) => typeof value !== 'string')) {
      json[i] = values.map((value) => (typeof value === 'string' ? value : { b: toBase64(value) }));
    }
  }
  return JSON.stringify(json);
}

/** The entry `encodeEntry` wrote. Throws CorruptReplicaError when `text` is not one. */
export function decodeEntry(text: string, entryUUID: string): Entry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CorruptReplicaError(`entry ${entryUUID} is not valid JSON`);
  }
  if (Array.isArray(parsed)) {
    for (let i = 2; i < parsed.length; i += 2) {
      const values: unknown = parsed[i];
      if (Array.isArray(values) && values.some(isBase64Box)) {
        parsed[i] = values.map((value: unknown) => (isBase64Box(value) ? fromBase64(value.b) : value));
      }
    }
  }
  return fromStored(parsed, entryUUID);
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
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
