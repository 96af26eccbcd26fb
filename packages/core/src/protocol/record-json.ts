/**
 * An entry record (./record.ts) written as the JSON of its attributes without decoding it: the
 * same text as `JSON.stringify` of the decoded attributes (binary values and values that are not
 * UTF-8 as `{"base64": ...}`), for the CLI's NDJSON, where decoding every value into a string and
 * every attribute into an array only to serialise them again was most of the cost.
 *
 * `writeRecordAttributesJson` writes the UTF-8 bytes of that text straight into a buffer (the
 * CLI's output chunk): no string is built for it. Values are copied from the record byte by byte,
 * with JSON's escapes for `"`, `\` and control characters; UTF-8 passes through JSON unchanged.
 *
 * It returns false, for the caller to take the decoding path, for what the decoder treats
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

/**
 * Where bytes are written in place: `buf` from `used` on, with at least the room asked for by
 * `room`, which may move the bytes to a larger buffer but never hands them on, so a writer can
 * take back what it wrote (by setting `used` back) before it returns.
 */
export interface ByteSink {
  buf: Buffer;
  used: number;
  /** At least `bytes` free after `used`; returns `buf` (which may be a new one). */
  room(bytes: number): Buffer;
}

/** Bytes of ESCAPES and of `\u00XX`, per character below 0x20, `"` and `\\`. */
const ESCAPE_BYTES: (Buffer | undefined)[] = [];
for (let c = 0; c < 0x5d; c++) {
  if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
  ESCAPE_BYTES[c] = Buffer.from(ESCAPES[c] ?? `\\u00${c < 0x10 ? '0' : ''}${c.toString(16)}`, 'latin1');
}

/** Writes a latin1 string at `o`; returns the position after it. Room must be there. */
function put(b: Buffer, o: number, text: string): number {
  for (let i = 0; i < text.length; i++) b[o++] = text.charCodeAt(i);
  return o;
}

class SinkJsonWriter implements RecordVisitor {
  sink: ByteSink | undefined;
  private first = true;
  private left = 0;
  private k = 0;

  start(sink: ByteSink): void {
    this.sink = sink;
    this.first = true;
    sink.room(1)[sink.used++] = 0x7b; // {
  }

  attribute(number: number, count: number): void {
    const sink = this.sink!;
    const key = keys[number - 1]!;
    const b = sink.room(key.length + 3);
    let o = sink.used;
    if (!this.first) b[o++] = 0x2c; // ,
    o = put(b, o, key);
    b[o++] = 0x5b; // [
    if (count === 0) b[o++] = 0x5d; // ]
    sink.used = o;
    this.first = false;
    this.left = count;
    this.k = 0;
  }

  value(r: string, s: number, e: number, binary: boolean): void {
    const sink = this.sink!;
    // Six bytes per byte at most (\u00XX), the quotes, a comma and the closing bracket.
    let b = sink.room(6 * (e - s) + 4);
    let o = sink.used;
    if (this.k++ > 0) b[o++] = 0x2c;
    const start = o;
    let ascii = true;
    if (!binary) {
      b[o++] = 0x22;
      for (let i = s; i < e; i++) {
        const c = r.charCodeAt(i);
        if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
          if (c >= 0x80) ascii = false;
          b[o++] = c;
        } else {
          const escape = ESCAPE_BYTES[c]!;
          o += escape.copy(b, o);
        }
      }
      b[o++] = 0x22;
    }
    if (binary || (!ascii && !isUtf8(Buffer.from(r.slice(s, e), 'latin1')))) {
      const base64 = `{"base64":"${Buffer.from(r.slice(s, e), 'latin1').toString('base64')}"}`;
      sink.used = start;
      b = sink.room(base64.length + 1);
      o = put(b, start, base64);
    }
    if (this.k === this.left) b[o++] = 0x5d;
    sink.used = o;
  }
}
const sinkJson = new SinkJsonWriter();

/**
 * Writes the JSON object of the record's attributes into `sink` as its bytes, and true; or false,
 * with `sink.used` as it was, for what the decoder treats specially (see the top). `r` is the
 * record as its string (one character per byte).
 */
export function writeRecordAttributesJson(r: string, sink: ByteSink): boolean {
  const at = sink.used;
  sinkJson.start(sink);
  const ok = visitRecord(r, sinkJson);
  sinkJson.sink = undefined;
  if (ok)
    sink.room(1)[sink.used++] = 0x7d; // }
  else sink.used = at;
  return ok;
}
