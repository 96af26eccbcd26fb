/**
 * LDAPv3 PDUs (RFC 4511 §4): the few requests a syncrepl consumer sends and the responses it
 * receives, both through ./ber.ts (the filter's encoding comes from ./ldapjs.ts).
 */
import { BOOLEAN, BerReader, BerWriter, ENUMERATED, INTEGER, OCTET_STRING, SEQUENCE, SET } from './ber.js';
import {
  NameTable,
  decodeValue,
  setOwn,
  valuesOf,
  type AttributeName,
  type AttributeValue,
  type Attributes,
} from './attributes.js';
import { RecordScratch, copyBytes, placeCount, writeVarint } from './record.js';
import { encodeFilter } from './ldapjs.js';
import { MalformedBerError } from '../errors.js';

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

function envelope(messageId: number, body: (w: BerWriter) => void, controls?: RequestControl[]): Buffer {
  const w = new BerWriter();
  w.start(SEQUENCE).integer(messageId);
  body(w);
  if (controls && controls.length > 0) {
    w.start(TAG.controls);
    for (const c of controls) {
      w.start(SEQUENCE).bytes(OCTET_STRING, c.oid);
      if (c.critical) w.boolean(true);
      if (c.value) w.bytes(OCTET_STRING, c.value);
      w.end();
    }
    w.end();
  }
  return w.end().toBuffer();
}

/** BindRequest with simple authentication (RFC 4511 §4.2). Empty DN and password = anonymous. */
export function encodeSimpleBind(messageId: number, dn: string, password: string): Buffer {
  return envelope(messageId, (w) => {
    w.start(TAG.bindRequest).integer(3).bytes(OCTET_STRING, dn);
    w.bytes(0x80, password); // simple [0]
    w.end();
  });
}

/** BindRequest with SASL credentials (RFC 4511 §4.2, RFC 4422 Appendix A for EXTERNAL). */
export function encodeSaslBind(messageId: number, mechanism: string, credentials?: string): Buffer {
  return envelope(messageId, (w) => {
    w.start(TAG.bindRequest).integer(3).bytes(OCTET_STRING, '');
    w.start(0xa3).bytes(OCTET_STRING, mechanism); // sasl [3]
    if (credentials !== undefined) w.bytes(OCTET_STRING, credentials);
    w.end().end();
  });
}

export interface SearchRequest {
  base: string;
  scope: Scope;
  filter: string;
  attributes: readonly string[];
  /** The most entries the server may return (RFC 4511 §4.5.1.4); 0 or absent: no client limit. */
  sizeLimit?: number;
  /** The most seconds the server may spend on the search (RFC 4511 §4.5.1.5); 0 or absent: no client limit. */
  timeLimit?: number;
}

/** SearchRequest (RFC 4511 §4.5.1); throws what the filter parser throws on a bad filter. */
export function encodeSearch(messageId: number, req: SearchRequest, controls: RequestControl[]): Buffer {
  const filter = encodeFilter(req.filter);
  return envelope(
    messageId,
    (w) => {
      w.start(TAG.searchRequest).bytes(OCTET_STRING, req.base);
      w.integer(SCOPE_CODES[req.scope], ENUMERATED);
      w.integer(0, ENUMERATED); // derefAliases: neverDerefAliases
      w.integer(req.sizeLimit ?? 0);
      w.integer(req.timeLimit ?? 0);
      w.boolean(false); // typesOnly
      w.raw(filter);
      w.start(SEQUENCE);
      for (const a of req.attributes) w.bytes(OCTET_STRING, a);
      w.end().end();
    },
    controls,
  );
}

/** AbandonRequest (RFC 4511 §4.11). */
export function encodeAbandon(messageId: number, target: number): Buffer {
  return envelope(messageId, (w) => w.integer(target, TAG.abandonRequest));
}

/** UnbindRequest (RFC 4511 §4.3). */
export function encodeUnbind(messageId: number): Buffer {
  return envelope(messageId, (w) => w.bytes(TAG.unbindRequest, EMPTY));
}

