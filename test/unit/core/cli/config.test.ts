/**
 * The ldap.conf / ldaprc / LDAP* defaults of the CLI (packages/core/src/cli/config.ts), in
 * OpenLDAP's order. The CLI itself is run with LDAPCONF in test/integration/cli-ldapsearch.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { checksCertificate, ldapDefaults, parseLdapConf } from '../../../../packages/core/src/cli/config.js';

let dir: string;
let home: string;
let cwd: string;
let system: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'syncrepl-rx-ldapconf-'));
  home = join(dir, 'home');
  cwd = join(dir, 'work');
  mkdirSync(home);
  mkdirSync(cwd);
  system = join(dir, 'etc-ldap.conf');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const values = (d: ReturnType<typeof ldapDefaults>) =>
  Object.fromEntries(Object.entries(d).map(([k, s]) => [k, `${s.value} <${s.source.replace(dir, '')}>`]));

describe('ldapDefaults', () => {
  test('later sources win: system file, ~/ldaprc, ~/.ldaprc, ./ldaprc, LDAPCONF, LDAPRC files, then LDAP* variables', () => {
    writeFileSync(system, 'URI ldap://system\nBASE dc=system\nTLS_CACERT /system.pem\nTLS_REQCERT demand\n');
    writeFileSync(join(home, 'ldaprc'), 'BASE dc=home\n');
    writeFileSync(join(home, '.ldaprc'), 'BASE dc=dothome\nTLS_CERT /home.crt\n');
    writeFileSync(join(cwd, 'ldaprc'), 'TLS_KEY /cwd.key\n');
    writeFileSync(join(dir, 'alt.conf'), 'URI ldap://alt\nTLS_CERT /ignored-in-a-system-file.crt\n');
    writeFileSync(join(cwd, 'myrc'), 'TLS_REQCERT never\n');
    const env = { HOME: home, LDAPCONF: join(dir, 'alt.conf'), LDAPRC: 'myrc', LDAPTLS_CACERT: '/env.pem' };
    expect(values(ldapDefaults(env, cwd, system))).toEqual({
      URI: 'ldap://alt </alt.conf>',
      BASE: 'dc=dothome </home/.ldaprc>',
      TLS_CACERT: '/env.pem <LDAPTLS_CACERT>',
      TLS_REQCERT: 'never </work/myrc>',
      TLS_CERT: '/home.crt </home/.ldaprc>',
      TLS_KEY: '/cwd.key </work/ldaprc>',
    });
  });

  test('TLS_CERT and TLS_KEY count only in user files and variables, as in OpenLDAP', () => {
    writeFileSync(system, 'TLS_CERT /a.crt\nTLS_KEY /a.key\nBASE dc=x\n');
    expect(values(ldapDefaults({ HOME: home }, cwd, system))).toEqual({
      BASE: `dc=x <${system.replace(dir, '')}>`,
    });
    expect(values(ldapDefaults({ HOME: home, LDAPTLS_CERT: '/b.crt' }, cwd, system))).toMatchObject({
      TLS_CERT: '/b.crt <LDAPTLS_CERT>',
    });
  });

  test('LDAPNOINIT: nothing at all; missing files are skipped', () => {
    writeFileSync(system, 'URI ldap://system\n');
    expect(ldapDefaults({ LDAPNOINIT: '1', LDAPURI: 'ldap://env' }, cwd, system)).toEqual({});
    expect(ldapDefaults({ LDAPCONF: join(dir, 'absent.conf') }, cwd, join(dir, 'absent'))).toEqual({});
  });
});

describe('parseLdapConf', () => {
  test('KEY value lines: keys case-insensitive, white space trimmed, # comments in the first column, unknown keys left out', () => {
    expect(
      parseLdapConf(
        '# a comment\nuri   ldap://a ldap://b  \n\tBASE\tdc=x,dc=y\nSIZELIMIT 12\nTLS_REQCERT\n#BASE dc=no\n',
      ),
    ).toEqual([
      ['URI', 'ldap://a ldap://b'],
      ['BASE', 'dc=x,dc=y'],
    ]);
  });
});

test('TLS_REQCERT: never and allow accept any certificate, try, demand and hard check it', () => {
  expect(['never', 'ALLOW', 'try', 'demand', 'hard', 'maybe'].map(checksCertificate)).toEqual([
    false,
    false,
    true,
    true,
    true,
    undefined,
  ]);
});
