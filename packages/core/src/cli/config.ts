/**
 * The defaults OpenLDAP's tools take from ldap.conf(5) files and `LDAP*` environment variables,
 * read in OpenLDAP's order (libraries/libldap/init.c), a later source winning over an earlier:
 *
 *   1. /etc/ldap/ldap.conf
 *   2. $HOME/ldaprc, $HOME/.ldaprc, ./ldaprc          (user files)
 *   3. the file named by LDAPCONF
 *   4. $HOME/$LDAPRC, $HOME/.$LDAPRC, ./$LDAPRC        (user files)
 *   5. the environment: LDAPURI, LDAPBASE, LDAPTLS_CACERT, LDAPTLS_REQCERT, LDAPTLS_CERT, LDAPTLS_KEY
 *
 * Nothing at all when LDAPNOINIT is set. Only the keys this CLI uses are read; TLS_CERT and
 * TLS_KEY count only in user files and the environment, as in OpenLDAP. Command-line flags win
 * over all of it (the caller applies them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONFIG_KEYS = ['URI', 'BASE', 'TLS_CACERT', 'TLS_REQCERT', 'TLS_CERT', 'TLS_KEY'] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Keys only user files (ldaprc) and the environment may set. */
const USER_ONLY: ReadonlySet<ConfigKey> = new Set(['TLS_CERT', 'TLS_KEY']);

/** A default and where it came from (a file path, or the environment variable), for messages. */
export interface Setting {
  value: string;
  source: string;
}

export type LdapDefaults = Partial<Record<ConfigKey, Setting>>;

export const SYSTEM_LDAP_CONF = '/etc/ldap/ldap.conf';

/** The defaults, as OpenLDAP's tools would see them in this environment and directory. */
export function ldapDefaults(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  systemFile: string = SYSTEM_LDAP_CONF,
): LdapDefaults {
  const out: LdapDefaults = {};
  if (env.LDAPNOINIT !== undefined) return out;
  const home = env.HOME;
  const userFiles = (name: string): string[] => [
    ...(home ? [join(home, name), join(home, `.${name}`)] : []),
    join(cwd, name),
  ];
  const read = (file: string, user: boolean) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // absent or unreadable: skipped, as OpenLDAP does
    }
    for (const [key, value] of parseLdapConf(text)) {
      if (!user && USER_ONLY.has(key)) continue;
      out[key] = { value, source: file };
    }
  };
  read(systemFile, false);
  for (const file of userFiles('ldaprc')) read(file, true);
  if (env.LDAPCONF) read(env.LDAPCONF, false);
  if (env.LDAPRC) for (const file of userFiles(env.LDAPRC)) read(file, true);
  for (const key of CONFIG_KEYS) {
    const value = env[`LDAP${key}`];
    if (value !== undefined && value !== '') out[key] = { value, source: `LDAP${key}` };
  }
  return out;
}

/**
 * The `KEY value` lines of an ldap.conf file that name a key this CLI uses: a `#` in the first
 * column starts a comment, white space around the value is trimmed, keys are case-insensitive.
 */
export function parseLdapConf(text: string): [ConfigKey, string][] {
  const out: [ConfigKey, string][] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    const line = raw.trim();
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toUpperCase() as ConfigKey;
    if ((CONFIG_KEYS as readonly string[]).includes(key)) out.push([key, m[2]!]);
  }
  return out;
}

/**
 * Whether TLS_REQCERT asks to check the server certificate: `never` and `allow` do not (a bad
 * certificate is accepted), `try`, `demand` and `hard` do; undefined for any other value.
 */
export function checksCertificate(reqcert: string): boolean | undefined {
  switch (reqcert.toLowerCase()) {
    case 'never':
    case 'allow':
      return false;
    case 'try':
    case 'demand':
    case 'hard':
      return true;
    default:
      return undefined;
  }
}
