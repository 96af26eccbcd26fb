// The declarations travel with this module when another project (the tests) compiles its source.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./ldapjs-modules.d.ts" />
/**
 * The only module that touches ldapjs. ldapjs was decommissioned upstream in May 2024 and its
 * client cannot carry syncrepl (it rejects IntermediateResponse, ldapjs issue #952), so we use
 * just one of the `@ldapjs/*` pieces it ships: the RFC 4515 filter-string parser, with its BER
 * encoding of the filter. Everything else we send or receive goes through our own BER layer
 * (./ber.ts): responses are the hot path of a 100k-entry refresh, where ldapjs'
 * object-per-attribute decoding costs 5x.
 *
 * Replacing ldapjs later means rewriting this file only.
 */
// CommonJS: Node's ESM loader only offers its default export.
import ldapFilter from '@ldapjs/filter';

/**
 * Parses an RFC 4515 filter string and returns its BER encoding (RFC 4511 §4.5.1.7).
 * Throws a plain Error with ldapjs' message on a malformed filter; the caller wraps it.
 */
export function encodeFilter(filter: string): Buffer {
  const parsed = ldapFilter.parseString(filter) as { toBer(): { buffer: Buffer } };
  return Buffer.from(parsed.toBer().buffer);
}
