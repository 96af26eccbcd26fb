// Minimal declarations for the two untyped CommonJS @ldapjs pieces used by ./ldapjs.ts.
declare module '@ldapjs/asn1' {
  class BerWriter {
    constructor(options?: { size?: number; growthFactor?: number });
  }
  const asn1: { BerWriter: typeof BerWriter };
  export default asn1;
}
declare module '@ldapjs/filter' {
  const filter: { parseString(filter: string): unknown };
  export default filter;
}
