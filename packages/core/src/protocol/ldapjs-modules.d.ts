// Minimal declarations for the untyped CommonJS @ldapjs piece used by ./ldapjs.ts.
declare module '@ldapjs/filter' {
  const filter: { parseString(filter: string): unknown };
  export default filter;
}
