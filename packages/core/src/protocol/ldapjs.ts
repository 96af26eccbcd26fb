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
import { createRequire } from 'node:module';
import type ldapFilterModule from '@ldapjs/filter';

/**
 * The default filter, `(objectClass=*)`, as ldapjs encodes it: a present filter ([7] objectClass).
 * Most searches use it, and it saves loading @ldapjs/filter (about 30 modules, 30 ms of start-up).
 */
const PRESENT_OBJECT_CLASS = Buffer.from('870b6f626a656374436c617373', 'hex');

let ldapFilter: typeof ldapFilterModule | undefined;

/**
 * Parses an RFC 4515 filter string and returns its BER encoding (RFC 4511 §4.5.1.7).
 * Throws a plain Error with ldapjs' message on a malformed filter; the caller wraps it.
 */
export function encodeFilter(filter: string): Buffer {
  if (filter === '(objectClass=*)') return Buffer.from(PRESENT_OBJECT_CLASS);
  // CommonJS, loaded on first use (synchronously: a filter is encoded inside a synchronous call).
  ldapFilter ??= createRequire(import.meta.url)('@ldapjs/filter') as typeof ldapFilterModule;
  const parsed = ldapFilter.parseString(filter) as { toBer(): { buffer: Buffer } };
  return Buffer.from(parsed.toBer().buffer);
}
