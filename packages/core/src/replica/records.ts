/**
 * Internal: building records keyed by attribute names, which come from the server. Not exported
 * from the package.
 */

/**
 * Sets `record[key] = value` as an own, enumerable property, even for a key such as `__proto__`,
 * which a plain assignment would turn into a prototype change instead.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  // Plain assignment is the fast path; only `__proto__` needs defining.
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}
