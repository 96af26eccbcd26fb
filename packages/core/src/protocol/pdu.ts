/**
 * LDAPv3 PDUs (RFC 4511 §4): the few requests a syncrepl consumer sends, encoded with the
 * BER writer from ./ldapjs.ts, and the responses it receives, decoded by ./ber.ts.
 */
import { isUtf8 } from 'node:buffer';
import { BerReader } from './ber.js';
import { createWriter, encodeFilter, type RequestWriter } from './ldapjs.js';
import { MalformedBerError } from '../errors.js';
import type { Attributes, AttributeValue } from '../sync/messages.js';
import { setOwn } from '../replica/records.js';

// Protocol op tags, RFC 4511 §4.2 (APPLICATION class; constructed unless noted).
const TAG = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42, // primitive NULL
  searchRequest: 0x63,
  searchResEntry: 0x64,
  searchResDone: 0x65,
  searchResRef: 0x73,
  abandonRequest: 0x50, // primitive INTEGER
  extendedRequest: 0x77,
  extendedResponse: 0x78,
  intermediateResponse: 0x79,
  controls: 0xa0,
} as const;

const SEQUENCE = 0x30;
const SET = 0x31;
const OCTET_STRING = 0x04;
const INTEGER = 0x02;
const ENUMERATED = 0x0a;
const BOOLEAN = 0x01;

export type Scope = 'base' | 'one' | 'sub';
const SCOPE_CODES: Record<Scope, number> = { base: 0, one: 1, sub: 2 };

export interface RequestControl {
  oid: string;
  critical: boolean;
  value?: Uint8Array;
}

export interface ResponseControl {
  oid: string;
  critical: boolean;
  value?: Buffer;
}

export interface LdapResult {
  resultCode: number;
  matchedDN: string;
  diagnosticMessage: string;
}

export type LdapResponse =
  | { kind: 'bind'; messageId: number; result: LdapResult }
  | {
      kind: 'searchEntry';
      messageId: number;
      dn: string;
      /**
       * The attributes, decoded. With `DecodeOptions.records`, an entry that has attributes comes
       * as its `record` instead (checked, not decoded: see `scanEntry`).
       */
      attributes: Attributes | undefined;
      controls: ResponseControl[];
      record?: string;
    }
  | { kind: 'searchReference'; messageId: number }
  | { kind: 'searchDone'; messageId: number; result: LdapResult; controls: ResponseControl[] }
  | { kind: 'intermediate'; messageId: number; name?: string; value?: Buffer; controls: ResponseControl[] }
  | { kind: 'extended'; messageId: number; result: LdapResult; name?: string; value?: Buffer }
  | { kind: 'unknown'; messageId: number; tag: number };

// ---------------------------------------------------------------- requests

function envelope(messageId: number, body: (w: RequestWriter) => void, controls?: RequestControl[]): Buffer {
  const w = createWriter();
  w.startSequence(SEQUENCE);
  w.writeInt(messageId);
  body(w);
  if (controls && controls.length > 0) {
    w.startSequence(TAG.controls);
    for (const c of controls) {
      w.startSequence(SEQUENCE);
      w.writeString(c.oid);
      if (c.critical) w.writeBoolean(true);
      if (c.value) w.writeBuffer(Buffer.from(c.value), OCTET_STRING);
      w.endSequence();
    }
    w.endSequence();
  }
  w.endSequence();
  return Buffer.from(w.buffer);
}

/** BindRequest with simple authentication (RFC 4511 §4.2). Empty DN and password = anonymous. */
export function encodeSimpleBind(messageId: number, dn: string, password: string): Buffer {
  return envelope(messageId, (w) => {
    w.startSequence(TAG.bindRequest);
    w.writeInt(3);
    w.writeString(dn);
    w.writeBuffer(Buffer.from(password, 'utf8'), 0x80); // simple [0]
    w.endSequence();
  });
}

/** BindRequest with SASL credentials (RFC 4511 §4.2, RFC 4422 Appendix A for EXTERNAL). */
export function encodeSaslBind(messageId: number, mechanism: string, credentials?: string): Buffer {
  return envelope(messageId, (w) => {
    w.startSequence(TAG.bindRequest);
    w.writeInt(3);
    w.writeString('');
    w.startSequence(0xa3); // sasl [3]
    w.writeString(mechanism);
    if (credentials !== undefined) w.writeString(credentials);
    w.endSequence();
    w.endSequence();
  });
}

export interface SearchRequest {
  base: string;
  scope: Scope;
  filter: string;
  attributes: readonly string[];
}

