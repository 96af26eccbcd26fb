/**
 * `syncrepl-rx tail` with ldapsearch's habits, against real slapds: LDIF output (byte for byte as
 * ldapsearch writes it, and change records that ldapmodify replays), -L/-LL/-LLL, -z/-l, -W,
 * ldap.conf and LDAP* defaults, TLS files and SASL EXTERNAL.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSlapd, type LdifEntry, type Slapd } from '../fixtures/slapd.js';
import { cliEnv, runCli as run, startCliSlapd } from '../fixtures/cli.js';
import { binaryValue, ldifModify, ldifModrdn, peopleLdif, personDn } from '../fixtures/ldif.js';

const PEOPLE = 'ou=people,dc=example,dc=com';

let s: Slapd;
let pwFile: string;
let bind: string[];
let common: string[];
beforeAll(async () => {
  ({ slapd: s, pwFile, bind, common } = await startCliSlapd());
});
afterAll(() => s?.close());

/** ldapsearch as the reader, with these arguments after the bind. */
async function ldapsearch(args: string[]): Promise<string> {
  const r = await s.tool('ldapsearch', [
    '-H',
    s.url,
    '-x',
    '-D',
    s.readerDN,
    '-y',
    s.readerPasswordFile,
    ...args,
  ]);
  return r.stdout;
}

/** A subtree's entries as comparable text: DN, then sorted `name: value` lines (values base64). */
function snapshot(entries: LdifEntry[]): string[] {
  return entries
    .map((e) => {
      const lines = Object.entries(e.attributes).flatMap(([name, values]) =>
        values.map((v) => `${name.toLowerCase()}: ${Buffer.from(v).toString('base64')}`),
      );
      return `${e.dn.toLowerCase()}\n${lines.sort().join('\n')}`;
    })
    .sort();
}