/** ExtendedRequest (RFC 4511 §4.12), e.g. StartTLS (RFC 4511 §4.14) or Cancel (RFC 3909). */
export function encodeExtended(messageId: number, oid: string, value?: Uint8Array): Buffer {
  return envelope(messageId, (w) => {
    w.start(TAG.extendedRequest).bytes(0x80, Buffer.from(oid, 'latin1'));
    if (value) w.bytes(0x81, value);
    w.end();
  });
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------- responses

export interface DecodeOptions {
  /** Lower-cased attribute names whose values always come as bytes. */
  binaryAttributes: ReadonlySet<string>;
  /** Return entries with attributes as records (`scanEntry`) rather than decoded. */
  records?: boolean;
}

/**
 * Decodes the LDAPMessages of one connection (./connection.ts creates one per connection). It
 * owns everything decoding changes: its table of attribute names (with the `binary` rule of its
 * options worked out once per name), the names of the entry being built, and the scratch space
 * records are written in. Two decoders share nothing mutable; one decoder is not re-entrant.
 */
export class LdapDecoder {
  private readonly names: NameTable;
  private readonly scratch = new RecordScratch();
  /** Lower-case names of the entry being decoded, in order (`valuesOf`). */
  private readonly lowers: string[] = [];
  private readonly records: boolean;

  constructor(opts: DecodeOptions) {
    this.names = new NameTable(opts.binaryAttributes);
    this.records = opts.records === true;
  }

  /** Decodes one complete LDAPMessage occupying buf[start, end). */
  decode(buf: Buffer, start: number, end: number): LdapResponse {
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
        if (this.records) {
          const { dn, record } = this.scanEntry(body);
          if (record !== undefined)
            return { kind: 'searchEntry', messageId, dn, attributes: undefined, controls, record };
          return { kind: 'searchEntry', messageId, dn, attributes: {}, controls };
        }
        const { dn, attributes } = this.readEntry(body);
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
        if ((op.tag & 0xc0) !== 0x40)
          throw new MalformedBerError('protocolOp is not APPLICATION-tagged', opAt);
        return { kind: 'unknown', messageId, tag: op.tag };
    }
  }

  /**
   * Reads a SearchResultEntry's content (objectName, PartialAttributeList). A value is bytes when
   * its attribute is in `binaryAttributes`, or when it is not UTF-8; otherwise it is text.
   */
  private readEntry(r: BerReader): { dn: string; attributes: Attributes } {
    const dn = r.readString(OCTET_STRING, 'objectName');
    const listEnd = r.enter(SEQUENCE, 'PartialAttributeList');
    const attributes: Attributes = {};
    const buf = r.buf;
    const lowers = this.lowers;
    lowers.length = 0;
    let hint = 0;
    while (r.pos < listEnd) {
      const aEnd = r.enter(SEQUENCE, 'PartialAttribute');
      const k = this.nameAt(r, hint);
      hint = k + 1;
      const an = this.nameOf(k);
      const valsEnd = r.enter(SET, 'attribute values');
      let values = valuesOf(attributes, an.name, an.lower, lowers);
      while (r.pos < valsEnd) {
        const e = r.enter(OCTET_STRING, 'attribute value');
        const value = decodeValue(buf, r.pos, e, an.binary);
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

  /** Reads an attribute description; returns its index in the name table (-1: `overflow`). */
  private nameAt(r: BerReader, hint: number): number {
    const e = r.enter(OCTET_STRING, 'attribute type');
    const k = this.names.find(r.buf, r.pos, e, hint);
    r.pos = e;
    return k;
  }

  /** The name `nameAt` returned `k` for. */
  private nameOf(k: number): AttributeName {
    return k < 0 ? this.names.overflow! : this.names.names[k]!;
  }

  /**
   * Checks a SearchResultEntry's content as `readEntry` would, without decoding any value, and
   * returns its DN and its record (./record.ts), written straight from the PDU's bytes; an entry
   * without attributes has no record. The values of attributes in `binaryAttributes` are marked
   * as bytes, so the record decodes to the entry `readEntry` would give, without knowing the
   * options.
   */
  private scanEntry(r: BerReader): { dn: string; record: string | undefined } {
    const buf = r.buf;
    const dnAt = r.pos;
    const dnEnd = r.enter(OCTET_STRING, 'objectName');
    const dnStart = r.pos;
    r.pos = dnAt;
    const dn = r.readString(OCTET_STRING, 'objectName');
    const listEnd = r.enter(SEQUENCE, 'PartialAttributeList');
    if (r.pos === listEnd) {
      if (!r.done) throw new MalformedBerError('unexpected element in SearchResultEntry', r.pos);
      return { dn, record: undefined };
    }
    // A record is never longer than the BER it comes from (see `berToRecord`).
    const b = this.scratch.room(r.end - dnAt + 16);
    let o = writeVarint(b, 0, dnEnd - dnStart);
    o = copyBytes(b, o, buf, dnStart, dnEnd);
    let hint = 0;
    while (r.pos < listEnd) {
      const aEnd = r.enter(SEQUENCE, 'PartialAttribute');
      const k = this.nameAt(r, hint);
      hint = k + 1;
      const an = this.nameOf(k);
      if (an.record > 0) o = writeVarint(b, o, an.record);
      else {
        b[o++] = 0;
        o = writeVarint(b, o, an.bytes.length);
        for (const byte of an.bytes) b[o++] = byte;
      }
      const valsEnd = r.enter(SET, 'attribute values');
      const countAt = o++;
      let count = 0;
      const bytes = an.binary ? 1 : 0;
      for (; r.pos < valsEnd; count++) {
        const e = r.enter(OCTET_STRING, 'attribute value');
        o = writeVarint(b, o, (e - r.pos) * 2 + bytes);
        o = copyBytes(b, o, buf, r.pos, e);
        r.pos = e;
      }
      o = placeCount(b, countAt, o, count);
      if (r.pos !== aEnd) throw new MalformedBerError('unexpected element in PartialAttribute', r.pos);
    }
    if (r.pos !== listEnd || !r.done) {
      throw new MalformedBerError('unexpected element in SearchResultEntry', r.pos);
    }
    return { dn, record: this.scratch.take(0, o) };
  }
}

/**
 * Decodes one complete LDAPMessage occupying buf[start, end) with a decoder of its own: for
 * single messages (tests). A connection keeps one `LdapDecoder` for all its messages.
 */
export function decodeMessage(buf: Buffer, start: number, end: number, opts: DecodeOptions): LdapResponse {
  return new LdapDecoder(opts).decode(buf, start, end);
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
