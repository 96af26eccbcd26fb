// The declarations travel with this module when another project (the tests) compiles its source.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./ldapjs-modules.d.ts" />
/**
 * The only module that touches ldapjs. ldapjs was decommissioned upstream in May 2024 and its
 * client cannot carry syncrepl (it rejects IntermediateResponse, ldapjs issue #952), so we use
 * just two of the `@ldapjs/*` pieces it ships: the BER writer for requests and the RFC 4515
 * filter-string parser. Responses are decoded by our own lean reader (./ber.ts): it is the hot
 * path of a 100k-entry refresh, where ldapjs' object-per-attribute decoding costs 5x.
 *
 * Replacing ldapjs later means rewriting this file only.
 */
// Both are CommonJS: Node's ESM loader only offers their default export.
import asn1 from '@ldapjs/asn1';
import ldapFilter from '@ldapjs/filter';

/** A BER writer; the surface the request encoders need. */
export interface RequestWriter {
  startSequence(tag?: number): void;
  endSequence(): void;
  writeInt(value: number, tag?: number): void;
  writeEnumeration(value: number, tag?: number): void;
  writeBoolean(value: boolean, tag?: number): void;
  writeString(value: string, tag?: number): void;
  writeBuffer(value: Buffer, tag: number): void;
  writeNull(): void;
  appendBuffer(value: Buffer): void;
  readonly buffer: Buffer;
}

export function createWriter(): RequestWriter {
  return new asn1.BerWriter() as unknown as RequestWriter;
}

/**
 * Parses an RFC 4515 filter string and returns its BER encoding (RFC 4511 §4.5.1.7).
 * Throws a plain Error with ldapjs' message on a malformed filter; the caller wraps it.
 */
export function encodeFilter(filter: string): Buffer {
  const parsed = ldapFilter.parseString(filter) as { toBer(): { buffer: Buffer } };
  return Buffer.from(parsed.toBer().buffer);
}