describe('LDIF output', () => {
  test('entries come out byte for byte as ldapsearch -LLL writes them: base64 for hostile values, folded at 78 columns, or as -o ldif_wrap says', async () => {
    const hostile = [
      'red \x1b[31mALERT\x1b[0m',
      'two\nlines',
      ' leading space',
      'trailing space ',
      ':colon',
      'Bjørn',
      'x'.repeat(200),
    ];
    await s.add(
      `dn: uid=ldif-hostile,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ldif-hostile\ncn: h\nsn: h\n` +
        hostile.map((v) => `description:: ${Buffer.from(v).toString('base64')}\n`).join('') +
        `jpegPhoto:: ${binaryValue(5, 120).toString('base64')}\n`,
    );
    const filter = '(|(uid=ldif-hostile)(uid=user000003))';
    for (const wrap of [[], ['-o', 'ldif_wrap=40'], ['-o', 'ldif_wrap=no']]) {
      const r = await run([...common, '--messages', '--mode', 'refreshOnly', '-LLL', ...wrap, filter]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(await ldapsearch(['-b', PEOPLE, '-LLL', ...wrap, filter]));
    }
    const r = await run([
      ...common,
      '--messages',
      '--mode',
      'refreshOnly',
      '-LLL',
      filter,
      'description',
      'jpegPhoto',
    ]);
    // every hostile value, and the non-UTF-8 photo, as base64; nothing that moves a terminal
    for (const v of hostile.slice(0, 6))
      expect(r.stdout).toContain(`description:: ${Buffer.from(v).toString('base64')}\n`);
    expect(r.stdout).toMatch(/^jpegPhoto:: \//m);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBe(78);
  });

  test('typed changes are change records that ldapmodify replays on a second server, to the same entries', async () => {
    const rt = `ou=rt,${PEOPLE}`;
    const person = (uid: string, extra = '') =>
      `dn: uid=${uid},${rt}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid} cn\nsn: S\ntitle: Old\n${extra}`;
    await s.add(
      [
        `dn: ${rt}\nobjectClass: organizationalUnit\nou: rt`,
        `dn: ou=sub,${rt}\nobjectClass: organizationalUnit\nou: sub`,
        person('t1', 'mail: t1@example.com\ntelephoneNumber: 1\ntelephoneNumber: 2\ndescription: gone soon'),
        person('t2'),
        person('t3'),
        person('t4'),
        person('t6'),
      ].join('\n\n'),
    );
    const copy = await startSlapd({ sessionlog: false });
    try {
      const store = join(s.dir, 'rt-store');
      const tail = ['tail', '-H', s.url, ...bind, '-b', rt, '--mode', 'refreshOnly', '--store', store, '-L'];
      const first = await run(tail);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^version: 1\n\n# entryUUID: [0-9a-f-]{36}\ndn: ou=rt,/);
      await copy.modify(first.stdout);

      await s.modify(
        ldifModify(`uid=t1,${rt}`, [
          { op: 'replace', attribute: 'title', values: ['New'] },
          { op: 'add', attribute: 'mail', values: ['second@example.com'] },
          { op: 'delete', attribute: 'telephoneNumber', values: ['2'] },
          { op: 'delete', attribute: 'description' },
          { op: 'add', attribute: 'description', values: ['esc \x1b[1m and\nnewline', ' lead'] },
        ]),
      );
      // a rename and a modify of the same entry: one change, a modrdn then a modify
      await s.modify(ldifModrdn(`uid=t2,${rt}`, 'uid=t2b'));
      await s.modify(
        ldifModify(`uid=t2b,${rt}`, [{ op: 'replace', attribute: 'title', values: ['Renamed'] }]),
      );
      // a move under ou=sub with a new RDN of another attribute, the old RDN value kept
      await s.modify(
        ldifModrdn(`uid=t3,${rt}`, 'cn=t3 cn', { deleteOldRdn: false, newSuperior: `ou=sub,${rt}` }),
      );
      await s.delete(`uid=t4,${rt}`);
      await s.modify(ldifModrdn(`uid=t6,${rt}`, 'uid=tésé'));
      await s.add(
        `${person('t5', `jpegPhoto:: ${binaryValue(9, 300).toString('base64')}\n`)}` +
          `description:: ${Buffer.from(' starts with a space').toString('base64')}`,
      );

      const second = await run(tail);
      expect(second.code).toBe(0);
      const out = second.stdout;
      expect(out).toContain(`dn: uid=t2,${rt}\nchangetype: modrdn\nnewrdn: uid=t2b\ndeleteoldrdn: 1\n\n`);
      expect(out).toContain(`dn: uid=t2b,${rt}\nchangetype: modify\nreplace: title\ntitle: Renamed\n-\n`);
      expect(out).toContain(`newrdn: cn=t3 cn\ndeleteoldrdn: 0\nnewsuperior: ou=sub,${rt}\n`);
      expect(out).toContain(`dn: uid=t4,${rt}\nchangetype: delete\n`);
      expect(out).toMatch(/^# ready$/m);
      await copy.modify(out);

      const original = await s.search(rt, 'sub', '(objectClass=*)');
      expect(original).toHaveLength(7);
      expect(snapshot(await copy.search(rt, 'sub', '(objectClass=*)'))).toEqual(snapshot(original));
    } finally {
      await copy.close();
    }
  });

  test('-LL drops the annotations, -LLL also the version; -L with another --format is bad usage', async () => {
    const args = [...common, '--mode', 'refreshOnly', '(uid=user000001)', 'cn'];
    const cn = (await ldapsearch(['-b', PEOPLE, '-LLL', '(uid=user000001)', 'cn'])).split('\n')[1];
    const dn = `dn: ${personDn(1)}`;
    expect((await run([...args, '-LL'])).stdout).toBe(`version: 1\n\n${dn}\nchangetype: add\n${cn}\n\n`);
    expect((await run([...args, '-LLL'])).stdout).toBe(`${dn}\nchangetype: add\n${cn}\n\n`);
    expect((await run([...args, '--format', 'ldif'])).stdout).toMatch(
      new RegExp(`^version: 1\n\n# entryUUID: [0-9a-f-]{36}\n${dn}\nchangetype: add\n`),
    );
    for (const bad of [
      ['-LLL', '--format', 'ndjson'],
      ['-o', 'nettimeout=5'],
      ['-o', 'ldif_wrap=wide'],
    ]) {
      const r = await run([...args, ...bad]);
      expect([r.code, r.stderr]).toEqual([
        2,
        expect.stringMatching(/^syncrepl-rx: [^\n]+\nTry 'syncrepl-rx --help'\.\n$/),
      ]);
    }
  });
});

describe('flags', () => {
  test('-z and -l go into the search: a size limit below the entry count ends it with sizeLimitExceeded', async () => {
    const over = await run([...common, '--mode', 'refreshOnly', '-z', '3', '-l', '30']);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/sizeLimitExceeded \(4\)/);
    const within = await run([
      ...common,
      '--mode',
      'refreshOnly',
      '--format',
      'ndjson',
      '-z',
      '100',
      '-l',
      'none',
    ]);
    expect(within.code).toBe(0);
    const max = await run([...common, '--mode', 'refreshOnly', '-z', 'max', '(uid=user000001)']);
    expect(max.code).toBe(0);
    const bad = await run([...common, '-z', 'lots']);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([
      2,
      'syncrepl-rx: -z must be a whole number, none or max, not "lots"',
    ]);
  });

  test('-W reads the password from stdin when it is not a terminal; it never shows', async () => {
    const args = [
      'tail',
      '-H',
      s.url,
      '-D',
      s.readerDN,
      '-W',
      '-b',
      PEOPLE,
      '--mode',
      'refreshOnly',
      '(uid=user000002)',
    ];
    const ok = await run(args, { input: `${s.readerPassword}\nnot read\n` });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^add +uid=user000002,/);
    expect(ok.stdout + ok.stderr).not.toContain(s.readerPassword);
    const wrong = await run(args, { input: 'Wrong-Secret-42\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the bind.*invalidCredentials/);
    expect(wrong.stdout + wrong.stderr).not.toContain('Wrong-Secret-42');
    const both = await run([...args, '-y', pwFile], { input: 'x\n' });
    expect([both.code, both.stderr.split('\n')[0]]).toEqual([2, 'syncrepl-rx: use only one of -y and -W']);
  });
});

describe('ldap.conf and LDAP* variables', () => {
  test('URI and BASE from the file LDAPCONF names, ./ldaprc and LDAPBASE; flags win over variables, variables over files', async () => {
    const dir = join(s.dir, 'ldapconf');
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    const conf = join(dir, 'ldap.conf');
    await writeFile(conf, `# test\nURI ${s.url}\nBASE ${PEOPLE}\n`);
    const env = (extra: NodeJS.ProcessEnv = {}) => cliEnv({ HOME: home, LDAPCONF: conf, ...extra });
    const args = ['tail', ...bind, '--mode', 'refreshOnly', '(uid=user000004)', 'uid'];
    const expected = `add      ${personDn(4)}`;

    const fromFile = await run(args, { env: env(), cwd: dir });
    expect([fromFile.code, fromFile.stdout.split('\n')[0]]).toEqual([0, expect.stringContaining(expected)]);

    // LDAPURI wins over the file's URI, -H over LDAPURI; LDAPBASE over BASE, -b over LDAPBASE
    const dead = 'ldap://127.0.0.1:1';
    await writeFile(conf, `URI ${dead}\nBASE ou=nowhere,dc=example,dc=com\n`);
    const fromEnv = await run(args, { env: env({ LDAPURI: s.url, LDAPBASE: PEOPLE }), cwd: dir });
    expect(fromEnv.stdout).toContain(expected);
    const fromFlags = await run(['tail', '-H', s.url, '-b', PEOPLE, ...args.slice(1)], {
      env: env({ LDAPURI: dead, LDAPBASE: 'ou=nowhere,dc=example,dc=com' }),
      cwd: dir,
    });
    expect(fromFlags.stdout).toContain(expected);

    // ./ldaprc is read after the system file and the user's: its BASE counts
    await writeFile(join(dir, 'ldaprc'), `BASE ${PEOPLE}\n`);
    await writeFile(conf, `URI ${s.url}\n`);
    const fromRc = await run(args, { env: cliEnv({ HOME: home, LDAPCONF: conf }), cwd: dir });
    expect(fromRc.stdout).toContain(expected);

    // LDAPNOINIT: none of it
    const none = await run(args, { env: env({ LDAPNOINIT: '1' }), cwd: dir });
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([
      2,
      'syncrepl-rx: -H URI is required (or URI in ldap.conf, or LDAPURI)',
    ]);
  });
});

describe('TLS', () => {
  let t: Slapd;
  let tls: string[];
  beforeAll(async () => {
    t = await startSlapd({ ldif: peopleLdif(3), tls: true, anonymousRead: false });
    const pw = join(t.dir, 'cli-reader.pw');
    await writeFile(pw, t.readerPassword, { mode: 0o600 });
    tls = ['tail', '-H', t.ldapsUrl!, '-b', PEOPLE, '--mode', 'refreshOnly', '(uid=user000001)', 'uid'];
    bindT = ['-D', t.readerDN, '-y', pw];
  });
  let bindT: string[];
  afterAll(() => t?.close());
  const adds = (out: string) => out.split('\n').filter((l) => l.startsWith('add ')).length;

  test('LDAPTLS_CACERT is the CA to trust; without it the server is not trusted, and the advice names CLI settings', async () => {
    const trusted = await run([...tls, ...bindT], { env: cliEnv({ LDAPTLS_CACERT: t.caFile! }) });
    expect([trusted.code, adds(trusted.stdout)]).toEqual([0, 1]);

    const untrusted = await run([...tls, ...bindT]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /^syncrepl-rx: TLS with .* failed: .*--ca, LDAPTLS_CACERT or TLS_CACERT/,
    );
    expect(untrusted.stderr).not.toMatch(/tls\.|`/);

    // LDAPTLS_REQCERT=allow (or never) accepts any certificate, as for ldapsearch
    const allowed = await run([...tls, ...bindT], { env: cliEnv({ LDAPTLS_REQCERT: 'allow' }) });
    expect([allowed.code, adds(allowed.stdout)]).toEqual([0, 1]);
  });

  test('TLS_CACERT from ldap.conf serves -Z (StartTLS); an unreadable CA file is bad usage in one sentence', async () => {
    const conf = join(t.dir, 'cli-ldap.conf');
    await writeFile(conf, `TLS_CACERT ${t.caFile!}\nTLS_REQCERT demand\n`);
    const startTls = ['tail', '-H', t.url, '-Z', ...bindT, ...tls.slice(3)];
    const ok = await run(startTls, { env: cliEnv({ LDAPCONF: conf }) });
    expect([ok.code, adds(ok.stdout)]).toEqual([0, 1]);

    const missing = await run(startTls, { env: cliEnv({ LDAPTLS_CACERT: '/nonexistent/ca.pem' }) });
    expect([missing.code, missing.stderr]).toEqual([
      2,
      "syncrepl-rx: cannot read the CA file /nonexistent/ca.pem (LDAPTLS_CACERT): ENOENT\nTry 'syncrepl-rx --help'.\n",
    ]);
    // without TLS, the variables are not even read (as for ldapsearch)
    const plain = await run(['tail', '-H', t.url, ...bindT, ...tls.slice(3)], {
      env: cliEnv({ LDAPTLS_CACERT: '/nonexistent/ca.pem' }),
    });
    expect(plain.code).toBe(0);
    const badReq = await run(startTls, { env: cliEnv({ LDAPCONF: conf, LDAPTLS_REQCERT: 'sometimes' }) });
    expect([badReq.code, badReq.stderr.split('\n')[0]]).toEqual([
      2,
      'syncrepl-rx: LDAPTLS_REQCERT must be never, allow, try, demand or hard, not "sometimes"',
    ]);
  });

  test('-Y EXTERNAL binds as the client certificate, from --cert/--key or LDAPTLS_CERT/LDAPTLS_KEY', async () => {
    const env = cliEnv({ LDAPTLS_CACERT: t.caFile! });
    // anonymous may not read here: entries prove the bind
    const anonymous = await run(tls, { env });
    expect([anonymous.code, anonymous.stderr]).toEqual([
      1,
      expect.stringMatching(/insufficientAccessRights/),
    ]);

    const flags = await run(
      [...tls, '-Y', 'EXTERNAL', '--cert', t.clientCertFile!, '--key', t.clientKeyFile!],
      { env },
    );
    expect([flags.code, adds(flags.stdout)]).toEqual([0, 1]);
    const vars = await run([...tls, '-Y', 'EXTERNAL'], {
      env: cliEnv({
        LDAPTLS_CACERT: t.caFile!,
        LDAPTLS_CERT: t.clientCertFile!,
        LDAPTLS_KEY: t.clientKeyFile!,
      }),
    });
    expect([vars.code, adds(vars.stdout)]).toEqual([0, 1]);

    for (const [args, message] of [
      [[...tls, '-Y', 'EXTERNAL'], '-Y EXTERNAL needs a client certificate: --cert FILE and --key FILE'],
      [
        [...tls, '-Y', 'GSSAPI'],
        '-Y supports EXTERNAL only (the TLS client certificate); use -D for a simple bind',
      ],
      [
        [...tls, '-Y', 'EXTERNAL', ...bindT],
        '-Y EXTERNAL binds as the TLS client certificate: drop -D and -y',
      ],
      [
        [...tls, '--cert', t.clientCertFile!],
        'a client certificate needs its key: --key FILE (or LDAPTLS_KEY)',
      ],
    ] as const) {
      const r = await run([...args], { env });
      expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, `syncrepl-rx: ${message}`]);
    }
  });
});
