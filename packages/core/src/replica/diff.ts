/**
 * Attribute-level difference between two versions of an entry.
 *
 * Rules (each one is tested in test/unit/core/replica/diff.test.ts):
 * - Attribute names compare case-insensitively (RFC 4512 §2.5: descriptors are case-insensitive).
 *   The diff is keyed by the name as spelled in the new entry, else in the old one.
 * - Values compare byte-exactly, by their UTF-8 bytes: the string `'é'` equals
 *   `Uint8Array [0xc3, 0xa9]`. No matching rule is applied (`'Foo'` → `'foo'` is a change),
 *   because the client does not know the schema and a consumer may care about the spelling.
 * - Values of one attribute are a set (RFC 4512 §2.2): order does not matter, and a value sent
 *   twice counts once. `added` / `removed` keep the order of the entry they come from.
 * - An attribute with no values is the same as an absent attribute.
 */
import { setOwn } from '../protocol/attributes.js';
import type { AttributeValue, Attributes } from '../sync/messages.js';
import type { AttributeChange, AttributeDiff } from './changes.js';

/**
 * Compares two attribute sets and returns, per changed attribute, the values added and removed,
 * and whether the attribute appeared or vanished. Unchanged attributes are left out, so an
 * entry that did not change gives `{}`.
 *
 * @example
 * diffAttributes({ cn: ['Ann'], mail: ['a@x', 'b@x'] }, { CN: ['Ann'], mail: ['b@x', 'c@x'], sn: ['Lee'] });
 * // Logs (as JSON):
 * // { "mail": { "added": ["c@x"], "removed": ["a@x"] },
 * //   "sn": { "added": ["Lee"], "removed": [], "appeared": true } }
 *
 * @param oldAttributes The attributes before.
 * @param newAttributes The attributes after.
 * @return The changed attributes, keyed by name.
 */
export function diffAttributes(oldAttributes: Attributes, newAttributes: Attributes): AttributeDiff {
  const diff: AttributeDiff = {};
  const before = groupByName(oldAttributes);
  const after = groupByName(newAttributes);
  for (const [lower, now] of after) {
    const was = before.get(lower);
    const change = diffValues(was?.values ?? [], now.values);
    if (change !== undefined)
      setOwn(diff, now.values.length > 0 || was === undefined ? now.name : was.name, change);
  }
  for (const [lower, was] of before) {
    if (after.has(lower)) continue;
    const change = diffValues(was.values, []);
    if (change !== undefined) setOwn(diff, was.name, change);
  }
  return diff;
}

/** True when `diff` records no change (the two entries have the same attributes). */
export function isEmptyDiff(diff: AttributeDiff): boolean {
  for (const _ in diff) return false;
  return true;
}

/**
 * A string key that is equal for two values exactly when their UTF-8 bytes are equal: the bytes,
 * one char per byte. ASCII strings (the common case) are their own key, without encoding.
 */
export function valueKey(value: AttributeValue): string {
  if (typeof value === 'string') {
    return ASCII.test(value) ? value : bytesToKey(utf8.encode(value));
  }
  return bytesToKey(value);
}

// A JS string from the protocol layer is always valid UTF-16 (decoded from valid UTF-8), so
// TextEncoder never meets a lone surrogate here.
const utf8 = new TextEncoder();
// WHATWG 'latin1' is windows-1252: every byte maps to its own code point, one to one, and bytes
// 0x00-0x7f map to themselves, which is what makes the ASCII shortcut above consistent.
const byteChars = new TextDecoder('latin1');
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

function bytesToKey(bytes: Uint8Array): string {
  return byteChars.decode(bytes);
}

interface NamedValues {
  name: string;
  values: AttributeValue[];
}

/** Attributes keyed by lower-cased name; two spellings of one name are merged. */
function groupByName(attributes: Attributes): Map<string, NamedValues> {
  const byName = new Map<string, NamedValues>();
  for (const name of Object.keys(attributes)) {
    const values = attributes[name] ?? [];
    const lower = name.toLowerCase();
    const seen = byName.get(lower);
    if (seen === undefined) byName.set(lower, { name, values });
    else seen.values = [...seen.values, ...values];
  }
  return byName;
}

function diffValues(before: AttributeValue[], after: AttributeValue[]): AttributeChange | undefined {
  // Fast path: one value on each side, the shape of most attributes.
  if (before.length === 1 && after.length === 1 && sameValue(before[0]!, after[0]!)) return undefined;
  if (before.length === 0 && after.length === 0) return undefined;
  const beforeKeys = new Set(before.map(valueKey));
  const afterKeys = new Set(after.map(valueKey));
  const added = onlyIn(after, beforeKeys);
  const removed = onlyIn(before, afterKeys);
  if (added.length === 0 && removed.length === 0) return undefined;
  const change: AttributeChange = { added, removed };
  if (before.length === 0) change.appeared = true;
  if (after.length === 0) change.vanished = true;
  return change;
}

/** The values whose key is not in `exclude`, each distinct value once, in order. */
function onlyIn(values: AttributeValue[], exclude: ReadonlySet<string>): AttributeValue[] {
  const out: AttributeValue[] = [];
  const emitted = new Set<string>();
  for (const value of values) {
    const key = valueKey(value);
    if (exclude.has(key) || emitted.has(key)) continue;
    emitted.add(key);
    out.push(value);
  }
  return out;
}

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return valueKey(a) === valueKey(b);
}
