// Minimal declarations for the two untyped @ldapjs pieces used by ./ldapjs.ts.
declare module '@ldapjs/asn1' {
  export class BerWriter {
    constructor(options?: { size?: number; growthFactor?: number });
  }
}
declare module '@ldapjs/filter' {
  export function parseString(filter: string): unknown;
}
