/** viewIdentity (packages/core/src/stores/store.ts): the one list of the fields that name a view. */
import { expect, test } from 'vitest';
import { canonicalIdentity, sameIdentity, viewIdentity } from '../../../../packages/core/src/stores/store.js';

test('viewIdentity keeps the five fields that name the view, and nothing else (no password, no URL)', () => {
  const options = {
    url: ['ldap://a', 'ldap://b'],
    bindDN: 'cn=reader,dc=example,dc=com',
    password: 'secret',
    base: 'dc=example,dc=com',
    scope: 'one',
    filter: '(objectClass=person)',
    attributes: ['cn', 'mail'],
    reconnect: true,
  };
  const identity = viewIdentity(options);
  expect(identity).toEqual({
    bindDN: 'cn=reader,dc=example,dc=com',
    base: 'dc=example,dc=com',
    scope: 'one',
    filter: '(objectClass=person)',
    attributes: ['cn', 'mail'],
  });
  expect(Object.keys(identity).sort()).toEqual(Object.keys(canonicalIdentity(options)).sort());
  expect(JSON.stringify(identity)).not.toContain('secret');
  expect(sameIdentity(identity, options)).toBe(true);
  expect(sameIdentity(viewIdentity({ ...options, filter: '(cn=x)' }), options)).toBe(false);
});