/** SearchRequest (RFC 4511 §4.5.1); throws what the filter parser throws on a bad filter. */
export function encodeSearch(messageId: number, req: SearchRequest, controls: RequestControl[]): Buffer {
  const filter = encodeFilter(req.filter);
  return envelope(
    messageId,
    (w) => {
      w.startSequence(TAG.searchRequest);
      w.writeString(req.base);
      w.writeEnumeration(SCOPE_CODES[req.scope]);
      w.writeEnumeration(0); // derefAliases: neverDerefAliases
      w.writeInt(0); // sizeLimit
      w.writeInt(0); // timeLimit
      w.writeBoolean(false); // typesOnly
      w.appendBuffer(filter);
      w.startSequence(SEQUENCE);
      for (const a of req.attributes) w.writeString(a);
      w.endSequence();
      w.endSequence();
    },
    controls,
  );
}

/** AbandonRequest (RFC 4511 §4.11). */
export function encodeAbandon(messageId: number, target: number): Buffer {
  return envelope(messageId, (w) => w.writeInt(target, TAG.abandonRequest));
}

/** UnbindRequest (RFC 4511 §4.3). */
export function encodeUnbind(messageId: number): Buffer {
  return envelope(messageId, (w) => w.writeBuffer(Buffer.alloc(0), TAG.unbindRequest));
}

/** ExtendedRequest (RFC 4511 §4.12), e.g. StartTLS (RFC 4511 §4.14) or Cancel (RFC 3909). */
export function encodeExtended(messageId: number, oid: string, value?: Uint8Array): Buffer {
  return envelope(messageId, (w) => {
    w.startSequence(TAG.extendedRequest);
    w.writeBuffer(Buffer.from(oid, 'latin1'), 0x80);
    if (value) w.writeBuffer(Buffer.from(value), 0x81);
    w.endSequence();
  });
}

// ---------------------------------------------------------------- responses

export interface DecodeOptions {
  /** Lower-cased attribute names whose values always come as bytes. */
  binaryAttributes: ReadonlySet<string>;
  /** Return entries with attributes as records (`scanEntry`) rather than decoded. */
  records?: boolean;
}

/** Decodes one complete LDAPMessage occupying buf[start, end). */
export function decodeMessage(buf: Buffer, start: number, end: number, opts: DecodeOptions): LdapResponse {
  const r = new BerReader(buf, start, end);
  const msgEnd = r.enter(SEQUENCE, 'LDAPMessage');
  if (msgEnd !== end) throw new MalformedBerError('trailing bytes after LDAPMessage', msgEnd);
  r.end = msgEnd;
  const messageId = r.readInteger(INTEGER, 'messageID');
  const opAt = r.pos;
  const op = r.readAny();
  const controls = r.done ? [] : readControls(r);
  if (!r.done) throw new MalformedBerError('trailing elements in LDAPMessage', r.pos);
  const body = new BerReader(buf, op.start, op.end);
  switch (op.tag) {
    case TAG.searchResEntry: {
      if (opts.records) {
        const { dn, record } = scanEntry(body, opts.binaryAttributes);
        if (record !== undefined)
          return { kind: 'searchEntry', messageId, dn, attributes: undefined, controls, record };
        return { kind: 'searchEntry', messageId, dn, attributes: {}, controls };
      }
      const { dn, attributes } = readEntry(body, opts.binaryAttributes);
      return { kind: 'searchEntry', messageId, dn, attributes, controls };
    }
    case TAG.searchResDone:
      return { kind: 'searchDone', messageId, result: readResult(body), controls };
    case TAG.intermediateResponse: {
      let name: string | undefined;
      let value: Buffer | undefined;
      if (!body.done && body.peekTag() === 0x80) name = body.readString(0x80, 'responseName');
      if (!body.done && body.peekTag() === 0x81) value = body.readBytes(0x81, 'responseValue');
      if (!body.done) throw new MalformedBerError('unexpected element in IntermediateResponse', body.pos);
      return { kind: 'intermediate', messageId, name, value, controls };
    }
    case TAG.bindResponse:
      return { kind: 'bind', messageId, result: readResult(body) };
    case TAG.extendedResponse: {
      const result = readResult(body);
      let name: string | undefined;
      let value: Buffer | undefined;
      if (!body.done && body.peekTag() === 0x8a) name = body.readString(0x8a, 'responseName');
      if (!body.done && body.peekTag() === 0x8b) value = body.readBytes(0x8b, 'responseValue');
      return { kind: 'extended', messageId, result, name, value };
    }
    case TAG.searchResRef:
      return { kind: 'searchReference', messageId };
    default:
      if ((op.tag & 0xc0) !== 0x40) throw new MalformedBerError('protocolOp is not APPLICATION-tagged', opAt);
      return { kind: 'unknown', messageId, tag: op.tag };
  }
}

