/**
 * Distinguished names as strings (RFC 4514): split into RDNs and attribute values, with escapes
 * undone, so that code mapping entries to URLs or parents never splits on an escaped comma.
 */

/** One `type=value` of an RDN; a multi-valued RDN (`cn=a+sn=b`) has several. */
export interface AttributeTypeAndValue {
  type: string;
  value: string;
}

export type RDN = AttributeTypeAndValue[];

/**
 * Parses a DN string into RDNs, leaf first (as written). Throws a TypeError on a malformed DN.
 *
 * @example
 * parseDN('uid=a\\,b,ou=people,dc=example');
 * // [[{ type: 'uid', value: 'a,b' }], [{ type: 'ou', value: 'people' }], [{ type: 'dc', value: 'example' }]]
 */
export function parseDN(dn: string): RDN[] {
  const rdns: RDN[] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: RDN = [];
  const fail = (why: string): never => {
    throw new TypeError(`Malformed DN ${JSON.stringify(dn)}: ${why}`);
  };
  while (i <= dn.length) {
    while (dn[i] === ' ') i++;
    const eq = dn.indexOf('=', i);
    if (eq < 0) fail('missing "="');
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(type))
      fail(`bad attribute type ${JSON.stringify(type)}`);
    i = eq + 1;
    while (dn[i] === ' ') i++; // unescaped spaces before a value are not part of it
    let value = '';
    if (dn[i] === '#') {
      // hexstring form: kept as written (it is BER, not text).
      const m = /^#[0-9A-Fa-f]*/.exec(dn.slice(i))!;
      value = m[0];
      i += value.length;
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0;
      for (; i < dn.length; i++) {
        // A whole code point: a character outside the BMP is two UTF-16 units.
        const c = String.fromCodePoint(dn.codePointAt(i)!);
        if (c.length === 2) i++;
        if (c === ',' || c === '+' || c === ';') break;
        if (c === '\\') {
          const next = dn[i + 1];
          if (next === undefined) fail('dangling backslash');
          if (/[0-9A-Fa-f]/.test(next!) && /[0-9A-Fa-f]/.test(dn[i + 2] ?? '')) {
            bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
            i += 2;
          } else {
            bytes.push(...Buffer.from(next!, 'utf8'));
            i += 1;
          }
          trailingSpaces = 0;
          continue;
        }
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
        bytes.push(...Buffer.from(c, 'utf8'));
      }
      // Unescaped trailing spaces are not part of the value (RFC 4514 §3).
      value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
    }
    rdn.push({ type, value });
    const sep = dn[i];
    if (sep === '+') {
      i++;
      continue;
    }
    rdns.push(rdn);
    rdn = [];
    if (sep === undefined) break;
    i++;
  }
  return rdns;
}

/** Escapes an attribute value for use in a DN string (RFC 4514 §2.4). */
export function escapeDNValue(value: string): string {
  const chars = Array.from(value);
  let out = '';
  chars.forEach((c, i) => {
    if (c === '\0') out += '\\00';
    else if ('\\,+"<>;='.includes(c)) out += `\\${c}`;
    // A space or # first, and a space last, are escaped (a lone space is both: escaped once).
    else if ((i === 0 && (c === ' ' || c === '#')) || (i === chars.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  });
  return out;
}
