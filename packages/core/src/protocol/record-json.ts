/**
 * An entry record (./record.ts) written as the JSON of its attributes without decoding it: the
 * same text as `JSON.stringify` of the decoded attributes (binary values and values that are not
 * UTF-8 as `{"base64": ...}`), for the CLI's NDJSON, where decoding every value into a string and
 * every attribute into an array only to serialise them again was most of the cost.
 *
 * The result is a *byte string*: one character per byte of the UTF-8 text (what a record is too),
 * to be written with the `latin1` encoding. Values are copied from the record as they are, with
 * JSON's escapes for `"`, `\` and control characters; UTF-8 passes through JSON unchanged.
 *
 * Returns undefined, for the caller to take the decoding path, for what the decoder treats
 * specially: a name inline in the record, one spelled twice (the decoder merges them), a name
 * that is an array index or `__proto__` (object key order and own properties), a malformed record.
 */
import { isUtf8 } from 'node:buffer';
import { RECORD_NAMES } from './attributes.js';

/** Per name number of RECORD_NAMES: its JSON key (`"cn":`), and a number shared by all its spellings. */
const keys: string[] = [];
const spellings: number[] = [];
const specialName = /^(?:\d+|__proto__)$/;

function prepare(upTo: number): boolean {
  const names = RECORD_NAMES.names;
  for (let i = keys.length; i < upTo; i++) {
    const n = names[i];
    if (n === undefined) return false;
    // A special name makes the entry take the decoding path: key '' marks it.
    keys.push(specialName.test(n.name) ? '' : `${toBytes(JSON.stringify(n.name))}:`);
    let first = i;
    for (let k = 0; k < i; k++) {
      if (names[k]!.lower === n.lower) {
        first = k;
        break;
      }
    }
    spellings.push(first);
  }
  return true;
}

/** `text` as a byte string (its UTF-8 bytes, one character each). */
export function toBytes(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u007f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** Stamps per spelling: `seen[spelling] === stamp` when the current entry already had it. */
const seen: number[] = [];
let stamp = 0;

const ESCAPES: Record<number, string> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function escaped(r: string, s: number, e: number): string {
  let out = '';
  let from = s;
  for (let i = s; i < e; i++) {
    const c = r.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += r.slice(from, i) + (ESCAPES[c] ?? `\\u00${c < 0x10 ? '0' : ''}${c.toString(16)}`);
    from = i + 1;
  }
  return out + r.slice(from, e);
}

function value(r: string, s: number, e: number, binary: boolean): string {
  if (!binary) {
    let clean = true;
    let ascii = true;
    for (let i = s; i < e; i++) {
      const c = r.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c) clean = false;
      else if (c >= 0x80) ascii = false;
    }
    if (ascii || isUtf8(Buffer.from(r.slice(s, e), 'latin1'))) {
      return clean ? `"${r.slice(s, e)}"` : `"${escaped(r, s, e)}"`;
    }
  }
  return `{"base64":"${Buffer.from(r.slice(s, e), 'latin1').toString('base64')}"}`;
}

/** What visitRecord calls for each attribute (its number in RECORD_NAMES) and each of its values. */
export interface RecordVisitor {
  attribute(number: number, count: number): void;
  /** The value is r[s, e), one character per byte; `binary`: tagged as bytes. */
  value(r: string, s: number, e: number, binary: boolean): void;
}

/**
 * Walks a record's attributes and values in order without decoding them; false (after some
 * calls, which the caller then discards) for what the decoder treats specially (see the top).
 * `r` is the record as its string (one character per byte).
 */
export function visitRecord(r: string, visitor: RecordVisitor): boolean {
  let at = 0;
  const end = r.length;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let k = 0; k < 5 && at < end; k++) {
      const byte = r.charCodeAt(at++);
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    return -1;
  };
  const dnLength = varint();
  if (dnLength < 0 || dnLength > end - at) return false;
  at += dnLength;
  stamp++;
  while (at < end) {
    const number = varint();
    if (number <= 0) return false;
    if (number > keys.length && !prepare(number)) return false;
    const spelling = spellings[number - 1]!;
    if (keys[number - 1] === '' || seen[spelling] === stamp) return false;
    seen[spelling] = stamp;
    const count = varint();
    if (count < 0) return false;
    visitor.attribute(number, count);
    for (let k = 0; k < count; k++) {
      const tagged = varint();
      if (tagged < 0) return false;
      const length = Math.floor(tagged / 2);
      if (length > end - at) return false;
      visitor.value(r, at, at + length, tagged % 2 === 1);
      at += length;
    }
  }
  return true;
}

/** The name a record's attribute number stands for (after visitRecord met it). */
export function recordName(number: number): string {
  return RECORD_NAMES.names[number - 1]!.name;
}

class JsonWriter implements RecordVisitor {
  out = '';
  private first = true;
  reset(): void {
    this.out = '{';
    this.first = true;
  }
  attribute(number: number, count: number): void {
    this.out += `${this.first ? '' : ','}${keys[number - 1]!}${count === 0 ? '[]' : '['}`;
    this.first = false;
    this.left = count;
    this.k = 0;
  }
  private left = 0;
  private k = 0;
  value(r: string, s: number, e: number, binary: boolean): void {
    this.out += `${this.k++ > 0 ? ',' : ''}${value(r, s, e, binary)}${this.k === this.left ? ']' : ''}`;
  }
}
const json = new JsonWriter();

/**
 * The JSON object of the record's attributes as a byte string, or undefined (see the top).
 * `r` is the record as its string (one character per byte).
 */
export function recordAttributesJson(r: string): string | undefined {
  json.reset();
  if (!visitRecord(r, json)) return undefined;
  const out = `${json.out}}`;
  json.out = '';
  return out;
}