function readResult(r: BerReader): LdapResult {
  const resultCode = r.readInteger(ENUMERATED, 'resultCode');
  const matchedDN = r.readString(OCTET_STRING, 'matchedDN');
  const diagnosticMessage = r.readString(OCTET_STRING, 'diagnosticMessage');
  if (!r.done && r.peekTag() === 0xa3) r.readAny(); // referral [3]: not followed by a sync consumer
  return { resultCode, matchedDN, diagnosticMessage };
}

function readControls(r: BerReader): ResponseControl[] {
  const end = r.enter(TAG.controls, 'controls');
  const controls: ResponseControl[] = [];
  while (r.pos < end) {
    const cEnd = r.enter(SEQUENCE, 'Control');
    const oid = r.readString(OCTET_STRING, 'controlType');
    let critical = false;
    let value: Buffer | undefined;
    if (r.pos < cEnd && r.peekTag() === BOOLEAN) critical = r.readBoolean(BOOLEAN, 'criticality');
    if (r.pos < cEnd) value = r.readBytes(OCTET_STRING, 'controlValue');
    if (r.pos !== cEnd) throw new MalformedBerError('unexpected element in Control', r.pos);
    controls.push({ oid, critical, value });
  }
  return controls;
}

/** An attribute description as the server spelled it, decoded once. */
interface AttributeName {
  bytes: Uint8Array;
  name: string;
  lower: string;
  /** Whether values are bytes, for the `binaryAttributes` set it was computed for. */
  binary: boolean;
  binaryFor: ReadonlySet<string> | undefined;
}

// Attribute names repeat in every entry, in the same order: decode each spelling once and find
// it again by its bytes, starting where the previous attribute's name was found. Bounded; names
// past the bound are decoded each time.
const names: AttributeName[] = [];
const MAX_NAMES = 256;

function attributeName(buf: Buffer, s: number, e: number, hint: number): number {
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
  const entry = {
    bytes: new Uint8Array(buf.subarray(s, e)),
    name,
    lower: name.toLowerCase(),
    binary: false,
    binaryFor: undefined,
  };
  if (count < MAX_NAMES) {
    names.push(entry);
    return count;
  }
  overflow = entry;
  return -1;
}
let overflow: AttributeName | undefined;

// Lower-case names of the current entry's attributes (decoding is not re-entrant).
const entryLowers: string[] = [];

/** The tag of a value that is bytes, in a record (a wire value is always an OCTET STRING). */
const RECORD_BYTES = 0x80;

/**
 * Reads a SearchResultEntry's content (objectName, PartialAttributeList), or a record.
 *
 * - From the wire (`binary` given): a value is bytes when its attribute is in `binary`, or when it
 *   is not UTF-8; otherwise it is text.
 * - From a record (`binary` undefined): a value tagged [0] is bytes; an OCTET STRING follows the
 *   wire's rule for an attribute not in `binary`.
 */
function readEntry(
  r: BerReader,
  binary: ReadonlySet<string> | undefined,
): { dn: string; attributes: Attributes } {
  const dn = r.readString(OCTET_STRING, 'objectName');
  const listEnd = r.enter(SEQUENCE, 'PartialAttributeList');
  const attributes: Attributes = {};
  const buf = r.buf;
  entryLowers.length = 0;
  let hint = 0;
  while (r.pos < listEnd) {
    const aEnd = r.enter(SEQUENCE, 'PartialAttribute');
    const an = nameAt(r, hint, binary);
    hint = lastName + 1;
    const valsEnd = r.enter(SET, 'attribute values');
    // LDAP names are case-insensitive (RFC 4512 §2.5): a repeated name, in whatever spelling,
    // merges into the first one's values.
    // (`__proto__` is looked up as an own property: anything else would read the prototype.)
    let values =
      an.name === '__proto__'
        ? Object.getOwnPropertyDescriptor(attributes, an.name)?.value
        : attributes[an.name];
    if (values === undefined) {
      const prior = entryLowers.indexOf(an.lower);
      if (prior >= 0) {
        values = attributes[Object.keys(attributes)[prior]!]!;
      } else {
        entryLowers.push(an.lower);
      }
    }
    while (r.pos < valsEnd) {
      const bytes = binary === undefined ? buf[r.pos] === RECORD_BYTES : an.binary;
      const e = r.enter(binary === undefined && bytes ? RECORD_BYTES : OCTET_STRING, 'attribute value');
      const value = decodeValue(buf, r.pos, e, bytes);
      r.pos = e;
      if (values === undefined) setOwn(attributes, an.name, (values = [value]));
      else values.push(value);
    }
    if (values === undefined) setOwn<AttributeValue[]>(attributes, an.name, []);
    if (r.pos !== aEnd) throw new MalformedBerError('unexpected element in PartialAttribute', r.pos);
  }
  if (r.pos !== listEnd || !r.done) {
    throw new MalformedBerError('unexpected element in SearchResultEntry', r.pos);
  }
  return { dn, attributes };
}

/** The index in `names` of the last name `nameAt` found (-1: past the bound). */
let lastName = -1;

/** Reads an attribute description and returns its cached spelling, `binary` worked out. */
function nameAt(r: BerReader, hint: number, binary: ReadonlySet<string> | undefined): AttributeName {
  const e = r.enter(OCTET_STRING, 'attribute type');
  lastName = attributeName(r.buf, r.pos, e, hint);
  r.pos = e;
  const an = lastName < 0 ? overflow! : names[lastName]!;
  if (binary !== undefined && an.binaryFor !== binary) {
    an.binary = binary.has(an.lower) || an.lower.endsWith(';binary');
    an.binaryFor = binary;
  }
  return an;
}

/**
 * Text when the bytes are valid UTF-8 (ASCII checked first: the fast, common path), else an
 * exact copy of the bytes. Never a lossy decode.
 */
function decodeValue(buf: Buffer, s: number, e: number, binary: boolean): AttributeValue {
  if (!binary) {
    let i = s;
    while (i < e && buf[i]! < 0x80) i++;
    if (i === e) return latin1(buf, s, e);
    if (isUtf8(buf.subarray(s, e))) return utf8(buf, s, e);
  }
  return new Uint8Array(buf.subarray(s, e));
}

// ---------------------------------------------------------------- entry records

/**
 * Checks a SearchResultEntry's content as `readEntry` would, without decoding any value, and
 * returns its DN and record; an entry without attributes has no record.
 *
 * A record is that content exactly as the server sent it, except that the values of attributes
 * in `binary` are tagged [0] (0x80) instead of OCTET STRING, so `decodeEntryRecord` gives the
 * entry `readEntry` would have, without knowing the options. It is a latin1 string (one
 * character per byte), which V8 keeps flat at one byte per character: the compact form in which
 * stores keep entries, here a copy rather than an encode.
 */
function scanEntry(r: BerReader, binary: ReadonlySet<string>): { dn: string; record: string | undefined } {
  const start = r.pos;
  const dn = r.readString(OCTET_STRING, 'objectName');
  const listEnd = r.enter(SEQUENCE, 'PartialAttributeList');
  const empty = r.pos === listEnd;
  let marks: number[] | undefined;
  let hint = 0;
  while (r.pos < listEnd) {
    const aEnd = r.enter(SEQUENCE, 'PartialAttribute');
    const an = nameAt(r, hint, binary);
    hint = lastName + 1;
    const valsEnd = r.enter(SET, 'attribute values');
    while (r.pos < valsEnd) {
      if (an.binary) (marks ??= []).push(r.pos);
      r.pos = r.enter(OCTET_STRING, 'attribute value');
    }
    if (r.pos !== aEnd) throw new MalformedBerError('unexpected element in PartialAttribute', r.pos);
  }
  if (r.pos !== listEnd || !r.done) {
    throw new MalformedBerError('unexpected element in SearchResultEntry', r.pos);
  }
  if (empty) return { dn, record: undefined };
  if (marks === undefined) return { dn, record: latin1(r.buf, start, r.end) };
  const copy = Buffer.from(r.buf.subarray(start, r.end));
  for (const at of marks) copy[at - start] = RECORD_BYTES;
  return { dn, record: latin1(copy, 0, copy.length) };
}

/**
 * The entry a record holds (see `scanEntry`; `encodeEntryRecord` in stores/codec.ts writes the
 * same form). Throws MalformedBerError when the bytes are not one.
 */
export function decodeEntryRecord(record: Buffer): { dn: string; attributes: Attributes } {
  return readEntry(new BerReader(record, 0, record.length), undefined);
}

/** Only the DN of a record. Throws MalformedBerError when it does not start like one. */
export function recordDn(record: Buffer): string {
  return new BerReader(record, 0, record.length).readString(OCTET_STRING, 'objectName');
}

// Buffer's own slicers, called directly: Buffer#toString(encoding, start, end) reaches the same
// native code through an encoding lookup and two wrappers, a cost paid for every value.
interface Slicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const direct = typeof (Buffer.prototype as unknown as Partial<Slicers>).latin1Slice === 'function';

function latin1(buf: Buffer, s: number, e: number): string {
  return direct ? (buf as unknown as Slicers).latin1Slice(s, e) : buf.toString('latin1', s, e);
}

function utf8(buf: Buffer, s: number, e: number): string {
  return direct ? (buf as unknown as Slicers).utf8Slice(s, e) : buf.toString('utf8', s, e);
}
